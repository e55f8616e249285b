// Recovery speed: how fast a shard replays its WAL after a crash.
//
// A writer child process fills a shard's WAL with ~1M ReservationPlaced events (turns × reserves
// through Shard.execute, no checkpoint: checkpointWalRecordsMax is huge and timers are off), says
// when its last turn is flushed, and is then killed with SIGKILL: nothing is closed and no
// checkpoint is written, as in a crash. Fresh child processes then time:
//   scan     ShardStore.open + read and decode every WAL record (the I/O and msgpack share)
//   recover  Shard.open: the same, plus evolve of every event, full invariant checks, expiry heap,
//            then the checkpoint of what replay changed (queued before the shard takes commands)
// Each in its own process, so no run inherits another's heap or JIT state. Recovery writes that
// checkpoint, so each run recovers its own copy of the crashed directory. The WAL was just
// written and copied, so it is in the OS page cache: these are warm-cache figures.
//
//   npm run bench:replay   (compiled first, as published; `npx tsx bench/replay.ts` runs the source)
//   BENCH_QUICK=1                  smoke run (200 turns)
//   BENCH_REPLAY_TURNS, BENCH_REPLAY_PER_TURN, BENCH_REPLAY_SKUS, BENCH_REPLAY_RUNS
//   BENCH_REPLAY_MIX=open          every reservation stays open (default: the worst case for memory)
//   BENCH_REPLAY_MIX=lifecycle     each turn also commits or releases the reservations granted by
//                                  earlier turns, so the live set stays small (a sale's usual WAL)
//   BENCH_REPLAY_SHARDS=N          N > 1: write through an Engine of N worker-thread shards and time
//                                  Engine.start (every shard recovers in its own thread, in
//                                  parallel) until all are ready: the whole process's recovery
//   BENCH_YOUNG_GENERATION_MB      shard.youngGenerationMb of the recovering shard (default: the
//                                  configuration's)
//   BENCH_DIR                      base of the temporary data directory (default os.tmpdir())

import { spawn } from 'node:child_process';
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/actors/engine.js';
import { Shard, type RecoveryStats } from '../src/actors/shard.js';
import type { Command, Reply } from '../src/actors/types.js';
import { buildConfig, DEFAULT_SHARD_CONFIG } from '../src/config.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { cpuSample, cpuSince, envNumber, fmt, fullGc, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, ROOT_DIR, skuName, writeResult, type CpuWindow } from './common.js';

const TURNS = Math.round(envNumber('BENCH_REPLAY_TURNS', 2000, 200));
const PER_TURN = Math.round(envNumber('BENCH_REPLAY_PER_TURN', 500));
const MIX = process.env.BENCH_REPLAY_MIX === 'lifecycle' ? 'lifecycle' : 'open';
const SKUS = Math.round(envNumber('BENCH_REPLAY_SKUS', 10_000, 1_000));
const RUNS = Math.round(envNumber('BENCH_REPLAY_RUNS', 3, 1));
const SHARDS = Math.round(envNumber('BENCH_REPLAY_SHARDS', 1));
/** shard.youngGenerationMb of the recovering shard (worker or not, see heapArgs); 0: the configuration's default. */
const YOUNG_MB = Math.round(envNumber('BENCH_YOUNG_GENERATION_MB', 0));
/** Turns the writer keeps in flight: only to write faster; each turn is its own WAL record. */
const WRITER_PIPELINE = 8;
const STOCK = 1_000_000;

const SCRIPT = fileURLToPath(import.meta.url);

function shardOptions(dataDir: string) {
  // No checkpoint may cover the reserves: recovery must replay every one of them.
  const config = buildConfig({ shards: 1, shard: { checkpointWalRecordsMax: 1_000_000_000 } });
  return { shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false };
}

