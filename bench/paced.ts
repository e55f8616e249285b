// A shard's own latency under a steady, paced load: no WebSocket, no gateway, no client process.
//
// `bench:load` measures reserves over WebSocket with the load generator on the same two cores,
// and its p99 at half of peak is tens of milliseconds. This script asks how much of that tail
// is the shard's own. A shard (timers off, durable as always) is offered reserves at a fixed
// rate, as the gateway hands them over — every millisecond the commands that came due in it —
// and each command's latency is taken from the moment it was due to its durable reply (an open
// loop: a stall delays every command due during it, as a client's would be; no coordinated
// omission). Each workload and rate runs twice: with the Shard in this thread, and through the
// engine with its shards in worker threads (the crossing the gateway pays, batched per
// event-loop turn), so the step from one to the other is the crossing's. Alongside: the shard's
// longest turns, its flushes, every garbage collection on its thread (count, total, longest) and
// the sending thread's longest event-loop delay, so a tail can be put down to what caused it.
// Each row runs in a fresh process (no inherited heap or JIT state).
//
//   npm run bench:paced   (compiled first)
//   BENCH_QUICK=1                     smoke run (one rate, 2 s windows)
//   BENCH_PACED_RATES                 reserves/s, comma-separated (default 5000,10000,20000,40000)
//   BENCH_SKUS                        SKUs of the many-SKU workload (default 10,000)
//   BENCH_SECONDS, BENCH_WARMUP_SECONDS   measured window and the warm-up before it (6 and 2 s; quick 2 and 0.5)
//   BENCH_NODE_ARGS                   node flags for each row's process (diagnostics, e.g. --max-semi-space-size=2)
//   BENCH_PACED_SHARD                 shard settings as JSON (diagnostics, e.g. {"checkpointSkuPagesMax":1000000})
//   BENCH_DIR                         base of the temporary data directories (default os.tmpdir())

import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Engine } from '../src/actors/engine.js';
import { Shard } from '../src/actors/shard.js';
import type { Command, Reply } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import {
  childResult,
  cpuSample,
  cpuSince,
  envNumber,
  fmt,
  latencyHistogram,
  machineInfo,
  machineLine,
  makeTempDir,
  markdownTable,
  QUICK,
  removeTempDir,
  reportResult,
  skuName,
  summarize,
  writeResult,
  type LatencySummary,
} from './common.js';

const SCRIPT = fileURLToPath(import.meta.url);
const RATES = (process.env.BENCH_PACED_RATES ?? (QUICK ? '10000' : '5000,10000,20000,40000')).split(',').map((r) => Math.round(Number(r)));
const MANY_SKUS = Math.round(envNumber('BENCH_SKUS', 10_000));
const SECONDS = envNumber('BENCH_SECONDS', 6, 2);
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 2, 0.5);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const SHARD_SETTINGS = JSON.parse(process.env.BENCH_PACED_SHARD || '{}') as Record<string, unknown>;
const DIAGNOSTIC = NODE_ARGS.length > 0 || Object.keys(SHARD_SETTINGS).length > 0;
/** The gateway hands a shard what arrived in each turn of its event loop; one millisecond here. */
const TICK_MS = 1;
const STOCK = 1_000_000_000;
const LIMITS = { quantityMax: STOCK, reservationsPerSkuMax: 50_000_000, idempotencyKeysPerSkuMax: 50_000_000 };
/** Commands per batch when stocking many SKUs. */
const STOCK_BATCH = 1_024;

type Workload = 'hot' | 'many';
/** `shard`: a Shard in this thread. `engine`: the engine's shard workers, as the gateway uses them. */
type Mode = 'shard' | 'engine';
const MODES: readonly Mode[] = ['shard', 'engine'];

interface RowResult {
  workload: Workload;
  mode: Mode;
  rate: number;
  achieved: number;
  latency: LatencySummary;
  flush: LatencySummary;
  failures: number;
  gc: { count: number; totalMs: number; longestMs: number };
  longestTurnMs: number;
  turnsOver5Ms: number;
  skuCheckpoints: number;
  loopDelayMaxMs: number;
  cpuPercent: number;
  othersPercent: number | null;
}

/** What a row records, from whichever thread the shard runs on. */
interface Recorders {
  turn(ms: number): void;
  flush(ms: number): void;
  gc(ms: number): void;
}

/** Where a row's reserves go. */
interface Target {
  /** One tick's commands; resolves with their replies, in order. */
  send(commands: Command[]): Promise<Reply[]>;
  /** A hot SKU's checkpoints on its own so far. */
  ownCheckpoints(): Promise<number>;
  close(): Promise<void>;
}

