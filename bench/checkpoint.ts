// A hot SKU's checkpoint and restore: how long the turn that snapshots a SKU with many open holds
// stalls its shard, how long the next checkpoint takes once more holds came, and how long a restart
// takes to read that snapshot back, in three forms, alternating in one run:
//   default  in pages (a checkpoint rewrites only the pages that changed), and checkpointed on its
//            own whenever 4 pages changed (shard.checkpointSkuPagesMax; src/actors/checkpoint-pages.ts)
//   paged    in pages, but only in the shard's checkpoints (checkpointSkuPagesMax out of reach)
//   whole    every checkpoint rewrites every hold and key (checkpointPageEntries above the SKU's size)
//
// A writer child process opens one in-process Shard (timers off), sets one hot SKU's stock and
// places `BENCH_CHECKPOINT_HOLDS` reserves in turns of 1,024; `checkpointWalRecordsMax` makes the
// last turn also write the checkpoint, which is timed on its own (the SKU's first checkpoint:
// every page is new). It then places `BENCH_CHECKPOINT_MORE` reserves more and writes the next
// checkpoint as the shard's checkpoint timer would (`checkpointIfDirty`), timing the shard's
// stall and until it is on disk. It closes the shard cleanly (nothing left to checkpoint). A
// fresh child process times Shard.open: the snapshot read, decoded into the SKU's state, every
// invariant checked, the expiry heap built — with no WAL after the checkpoint to replay. Each
// step in its own process, so no run inherits another's heap or JIT state; the store was just
// written, so restores read from the page cache.
//
//   npm run bench:checkpoint   (compiled first)
//   BENCH_QUICK=1                    smoke run (20,000 holds, 1 run of each)
//   BENCH_CHECKPOINT_HOLDS           open holds on the hot SKU at its first checkpoint (default 150,000)
//   BENCH_CHECKPOINT_MORE            holds placed before the next checkpoint (default a tenth of that)
//   BENCH_CHECKPOINT_RUNS            write-and-restore runs of each form (default 3)
//   BENCH_DIR                        base of the temporary data directory (default os.tmpdir())

import { fileURLToPath } from 'node:url';
import { Shard } from '../src/actors/shard.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec } from '../src/persistence/codec.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { childResult, envNumber, fmt, fullGc, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, reportResult, writeResult } from './common.js';

const SCRIPT = fileURLToPath(import.meta.url);
const TURN = 1_024;
const HOLDS = Math.round(envNumber('BENCH_CHECKPOINT_HOLDS', 150_000, 20_000) / TURN) * TURN;
const MORE = Math.max(1, Math.round(envNumber('BENCH_CHECKPOINT_MORE', HOLDS / 10, HOLDS / 10) / TURN)) * TURN;
const RUNS = Math.round(envNumber('BENCH_CHECKPOINT_RUNS', 3, 1));
const STOCK = 1_000_000_000;
/** The largest page the configuration allows: a SKU below it is checkpointed whole. */
const WHOLE_PAGE_ENTRIES = 1_048_576;

type Form = 'default' | 'paged' | 'whole';
const FORMS: readonly Form[] = ['default', 'paged', 'whole'];

interface Written {
  checkpointTurnMs: number;
  checkpointBytes: number;
  /** A turn of the same size without a checkpoint, for comparison: the median of the turns. */
  plainTurnMs: number;
  /** The longest of the other turns: in the default form, those that checkpointed the SKU on its own. */
  longestTurnMs: number;
  skuCheckpoints: number;
  /** The longest checkpoint of any kind, as the shard times it (stockade_shard_checkpoint_seconds). */
  longestCheckpointMs: number;
  /** The next checkpoint, MORE holds later: the shard's stall, and until it is on disk. */
  nextCheckpointMs: number;
  nextDurableMs: number;
  nextCheckpointBytes: number;
}

interface Restored {
  restoreMs: number;
  openReservations: number;
  heapUsedBytes: number;
}