function engineConfig(dataDir: string) {
  // As shardOptions; the engine's shards keep their timers, so the interval is out of reach too.
  const shard = { checkpointWalRecordsMax: 1_000_000_000, checkpointIntervalMs: 1_000_000_000, ...(YOUNG_MB ? { youngGenerationMb: YOUNG_MB } : {}) };
  return buildConfig({ shards: SHARDS, dataDir, shard });
}

/** Where the writer's turns go, and what it reports once they are all flushed. */
interface Target {
  execute(commands: Command[]): Promise<Reply[]>;
  stats(): Promise<{ walSeq: number; checkpoints: number }>;
}

async function openTarget(dataDir: string): Promise<Target> {
  if (SHARDS === 1) {
    const { shard } = Shard.open(shardOptions(dataDir));
    return { execute: (commands) => shard.execute(commands), stats: async () => shard.stats() };
  }
  const engine = await Engine.start(engineConfig(dataDir));
  return {
    execute: (commands) => engine.executeBatch(commands),
    async stats() {
      const all = await engine.stats();
      return { walSeq: all.reduce((n, s) => n + s!.walSeq, 0), checkpoints: all.reduce((n, s) => n + s!.checkpoints, 0) };
    },
  };
}

// ---- children ----------------------------------------------------------------------------------

/** Write the WAL, report, then wait to be killed. */
async function writer(dataDir: string): Promise<void> {
  const shard = await openTarget(dataDir);
  const skus = Array.from({ length: SKUS }, (_, i) => skuName(i));
  for (let i = 0; i < skus.length; i += 4096) {
    const replies = await shard.execute(
      skus.slice(i, i + 4096).map((sku): Command => ({ type: 'setStock', sku, location: 'dc-1', onHand: STOCK, eventId: `stock-${sku}` })),
    );
    if (replies.some((r) => !r.ok)) throw new Error('setStock failed');
  }
  let n = 0;
  let granted = 0;
  const toEnd: string[] = [];
  const turn = async (): Promise<void> => {
    const commands: Command[] = [];
    for (let i = 0; i < PER_TURN; i++, n++) {
      commands.push({
        type: 'reserve',
        sku: skus[n % skus.length],
        idempotencyKey: `replay-key-${n.toString(36).padStart(6, '0')}`,
        orderId: `order-${n}`,
        customerId: `customer-${n}`, // one each: the per-customer cap never applies
        channel: 'web',
        quantity: 1,
      });
    }
    // Lifecycle mix: end what earlier turns granted (alternately commit and release).
    const ending = MIX === 'lifecycle' ? toEnd.splice(0, PER_TURN) : [];
    for (let i = 0; i < ending.length; i++) {
      commands.push(i % 2 === 0 ? { type: 'commit', reservationId: ending[i] } : { type: 'release', reservationId: ending[i] });
    }
    const replies = await shard.execute(commands);
    for (let i = 0; i < PER_TURN; i++) {
      const r = replies[i];
      if (!r.ok) continue;
      granted++;
      if (MIX === 'lifecycle') toEnd.push((r.value as { reservationId: string }).reservationId);
    }
    for (let i = PER_TURN; i < replies.length; i++) if (!replies[i].ok) throw new Error(`ending a reservation failed: ${JSON.stringify(replies[i])}`);
  };
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < TURNS) {
      started++;
      await turn();
    }
  };
  await Promise.all(Array.from({ length: WRITER_PIPELINE }, lane));
  const stats = await shard.stats();
  // Every execute() above resolved after its flush: the whole WAL is durable now.
  process.stdout.write(`FLUSHED ${JSON.stringify({ granted, walSeq: stats.walSeq, checkpoints: stats.checkpoints })}\n`);
  setInterval(() => {}, 60_000); // stay alive until the parent's SIGKILL
}