/** A Shard in this thread: its turns and flushes from its hooks, collections from this thread's. */
function shardTarget(dataDir: string, record: Recorders): Target {
  const config = buildConfig({ shards: 1, limits: LIMITS, shard: SHARD_SETTINGS });
  const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false });
  shard.onTurn = (ms) => record.turn(ms);
  // A turn's flush: from its end to the moment this thread saw it on disk (its replies go then).
  shard.onDurable = (report) => {
    if (report.flushMs !== null) record.flush(report.flushMs);
  };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) record.gc(entry.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  return {
    send: (commands) => shard.execute(commands),
    ownCheckpoints: async () => shard.stats().skuCheckpoints,
    close: async () => {
      gcObserver.disconnect();
      await shard.close();
    },
  };
}

/**
 * The engine, its shards in worker threads (2, as on this machine's two cores): a command crosses
 * to its shard's worker and back, batched per event-loop turn, as the gateway's do. Turns,
 * flushes and collections are the workers' own, as they report them (EngineObserver).
 */
async function engineTarget(dataDir: string, record: Recorders): Promise<Target> {
  const config = buildConfig({ dataDir, shards: 2, logLevel: 'silent', limits: LIMITS, shard: SHARD_SETTINGS });
  const engine = await Engine.start(config);
  engine.observe({
    turnRan: (_, ms) => record.turn(ms),
    walFlushed: (_, ms) => record.flush(ms),
    gcPaused: (_, pause) => record.gc(pause.ms),
  });
  return {
    send: (commands) => Promise.all(commands.map((command) => engine.execute(command))),
    ownCheckpoints: async () => (await engine.stats()).reduce((sum, s) => sum + (s?.skuCheckpoints ?? 0), 0),
    close: () => engine.stop(),
  };
}

/** One row, in this (child) process. */
async function row(workload: Workload, mode: Mode, rate: number): Promise<RowResult> {
  const dataDir = makeTempDir('paced');
  const histogram = latencyHistogram();
  const flushes = latencyHistogram();
  const gc = { count: 0, totalMs: 0, longestMs: 0 };
  let longestTurnMs = 0;
  let turnsOver5Ms = 0;
  let measuring = false;
  const record: Recorders = {
    turn(ms) {
      if (!measuring) return;
      longestTurnMs = Math.max(longestTurnMs, ms);
      if (ms > 5) turnsOver5Ms++;
    },
    flush(ms) {
      if (measuring) flushes.recordValue(Math.max(1, Math.round(ms * 1000)));
    },
    gc(ms) {
      if (!measuring) return;
      gc.count++;
      gc.totalMs += ms;
      gc.longestMs = Math.max(gc.longestMs, ms);
    },
  };
  const target = mode === 'shard' ? shardTarget(dataDir, record) : await engineTarget(dataDir, record);
  try {
    const skus = workload === 'hot' ? ['paced-hot'] : Array.from({ length: MANY_SKUS }, (_, i) => skuName(i));
    for (let i = 0; i < skus.length; i += STOCK_BATCH) {
      await target.send(skus.slice(i, i + STOCK_BATCH).map((sku, k): Command => ({ type: 'setStock', sku, location: 'dc-1', onHand: STOCK, eventId: `stock-${i + k}` })));
    }
    let failures = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });

    const perTick = (rate * TICK_MS) / 1000;
    const started = performance.now();
    const windowStart = started + WARMUP_SECONDS * 1000;
    const windowEnd = windowStart + SECONDS * 1000;
    let cpu = cpuSample();
    let tick = 0;
    let owed = 0;
    let sent = 0;
    let measured = 0;
    const inFlight = new Set<Promise<unknown>>();
    await new Promise<void>((done) => {
      const step = (): void => {
        const now = performance.now();
        if (!measuring && now >= windowStart) {
          measuring = true;
          loopDelay.enable();
          cpu = cpuSample();
        }
        // Every tick that came due since the last step, each as the batch it would have been.
        while (started + tick * TICK_MS <= now && started + tick * TICK_MS < windowEnd) {
          const due = started + tick * TICK_MS;
          tick++;
          owed += perTick;
          const count = Math.floor(owed);
          owed -= count;
          if (count === 0) continue;
          const commands: Command[] = new Array(count);
          for (let i = 0; i < count; i++, sent++) {
            commands[i] = { type: 'reserve', sku: skus[sent % skus.length], idempotencyKey: `paced-key-${sent}`, orderId: `order-${sent}`, customerId: `customer-${sent}`, channel: 'web', quantity: 1 };
          }
          const inWindow = due >= windowStart;
          if (inWindow) measured += count;
          const answered = target.send(commands).then((replies: Reply[]) => {
            if (!inWindow) return;
            const us = Math.max(1, Math.round((performance.now() - due) * 1000));
            for (const reply of replies) {
              if (!reply.ok) failures++;
              histogram.recordValue(us);
            }
          });
          inFlight.add(answered);
          void answered.finally(() => inFlight.delete(answered));
        }
        if (started + tick * TICK_MS >= windowEnd) done();
        else setTimeout(step, Math.max(0, started + tick * TICK_MS - performance.now()));
      };
      step();
    });
    await Promise.all(inFlight);
    measuring = false;
    loopDelay.disable();
    const cpuWindow = cpuSince(cpu);
    return {
      workload,
      mode,
      rate,
      achieved: measured / SECONDS,
      latency: summarize(histogram),
      flush: summarize(flushes),
      failures,
      gc,
      longestTurnMs,
      turnsOver5Ms,
      skuCheckpoints: await target.ownCheckpoints(),
      loopDelayMaxMs: loopDelay.max / 1e6,
      cpuPercent: cpuWindow.ownPercent,
      othersPercent: cpuWindow.othersPercent,
    };
  } finally {
    await target.close();
    removeTempDir(dataDir);
  }
}