function options(dataDir: string, form: Form) {
  if (form === 'whole' && HOLDS + MORE >= WHOLE_PAGE_ENTRIES) throw new Error(`a SKU of ${HOLDS + MORE} holds cannot be checkpointed whole (pages hold at most ${WHOLE_PAGE_ENTRIES})`);
  const limits = { quantityMax: STOCK, reservationsPerSkuMax: 50_000_000, idempotencyKeysPerSkuMax: 50_000_000, reservationsPerCustomerMax: 50_000_000 };
  // The stock turn and HOLDS / TURN reserve turns: the checkpoint comes at the end of the last one.
  const shard = {
    checkpointWalRecordsMax: HOLDS / TURN + 1,
    ...(form === 'whole' ? { checkpointPageEntries: WHOLE_PAGE_ENTRIES } : {}),
    ...(form === 'paged' ? { checkpointSkuPagesMax: WHOLE_PAGE_ENTRIES } : {}),
  };
  const config = buildConfig({ shards: 1, limits, shard });
  return { shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false };
}

// ---- children --------------------------------------------------------------------------------

async function write(dataDir: string, form: Form): Promise<Written> {
  // Bytes each checkpoint hands LMDB: the SKU's snapshot (its header, when paged) and its pages.
  let checkpointBytes = 0;
  const encodeSnapshot = RecordCodec.prototype.encodeSnapshot;
  RecordCodec.prototype.encodeSnapshot = function (snapshot) {
    const bytes = encodeSnapshot.call(this, snapshot);
    checkpointBytes += bytes.length;
    return bytes;
  };
  // Every checkpoint's snapshots and pages pass here: the shard's, and the SKU's on its own.
  const writeSnapshots = ShardStore.prototype.writeSnapshots;
  ShardStore.prototype.writeSnapshots = function (snapshots, pageWrites) {
    for (const { block } of pageWrites) checkpointBytes += block?.length ?? 0;
    writeSnapshots.call(this, snapshots, pageWrites);
  };
  const { shard } = Shard.open(options(dataDir, form));
  let longestCheckpointMs = 0;
  shard.onCheckpoint = (ms) => (longestCheckpointMs = Math.max(longestCheckpointMs, ms));
  const stocked = await shard.execute([{ type: 'setStock', sku: 'hot', location: 'dc-1', onHand: STOCK, eventId: 'stock-1' }]);
  if (!stocked[0].ok) throw new Error(`setStock failed: ${JSON.stringify(stocked[0].error)}`);
  let n = 0;
  const placeTurn = async () => {
    const commands: Command[] = [];
    for (let i = 0; i < TURN; i++, n++) {
      commands.push({ type: 'reserve', sku: 'hot', idempotencyKey: `reserve-${n}`, orderId: `order-${n}`, customerId: `customer-${n}`, channel: 'web', quantity: 1 });
    }
    const t0 = performance.now();
    for (const reply of await shard.execute(commands)) if (!reply.ok) throw new Error(`reserve failed: ${JSON.stringify(reply.error)}`);
    return performance.now() - t0;
  };
  const turnMs: number[] = [];
  for (let t = 0; t < HOLDS / TURN - 1; t++) turnMs.push(await placeTurn());
  // The bytes of the last turn's checkpoints only (the SKU's own ones before it are not "first").
  checkpointBytes = 0;
  turnMs.push(await placeTurn());
  if (shard.stats().checkpoints !== 1) throw new Error(`expected one checkpoint, at the last turn; saw ${shard.stats().checkpoints}`);
  const firstBytes = checkpointBytes;
  const checkpointTurnMs = turnMs.pop()!;
  for (let t = 0; t < MORE / TURN; t++) turnMs.push(await placeTurn());
  if (shard.stats().checkpoints !== 1) throw new Error(`expected no checkpoint among the ${MORE} holds more; saw ${shard.stats().checkpoints - 1}`);
  checkpointBytes = 0;
  const t0 = performance.now();
  shard.checkpointIfDirty();
  const nextCheckpointMs = performance.now() - t0;
  // A turn with nothing to write answers once every earlier write, the checkpoint's, is on disk.
  await shard.execute([]);
  const nextDurableMs = performance.now() - t0;
  // In the default form the last turn may have just checkpointed the SKU on its own: then nothing is left to write.
  if (shard.stats().checkpoints !== 2 && form !== 'default') throw new Error(`expected the next checkpoint; saw ${shard.stats().checkpoints - 1} more`);
  const { skuCheckpoints } = shard.stats();
  await shard.close();
  turnMs.sort((a, b) => a - b);
  return {
    checkpointTurnMs,
    checkpointBytes: firstBytes,
    plainTurnMs: turnMs[turnMs.length >> 1],
    longestTurnMs: turnMs[turnMs.length - 1],
    skuCheckpoints,
    longestCheckpointMs,
    nextCheckpointMs,
    nextDurableMs,
    nextCheckpointBytes: checkpointBytes,
  };
}