/** Read and decode every WAL record, nothing else. */
function scan(dataDir: string): void {
  const cpu = cpuSample();
  const t0 = performance.now();
  let records = 0;
  let events = 0;
  for (let shardId = 0; shardId < SHARDS; shardId++) {
    const store = ShardStore.open(Shard.directoryOf(dataDir, shardId));
    for (const record of store.recordsAfter(0)) {
      records++;
      events += record.events.length;
    }
  }
  const ms = performance.now() - t0;
  process.stdout.write(`RESULT ${JSON.stringify({ records, events, ms, cpu: cpuSince(cpu) })}\n`);
  process.exit(0);
}

/**
 * Shard.open on the crashed data directory: recovery by replay. With several shards, Engine.start:
 * the shards' figures summed, `ms` the slowest shard's, the wall time until every one is ready.
 */
async function recover(dataDir: string): Promise<void> {
  const cpu = cpuSample();
  const t0 = performance.now();
  let recovery: RecoveryStats;
  // Held until the heap is read: an unreachable shard would leave only garbage to measure.
  let shard: Shard | null = null;
  let engine: Engine | null = null;
  if (SHARDS === 1) {
    const opened = Shard.open(shardOptions(dataDir));
    shard = opened.shard;
    recovery = opened.recovery;
  } else {
    const started = await Engine.start(engineConfig(dataDir));
    const shards = started.recovery().map((r) => r!);
    const sum = (field: 'records' | 'events' | 'eventsSkipped' | 'openReservations' | 'skus') => shards.reduce((n, r) => n + r[field], 0);
    recovery = {
      shardId: -1,
      checkpointSeq: Math.max(...shards.map((r) => r.checkpointSeq)),
      skus: sum('skus'),
      records: sum('records'),
      events: sum('events'),
      eventsSkipped: sum('eventsSkipped'),
      openReservations: sum('openReservations'),
      ms: Math.max(...shards.map((r) => r.ms)),
      checkpointMs: Math.max(...shards.map((r) => r.checkpointMs)),
    };
    engine = started;
  }
  const wallMs = performance.now() - t0;
  const usage = cpuSince(cpu);
  // A read waits for every earlier write to be durable: the recovery checkpoint's included.
  const firstRead: Command = { type: 'getSku', sku: skuName(0) };
  const [read] = shard ? await shard.execute([firstRead]) : [await engine!.execute(firstRead)];
  if (!read.ok) throw new Error(`the first read after recovery failed: ${read.error.code}`);
  const firstReplyMs = performance.now() - t0;
  // What the recovered shard keeps: after a full collection, the heap and the memory of its
  // buffers (LMDB's maps are not counted). With several shards this is the main thread's only:
  // each worker has a heap of its own.
  fullGc();
  const memory = process.memoryUsage();
  const keptBytes = memory.heapUsed + memory.arrayBuffers;
  if (shard && shard.stats().skus !== recovery.skus) throw new Error(`recovered ${recovery.skus} SKUs, the shard holds ${shard.stats().skus}`);
  process.stdout.write(`RESULT ${JSON.stringify({ recovery, wallMs, firstReplyMs, keptBytes, rssBytes: process.memoryUsage().rss, cpu: usage })}\n`);
  // Exiting under a queued LMDB write would leave LMDB's write thread waiting for this thread
  // forever (process.exit joins that thread): close first.
  await shard?.close();
  await engine?.stop();
  process.exit(0);
}

// ---- parent ------------------------------------------------------------------------------------

interface Child {
  line: string;
  ms: number;
}

/**
 * One shard recovering in the child's main thread gets the young generation a shard worker has
 * (shard.youngGenerationMb; V8 gives each of the two semi-spaces a third of it), so the figure is
 * the one a Stockade process would see. With several shards the engine's workers have it already.
 */
function heapArgs(mode: string): string[] {
  if (mode !== 'recover' || SHARDS > 1) return [];
  const youngMb = YOUNG_MB || DEFAULT_SHARD_CONFIG.youngGenerationMb;
  return [`--max-semi-space-size=${Math.max(1, Math.round(youngMb / 3))}`];
}

