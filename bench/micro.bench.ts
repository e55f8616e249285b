// Micro-benchmarks of the pieces of one durable reserve, each on its own:
//   (a) the actor transition: decide + evolve of a reserve (and of a reserve followed by a commit)
//   (b) validateCommand on a reserve
//   (c) WAL record encoding and decoding (msgpackr), 1 and 64 events, and the WAL form of a
//       reserve's event (the reservation as a tuple), which Shard.apply takes before evolve
//   (d) WAL group commit: ShardStore.appendTurn (encode + puts) + whenFlushed, turns of 1, 64, 1024 events
//
//   npm run bench:micro   (compiled first, as published; `npx tsx bench/micro.bench.ts` runs the source)
//   BENCH_QUICK=1 for a smoke run.
//   BENCH_TIME_MS=2000 sets tinybench's time per task.

import { Bench, type Task } from 'tinybench';
import { decide, emptySku, evolve, type SkuState } from '../src/actors/sku.js';
import type { ReserveCommand, SkuEvent } from '../src/actors/types.js';
import { validateCommand } from '../src/actors/validate.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec, type WalRecord } from '../src/persistence/codec.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { cpuSample, cpuSince, envNumber, fmt, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, writeResult, type CpuWindow } from './common.js';

const TIME_MS = envNumber('BENCH_TIME_MS', 1000, 300);
const WARMUP_MS = QUICK ? 100 : 250;
const limits = buildConfig({ shards: 1 }).limits;
const NOW = Date.UTC(2026, 0, 1);

/** A fresh SKU is taken after this many reserves, so open reservations stay bounded (≤ 4096). */
const RESERVES_PER_SKU = 4096;

function reserveCommand(sku: string, i: number): ReserveCommand {
  return {
    type: 'reserve',
    sku,
    idempotencyKey: `micro-key-${i.toString().padStart(8, '0')}`,
    orderId: `order-${i}`,
    customerId: `cust-${i}`, // one each: the per-customer cap never applies
    channel: 'web',
    quantity: 1,
  };
}

function stockedSku(name: string, onHand: number): SkuState {
  const state = emptySku(name);
  evolve(state, { type: 'StockSet', sku: name, at: NOW, location: 'dc-1', onHand, eventId: 'stock-1' }, limits);
  return state;
}

function mustEvents(decision: ReturnType<typeof decide>): SkuEvent[] {
  if (!decision.ok || !('events' in decision)) throw new Error(`unexpected decision ${JSON.stringify(decision)}`);
  return decision.events;
}

/**
 * Realistic WAL content: N ReservationPlaced events, as a turn makes them. They write no history
 * index key: only a reservation's ending does (shard-store.ts).
 */
function turnOf(n: number, seq: number): { record: WalRecord } {
  const state = stockedSku('sku-wal', 1_000_000);
  const events: SkuEvent[] = [];
  for (let i = 0; i < n; i++) {
    const [event] = mustEvents(decide(state, reserveCommand('sku-wal', i), NOW, limits));
    evolve(state, event, limits);
    events.push(event);
  }
  return { record: { seq, at: NOW, events } };
}

// ---- (a) actor transition --------------------------------------------------------------------

const commands = Array.from({ length: RESERVES_PER_SKU }, (_, i) => reserveCommand('sku-hot', i));
let state = stockedSku('sku-hot', 1_000_000);
let made = 0;

function reserveTransition(): void {
  if (made === RESERVES_PER_SKU) {
    // Amortised over 4096 reserves; keeps the reservation map and idempotency map bounded.
    state = stockedSku('sku-hot', 1_000_000);
    made = 0;
  }
  const decision = decide(state, commands[made++], NOW, limits);
  evolve(state, (decision as { events: SkuEvent[] }).events[0], limits);
}