if (process.argv[2] === 'child') {
  reportResult(await row(process.argv[3] as Workload, process.argv[4] as Mode, Number(process.argv[5])));
} else {
  const m = machineInfo();
  console.log(`# A shard's own latency under a paced load — ${machineLine(m)}`);
  const results: RowResult[] = [];
  for (const workload of ['hot', 'many'] as const) {
    for (const mode of MODES) {
      for (const rate of RATES) {
        const result = await childResult<RowResult>(SCRIPT, ['child', workload, mode, String(rate)], `paced row (${workload}, ${mode}, ${rate}/s)`, NODE_ARGS);
        const l = result.latency;
        console.log(`  ${workload} ${mode} ${fmt(rate)}/s: p50 ${l.p50Ms} p99 ${l.p99Ms} max ${l.maxMs} ms; flush p99 ${result.flush.p99Ms} max ${result.flush.maxMs} ms; gc ${result.gc.count} (${fmt(result.gc.totalMs, 0)} ms, longest ${fmt(result.gc.longestMs, 1)}); longest turn ${fmt(result.longestTurnMs, 1)} ms`);
        results.push(result);
      }
    }
  }
  const table = markdownTable(
    ['workload', 'shard', 'offered /s', 'achieved /s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed', 'flush p50 / p99 / max ms', 'GCs', 'GC total ms', 'longest GC ms', 'longest turn ms', 'turns > 5 ms', 'own ckpts', 'main loop delay max ms', 'CPU %', 'others %'],
    results.map((r) => [
      r.workload === 'hot' ? '1 hot SKU' : `${fmt(MANY_SKUS)} SKUs`,
      r.mode === 'shard' ? 'in this thread' : 'in a worker (2)',
      fmt(r.rate),
      fmt(Math.round(r.achieved)),
      fmt(r.latency.p50Ms, 2),
      fmt(r.latency.p90Ms, 2),
      fmt(r.latency.p99Ms, 2),
      fmt(r.latency.p999Ms, 2),
      fmt(r.latency.maxMs, 1),
      r.failures,
      `${fmt(r.flush.p50Ms, 2)} / ${fmt(r.flush.p99Ms, 1)} / ${fmt(r.flush.maxMs, 1)}`,
      r.gc.count,
      fmt(r.gc.totalMs, 0),
      fmt(r.gc.longestMs, 1),
      fmt(r.longestTurnMs, 1),
      r.turnsOver5Ms,
      r.skuCheckpoints,
      fmt(r.loopDelayMaxMs, 1),
      fmt(r.cpuPercent, 0),
      r.othersPercent === null ? '-' : fmt(r.othersPercent, 0),
    ]),
  );
  console.log(`\n## A shard, durable, paced: every ${TICK_MS} ms the reserves due, as one batch; ${SECONDS} s measured after ${WARMUP_SECONDS} s\n`);
  console.log(table);
  console.log(
    `\nLatency: from the moment a reserve was due to its durable reply (open loop). Flush: a turn's WAL commit, from the turn's end until the shard's thread saw it on disk. GCs, turns: on the shard's thread (in a worker: as it reports them), inside the window; main loop delay: the thread that sends the reserves and takes the replies (with the shard in it, the shard's own). own ckpts: a hot SKU's checkpoints on its own (whole run).${NODE_ARGS.length ? ` Node flags: ${NODE_ARGS.join(' ')}.` : ''}${Object.keys(SHARD_SETTINGS).length ? ` Shard settings: ${JSON.stringify(SHARD_SETTINGS)}.` : ''}`,
  );
  // A diagnostic run (other flags or settings) never overwrites the default run's figures.
  const path = writeResult(`paced${DIAGNOSTIC ? '-diagnostic' : ''}`, { settings: { rates: RATES, manySkus: MANY_SKUS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, tickMs: TICK_MS, nodeArgs: NODE_ARGS, shard: SHARD_SETTINGS }, results });
  console.log(`\nresults: ${path}`);
}