/** Run this script in a child process until it prints a line starting with `marker`. */
function child(mode: string, dataDir: string, marker: string, kill: boolean): Promise<Child> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...process.execArgv, '--expose-gc', ...heapArgs(mode), SCRIPT, 'child', mode, dataDir], {
    cwd: ROOT_DIR,
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let line: string | null = null;
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const at = out.indexOf(marker);
      if (line === null && at >= 0 && out.indexOf('\n', at) > 0) {
        line = out.slice(at + marker.length, out.indexOf('\n', at)).trim();
        if (kill) proc.kill('SIGKILL');
      }
    });
    proc.on('exit', (code, signal) => {
      if (line !== null && (kill ? signal === 'SIGKILL' : code === 0)) resolve({ line, ms: performance.now() - t0 });
      else reject(new Error(`${mode} child ended with ${signal ?? code} before reporting: ${out}`));
    });
  });
}

/** A fresh copy of the crashed data directory for one recovery, without LMDB's lock files (LMDB makes them anew). */
function copyOfCrashed(dataDir: string): string {
  const copy = makeTempDir('replay-run');
  cpSync(dataDir, copy, { recursive: true, filter: (source) => !source.endsWith('lock.mdb') });
  return copy;
}

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(path) : statSync(path).size;
  }
  return total;
}

interface RecoverResult {
  recovery: RecoveryStats;
  wallMs: number;
  firstReplyMs: number;
  keptBytes: number;
  rssBytes: number;
  cpu: CpuWindow;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# replay (${QUICK ? 'quick' : 'full'}${SHARDS > 1 ? `, ${SHARDS} shards` : ''}) — ${machineLine(machine)}\n`);
  const opener = SHARDS === 1 ? 'Shard.open' : 'Engine.start';
  const dataDir = makeTempDir('replay');
  try {
    const write = await child('write', dataDir, 'FLUSHED', true);
    const written = JSON.parse(write.line) as { granted: number; walSeq: number; checkpoints: number };
    if (written.granted !== TURNS * PER_TURN || written.checkpoints !== 0) {
      throw new Error(`writer: ${written.granted} of ${TURNS * PER_TURN} reserves granted, ${written.checkpoints} checkpoints`);
    }
    const walBytes = sizeOf(dataDir);
    console.error(`  wrote ${fmt(written.walSeq)} WAL records (${fmt(written.granted)} reserves) in ${fmt(write.ms / 1000, 1)} s, ${fmt(walBytes / 2 ** 20)} MiB; killed with SIGKILL`);

    const scanned = JSON.parse((await child('scan', dataDir, 'RESULT', false)).line) as { records: number; events: number; ms: number; cpu: CpuWindow };
    console.error(`  scan: ${fmt(scanned.records)} records, ${fmt(scanned.events)} events in ${fmt(scanned.ms)} ms`);
    const runs: RecoverResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      const runDir = copyOfCrashed(dataDir);
      const r = JSON.parse((await child('recover', runDir, 'RESULT', false)).line) as RecoverResult;
      removeTempDir(runDir);
      if (r.recovery.checkpointSeq !== 0 || r.recovery.records !== written.walSeq) {
        throw new Error(`recovery replayed ${r.recovery.records} of ${written.walSeq} records from checkpoint ${r.recovery.checkpointSeq}`);
      }
      console.error(`  recover #${i + 1}: ${fmt(r.recovery.events)} events in ${fmt(r.recovery.ms)} ms, checkpoint ${fmt(r.recovery.checkpointMs)} ms (${opener} ${fmt(r.wallMs)} ms, first reply ${fmt(r.firstReplyMs)} ms)`);
      runs.push(r);
    }

