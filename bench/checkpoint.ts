// A hot SKU's checkpoint and restore: how long the turn that snapshots a SKU with many open holds
// stalls its shard, and how long a restart takes to read that snapshot back.
//
// A writer child process opens one in-process Shard (timers off), sets one hot SKU's stock and
// places `BENCH_CHECKPOINT_HOLDS` reserves in turns of 1,024; `checkpointWalRecordsMax` makes the
// last turn also write the checkpoint, which is timed on its own. The writer then closes the
// shard cleanly (nothing left to checkpoint). A fresh child process times Shard.open: the
// snapshot read, decoded into the SKU's state, every invariant checked, the expiry heap built —
// with no WAL after the checkpoint to replay. Each step in its own process, so no run inherits
// another's heap or JIT state; the store was just written, so restores read from the page cache.
//
//   npm run bench:checkpoint   (compiled first)
//   BENCH_QUICK=1                    smoke run (20,000 holds, 1 run)
//   BENCH_CHECKPOINT_HOLDS           open holds on the hot SKU (default 150,000)
//   BENCH_CHECKPOINT_RUNS            write-and-restore runs (default 3)
//   BENCH_DIR                        base of the temporary data directory (default os.tmpdir())

import { fileURLToPath } from 'node:url';
import { Shard } from '../src/actors/shard.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec } from '../src/persistence/codec.js';
import { childResult, envNumber, fmt, fullGc, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, reportResult, writeResult } from './common.js';

const SCRIPT = fileURLToPath(import.meta.url);
const TURN = 1_024;
const HOLDS = Math.round(envNumber('BENCH_CHECKPOINT_HOLDS', 150_000, 20_000) / TURN) * TURN;
const RUNS = Math.round(envNumber('BENCH_CHECKPOINT_RUNS', 3, 1));
const STOCK = 1_000_000_000;

interface Written {
  checkpointTurnMs: number;
  /** A turn of the same size without a checkpoint, for comparison: the median of the turns. */
  plainTurnMs: number;
  snapshotBytes: number;
}

interface Restored {
  restoreMs: number;
  openReservations: number;
  heapUsedBytes: number;
}

function options(dataDir: string) {
  const limits = { quantityMax: STOCK, reservationsPerSkuMax: 50_000_000, idempotencyKeysPerSkuMax: 50_000_000, reservationsPerCustomerMax: 50_000_000 };
  // The stock turn and HOLDS / TURN reserve turns: the checkpoint comes at the end of the last one.
  const config = buildConfig({ shards: 1, limits, shard: { checkpointWalRecordsMax: HOLDS / TURN + 1 } });
  return { shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false };
}

// ---- children --------------------------------------------------------------------------------

async function write(dataDir: string): Promise<Written> {
  let snapshotBytes = 0;
  const encodeSnapshot = RecordCodec.prototype.encodeSnapshot;
  RecordCodec.prototype.encodeSnapshot = function (snapshot) {
    const bytes = encodeSnapshot.call(this, snapshot);
    snapshotBytes += bytes.length;
    return bytes;
  };
  const { shard } = Shard.open(options(dataDir));
  const stocked = await shard.execute([{ type: 'setStock', sku: 'hot', location: 'dc-1', onHand: STOCK, eventId: 'stock-1' }]);
  if (!stocked[0].ok) throw new Error(`setStock failed: ${JSON.stringify(stocked[0].error)}`);
  const turnMs: number[] = [];
  let n = 0;
  for (let t = 0; t < HOLDS / TURN; t++) {
    const commands: Command[] = [];
    for (let i = 0; i < TURN; i++, n++) {
      commands.push({ type: 'reserve', sku: 'hot', idempotencyKey: `reserve-${n}`, orderId: `order-${n}`, customerId: `customer-${n}`, channel: 'web', quantity: 1 });
    }
    const t0 = performance.now();
    for (const reply of await shard.execute(commands)) if (!reply.ok) throw new Error(`reserve failed: ${JSON.stringify(reply.error)}`);
    turnMs.push(performance.now() - t0);
  }
  if (shard.stats().checkpoints !== 1) throw new Error(`expected one checkpoint, at the last turn; saw ${shard.stats().checkpoints}`);
  await shard.close();
  const checkpointTurnMs = turnMs.pop()!;
  turnMs.sort((a, b) => a - b);
  return { checkpointTurnMs, plainTurnMs: turnMs[turnMs.length >> 1], snapshotBytes };
}

async function restore(dataDir: string): Promise<Restored> {
  const t0 = performance.now();
  const { shard, recovery } = Shard.open(options(dataDir));
  const restoreMs = performance.now() - t0;
  if (recovery.records !== 0) throw new Error(`expected nothing to replay after the checkpoint, saw ${recovery.records} records`);
  if (recovery.openReservations !== HOLDS) throw new Error(`restored ${recovery.openReservations} open reservations, expected ${HOLDS}`);
  fullGc();
  const heapUsedBytes = process.memoryUsage().heapUsed;
  await shard.close();
  return { restoreMs, openReservations: recovery.openReservations, heapUsedBytes };
}

// ---- parent ----------------------------------------------------------------------------------

function runChild<T>(step: 'write' | 'restore', dataDir: string): Promise<T> {
  return childResult<T>(SCRIPT, ['child', step, dataDir], `checkpoint child (${step})`, ['--expose-gc']);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# A hot SKU's checkpoint and restore (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const runs: (Written & Restored)[] = [];
  for (let run = 0; run < RUNS; run++) {
    const dataDir = makeTempDir('checkpoint');
    try {
      const written = await runChild<Written>('write', dataDir);
      const restored = await runChild<Restored>('restore', dataDir);
      runs.push({ ...written, ...restored });
    } finally {
      removeTempDir(dataDir);
    }
  }
  console.log(
    markdownTable(
      ['run', 'open holds', 'snapshot MiB', 'checkpoint turn ms', 'plain turn ms', 'restore ms', 'heap after restore MiB'],
      runs.map((r, i) => [
        i + 1,
        fmt(r.openReservations, 0),
        fmt(r.snapshotBytes / 2 ** 20, 1),
        fmt(r.checkpointTurnMs, 0),
        fmt(r.plainTurnMs, 1),
        fmt(r.restoreMs, 0),
        fmt(r.heapUsedBytes / 2 ** 20, 0),
      ]),
    ),
  );
  console.log(`\nOne hot SKU, ${fmt(HOLDS, 0)} reserves in turns of ${TURN}; the last turn also writes the checkpoint.`);
  const path = writeResult('checkpoint', { turn: TURN, holds: HOLDS, runs });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') {
  const result = process.argv[3] === 'write' ? await write(process.argv[4]) : await restore(process.argv[4]);
  reportResult(result);
} else {
  await main();
}