async function restore(dataDir: string, form: Form): Promise<Restored> {
  const t0 = performance.now();
  const { shard, recovery } = Shard.open(options(dataDir, form));
  const restoreMs = performance.now() - t0;
  if (recovery.records !== 0) throw new Error(`expected nothing to replay after the checkpoint, saw ${recovery.records} records`);
  if (recovery.openReservations !== HOLDS + MORE) throw new Error(`restored ${recovery.openReservations} open reservations, expected ${HOLDS + MORE}`);
  fullGc();
  const heapUsedBytes = process.memoryUsage().heapUsed;
  await shard.close();
  return { restoreMs, openReservations: recovery.openReservations, heapUsedBytes };
}

// ---- parent ----------------------------------------------------------------------------------

function runChild<T>(step: 'write' | 'restore', dataDir: string, form: Form): Promise<T> {
  return childResult<T>(SCRIPT, ['child', step, dataDir, form], `checkpoint child (${step}, ${form})`, ['--expose-gc']);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# A hot SKU's checkpoint and restore (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const runs: ({ form: Form; run: number } & Written & Restored)[] = [];
  for (let run = 1; run <= RUNS; run++) {
    // A different form first each run: this machine drifts from minute to minute.
    for (let f = 0; f < FORMS.length; f++) {
      const form = FORMS[(f + run - 1) % FORMS.length];
      const dataDir = makeTempDir('checkpoint');
      try {
        const written = await runChild<Written>('write', dataDir, form);
        const restored = await runChild<Restored>('restore', dataDir, form);
        runs.push({ form, run, ...written, ...restored });
      } finally {
        removeTempDir(dataDir);
      }
    }
  }
  console.log(
    markdownTable(
      ['form', 'run', 'first: MiB', 'first: turn ms', `next (+${fmt(MORE, 0)}): MiB`, 'next: stall ms', 'next: on disk ms', 'plain turn ms', 'longest other turn ms', 'SKU on its own', 'longest checkpoint ms', 'restore ms', 'heap after restore MiB'],
      runs.map((r) => [
        r.form,
        r.run,
        fmt(r.checkpointBytes / 2 ** 20, 1),
        fmt(r.checkpointTurnMs, 0),
        fmt(r.nextCheckpointBytes / 2 ** 20, 1),
        fmt(r.nextCheckpointMs, 0),
        fmt(r.nextDurableMs, 0),
        fmt(r.plainTurnMs, 1),
        fmt(r.longestTurnMs, 0),
        fmt(r.skuCheckpoints, 0),
        fmt(r.longestCheckpointMs, 0),
        fmt(r.restoreMs, 0),
        fmt(r.heapUsedBytes / 2 ** 20, 0),
      ]),
    ),
  );
  console.log(
    `\nOne hot SKU: ${fmt(HOLDS, 0)} reserves in turns of ${TURN}, the last turn also writing the SKU's first checkpoint; then ${fmt(MORE, 0)} more and the next checkpoint ` +
      `(stall: the shard's own time; on disk: until LMDB flushed it). Restored: ${fmt(HOLDS + MORE, 0)} open holds. ` +
      'default: in pages, and on its own every 4 pages changed; paged: in pages, in the shard\'s checkpoints only; whole: every checkpoint rewrites the whole SKU.',
  );
  const path = writeResult('checkpoint', { turn: TURN, holds: HOLDS, more: MORE, runs });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') {
  const form = process.argv[5] as Form;
  const result = process.argv[3] === 'write' ? await write(process.argv[4], form) : await restore(process.argv[4], form);
  reportResult(result);
} else {
  await main();
}