    const othersOf = (cpu: CpuWindow) => (cpu.othersPercent === null ? '?' : fmt(cpu.othersPercent, 0));
    const rows = [
      ['scan (LMDB read + decode)', scanned.records, scanned.events, scanned.ms, (scanned.records / scanned.ms) * 1000, (scanned.events / scanned.ms) * 1000, '-', '-', '-', '-', '-', othersOf(scanned.cpu)],
      ...runs.map((r, i) => [
        `recover #${i + 1} (${opener})`,
        r.recovery.records,
        r.recovery.events,
        r.recovery.ms,
        (r.recovery.records / r.recovery.ms) * 1000,
        (r.recovery.events / r.recovery.ms) * 1000,
        r.recovery.checkpointMs,
        r.wallMs,
        r.firstReplyMs,
        r.recovery.openReservations,
        SHARDS === 1 ? fmt(r.keptBytes / 2 ** 20) : '-',
        othersOf(r.cpu),
      ]),
    ];
    console.log(markdownTable(['run', 'records', 'events', 'ms', 'records/s', 'events/s', 'checkpoint ms', `${opener} ms`, 'first reply ms', 'open reservations', 'kept MiB', 'others CPU %'], rows as (string | number)[][]));
    const best = runs.reduce((a, b) => (b.recovery.ms < a.recovery.ms ? b : a));
    const median = [...runs].sort((a, b) => a.recovery.ms - b.recovery.ms)[Math.floor(runs.length / 2)];
    console.log(
      `\nWAL (${MIX} mix): ${fmt(written.walSeq)} records (${fmt(TURNS)} turns × ${PER_TURN} reserves${MIX === 'lifecycle' ? ' plus commits/releases of earlier turns\' reservations' : ''} + ${Math.ceil(SKUS / 4096)} setStock turns over ${fmt(SKUS)} SKUs), ` +
        `${fmt(walBytes / 2 ** 20)} MiB on disk, page cache warm. ms: recovery's own timer (replay, invariant checks, expiry heap); checkpoint ms: snapshotting what replay changed, before the first command` +
        (SHARDS === 1
          ? '; Shard.open ms adds opening LMDB and the checkpoint; first reply ms: until a read is answered, which waits for the checkpoint to be durable; kept MiB: the V8 heap and buffers after a full collection, with the recovered shard still held.'
          : `, the slowest of ${SHARDS} shards recovering in parallel (records, events and reservations summed); Engine.start ms is until every shard is ready, worker start-up included; first reply ms: until a read is answered, which waits for the checkpoint to be durable; the shards' heaps are their workers' own, not shown.`) +
        ' others CPU %: other processes meanwhile (100 = one core).',
    );
    console.log(`median recovery: ${fmt((median.recovery.events / median.recovery.ms) * 1000)} events/s (best ${fmt((best.recovery.events / best.recovery.ms) * 1000)})`);
    const path = writeResult(`${MIX === 'lifecycle' ? 'replay-lifecycle' : 'replay'}${SHARDS > 1 ? `-${SHARDS}-shards` : ''}`, {
      settings: { mix: MIX, turns: TURNS, reservesPerTurn: PER_TURN, skus: SKUS, runs: RUNS, shards: SHARDS, writerPipeline: WRITER_PIPELINE },
      written: { ...written, walBytes, writeMs: write.ms },
      scan: { ...scanned, recordsPerSec: (scanned.records / scanned.ms) * 1000, eventsPerSec: (scanned.events / scanned.ms) * 1000 },
      recoveries: runs.map((r) => ({
        ...r,
        recordsPerSec: (r.recovery.records / r.recovery.ms) * 1000,
        eventsPerSec: (r.recovery.events / r.recovery.ms) * 1000,
      })),
      medianEventsPerSec: (median.recovery.events / median.recovery.ms) * 1000,
    });
    console.log(`\nresults: ${path}`);
  } finally {
    removeTempDir(dataDir);
  }
}

if (process.argv[2] === 'child') {
  const [, , , mode, dataDir] = process.argv;
  if (mode === 'write') await writer(dataDir);
  else if (mode === 'scan') scan(dataDir);
  else if (mode === 'recover') await recover(dataDir);
  else throw new Error(`unknown child mode ${mode}`);
} else {
  await main();
}