// Steady state: reserve then commit, so the SKU keeps no open reservations; stock is consumed,
// hence a fresh SKU per 4096 pairs too.
let pairState = stockedSku('sku-pair', 1_000_000);
let pairs = 0;
function reserveCommitPair(): void {
  if (pairs === RESERVES_PER_SKU) {
    pairState = stockedSku('sku-pair', 1_000_000);
    pairs = 0;
  }
  const placed = (decide(pairState, commands[pairs++], NOW, limits) as { events: SkuEvent[] }).events[0];
  const view = evolve(pairState, placed, limits) as { reservationId: string };
  const committed = (decide(pairState, { type: 'commit', reservationId: view.reservationId }, NOW, limits) as { events: SkuEvent[] }).events[0];
  evolve(pairState, committed, limits);
}

// Sanity: the functions under test do what the labels say before they are timed.
{
  const s = stockedSku('sku-check', 10);
  const events = mustEvents(decide(s, reserveCommand('sku-check', 0), NOW, limits));
  if (events[0].type !== 'ReservationPlaced' || (evolve(s, events[0], limits) as { state: string }).state !== 'ACTIVE') {
    throw new Error('reserve did not produce an ACTIVE reservation');
  }
  if (validateCommand(commands[0]) !== null) throw new Error('the benchmark reserve command is invalid');
  // One full cycle of each loop, SKU replacement included: a refused command throws here.
  for (let i = 0; i <= RESERVES_PER_SKU; i++) {
    reserveTransition();
    reserveCommitPair();
  }
}

// ---- (c) encoding ----------------------------------------------------------------------------

// The codec the store uses (WAL records in Stockade's own layout, other values msgpackr
// records); in memory, as the store's would be once its structures are known. The first encode
// defines the shapes, so it happens before timing.
const codec = RecordCodec.inMemory();
const record1 = turnOf(1, 1).record;
const record64 = turnOf(64, 1).record;
const bytes1 = codec.encodeRecord(record1);
const bytes64 = codec.encodeRecord(record64);

// ---- run (a)-(c) -----------------------------------------------------------------------------

interface Row {
  group: string;
  task: string;
  opsPerSec: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  rmePercent: number;
  samples: number;
  /** Work items per op (events in a record or turn), to derive items/s. */
  itemsPerOp: number;
  itemsPerSec: number;
  note?: string;
}

function rowsOf(group: string, tasks: Task[], itemsPerOp: Record<string, number> = {}, notes: Record<string, string> = {}): Row[] {
  return tasks.map((task) => {
    const r = task.result;
    if (!r || r.error) throw new Error(`task ${task.name} failed: ${r?.error?.message ?? 'no result'}`);
    const items = itemsPerOp[task.name] ?? 1;
    // Operations over time spent (1 / mean latency). tinybench's throughput.mean averages
    // per-sample 1/latency, which overstates the rate when latencies are skewed (fsync).
    const ops = 1000 / r.latency.mean;
    return {
      group,
      task: task.name,
      opsPerSec: ops,
      meanUs: r.latency.mean * 1000,
      p50Us: (r.latency.p50 ?? NaN) * 1000,
      p99Us: (r.latency.p99 ?? NaN) * 1000,
      rmePercent: r.latency.rme,
      samples: r.latency.samples.length,
      itemsPerOp: items,
      itemsPerSec: ops * items,
      note: notes[task.name],
    };
  });
}

/** How busy the rest of the machine was while the tasks ran. */
function others(cpu: CpuWindow): string {
  const pct = (v: number | null) => (v === null ? 'unknown' : `${fmt(v, 0)} %`);
  return `CPU while running (100 % = one core): this process ${fmt(cpu.ownPercent, 0)} %, other processes ${pct(cpu.othersPercent)}, steal ${pct(cpu.stealPercent)}.`;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# micro.bench (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);

  const cpuBench = new Bench({ name: 'cpu', time: TIME_MS, warmupTime: WARMUP_MS });
  cpuBench
    .add('decide+evolve reserve', reserveTransition)
    .add('decide+evolve reserve, then commit', reserveCommitPair)
    .add('validateCommand(reserve)', () => {
      validateCommand(commands[made & (RESERVES_PER_SKU - 1)]);
    })
    .add('encodeRecord, 1 event', () => codec.encodeRecord(record1))
    .add('decodeRecord, 1 event', () => codec.decodeRecord(bytes1))
    .add('encodeRecord, 64 events', () => codec.encodeRecord(record64))
    .add('decodeRecord, 64 events', () => codec.decodeRecord(bytes64));
  const cpuBenchCpu = cpuSample();
  await cpuBench.run();
  const cpuBenchUsage = cpuSince(cpuBenchCpu);
  const cpuRows = rowsOf('cpu', cpuBench.tasks, {
    'encodeRecord, 1 event': 1,
    'decodeRecord, 1 event': 1,
    'encodeRecord, 64 events': 64,
    'decodeRecord, 64 events': 64,
  }, {
    'encodeRecord, 1 event': `${fmt(bytes1.length)} B`,
    'decodeRecord, 1 event': `${fmt(bytes1.length)} B`,
    'encodeRecord, 64 events': `${fmt(bytes64.length)} B`,
    'decodeRecord, 64 events': `${fmt(bytes64.length)} B`,
  });

  // ---- (d) WAL group commit: one turn = one WAL record of N reserve events ----
  const dir = makeTempDir('micro');
  const store = ShardStore.open(dir);
  let seq = 0;
  const walBench = new Bench({ name: 'wal', time: TIME_MS, warmupTime: WARMUP_MS });
  const turnSizes = [1, 64, 1024];
  const walNotes: Record<string, string> = {};
  const walItems: Record<string, number> = {};
  for (const n of turnSizes) {
    // Built outside the timed region: this measures the store (which encodes the record
    // itself), not decide/evolve. The same events go out under a new seq each time.
    const turn = turnOf(n, 1);
    const bytes = store.codec.encodeRecord(turn.record).length;
    const name = `appendTurn+whenFlushed, ${n} event${n === 1 ? '' : 's'}`;
    walItems[name] = n;
    walNotes[name] = `record ${fmt(bytes)} B, no history index key`;
    walBench.add(name, async () => {
      seq++;
      store.appendTurn(seq, store.codec.encodeRecord({ seq, at: NOW, events: turn.record.events }), [], []);
      await store.whenFlushed();
    });
  }
  const walBenchCpu = cpuSample();
  await walBench.run();
  const walBenchUsage = cpuSince(walBenchCpu);
  const walRows = rowsOf('wal', walBench.tasks, walItems, walNotes);
  await store.close();
  removeTempDir(dir);

  const table = (rows: Row[], itemsLabel: string) =>
    markdownTable(
      ['task', 'ops/s', 'mean µs', 'p50 µs', 'p99 µs', '±rme %', 'samples', itemsLabel, 'note'],
      rows.map((r) => [r.task, r.opsPerSec, fmt(r.meanUs, 3), fmt(r.p50Us, 3), fmt(r.p99Us, 3), fmt(r.rmePercent, 2), r.samples, r.itemsPerSec, r.note ?? '']),
    );
  console.log('## CPU: actor transition, validation, WAL record codec\n');
  console.log(table(cpuRows, 'events/s'));
  console.log(`\n${others(cpuBenchUsage)}`);
  console.log(`\n## WAL group commit (LMDB, ${machine.dataDirFs} at ${machine.dataDirBase}; durable: awaits flushed)\n`);
  console.log(table(walRows, 'events/s'));
  console.log(`\n${others(walBenchUsage)}`);
  const path = writeResult('micro', {
    settings: { timeMs: TIME_MS, warmupMs: WARMUP_MS, reservesPerSku: RESERVES_PER_SKU, walTurnSizes: turnSizes, walRecordsWritten: seq },
    results: [...cpuRows, ...walRows],
    cpu: { cpuTasks: cpuBenchUsage, walTasks: walBenchUsage },
  });
  console.log(`\nresults: ${path}`);
}

await main();
