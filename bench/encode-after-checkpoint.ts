// WAL encoding speed before and after a shard checkpoints one hot SKU with many open reservations
// (a snapshot of tens of megabytes), with the codec's arenas (as shipped) and with msgpackr
// managing its own buffer (the codec before ed827c0).
//
// Why: with msgpackr's own buffer, encoding one multi-megabyte value left V8's element stores in
// msgpackr's `pack` megamorphic (`node --log-ic`: "same map added twice") for the rest of the
// thread, and every later WAL record cost several times more to encode. A shard that checkpoints a
// hot SKU mid-sale would stay that slow until restarted. Since fbac64e WAL records have their own
// layout (src/persistence/wal-record.ts) and a reserve no longer goes through msgpackr at all;
// this script shows that too (the variants now differ only in snapshots and notices).
//
// Each variant runs in its own child process (IC state is per process): one in-process Shard
// (timers off), one hot SKU, sequential turns of 256 reserves; `checkpointWalRecordsMax` makes the
// shard checkpoint at the end of the one turn between the two measured phases. Measured per phase:
// time inside the WAL record writer per event (each `add` and the record's `finish`, timed one by
// one, so ~0.05 µs of the figure is the timer itself), and reserves per second.
//
//   npm run bench:encode   (compiled first)
//   BENCH_QUICK=1            smoke run (fewer turns)
//   BENCH_TURNS_BEFORE, BENCH_TURNS_AFTER   turns in each measured phase (600 and 200; quick 200 and 100)

import { fileURLToPath } from 'node:url';
import { Shard } from '../src/actors/shard.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec } from '../src/persistence/codec.js';
import { WalRecordWriter } from '../src/persistence/wal-record.js';
import { childResult, envNumber, fmt, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, reportResult, writeResult } from './common.js';

const SCRIPT = fileURLToPath(import.meta.url);
const TURN = 256;
const BEFORE_TURNS = Math.round(envNumber('BENCH_TURNS_BEFORE', 600, 200));
const AFTER_TURNS = Math.round(envNumber('BENCH_TURNS_AFTER', 200, 100));
const STOCK = 1_000_000_000;
const VARIANTS = ['arenas', 'msgpackr-buffer'] as const;
type Variant = (typeof VARIANTS)[number];

interface Phase {
  encodeMicrosPerEvent: number;
  reservesPerSecond: number;
}

interface Measurement {
  variant: Variant;
  before: Phase;
  /** The turn that also wrote the checkpoint. */
  checkpointTurnMs: number;
  snapshotBytes: number;
  after: Phase;
  openReservations: number;
}

// ---- child: one variant ----------------------------------------------------------------------

/**
 * The codec as it was before ed827c0: every msgpackr value (snapshots, notices, the WAL events the
 * record layout has no kind for) packed into msgpackr's own shared buffer.
 */
function useMsgpackrBuffer(): void {
  type Packing = { packr: { pack(value: unknown): Buffer } };
  // The one place the codec hands msgpackr a value (private, hence the cast).
  const proto = RecordCodec.prototype as unknown as Record<'packWithRoom', (this: Packing, value: unknown) => Buffer>;
  proto.packWithRoom = function (this: Packing, value: unknown) {
    return this.packr.pack(value);
  };
}

async function measure(variant: Variant): Promise<void> {
  if (variant === 'msgpackr-buffer') useMsgpackrBuffer();
  let encodeMs = 0;
  let encodedEvents = 0;
  const add = WalRecordWriter.prototype.add;
  WalRecordWriter.prototype.add = function (event, prevSeq, prevIndex) {
    const t0 = performance.now();
    add.call(this, event, prevSeq, prevIndex);
    encodeMs += performance.now() - t0;
    encodedEvents++;
  };
  const finish = WalRecordWriter.prototype.finish;
  WalRecordWriter.prototype.finish = function () {
    const t0 = performance.now();
    const bytes = finish.call(this);
    encodeMs += performance.now() - t0;
    return bytes;
  };
  let snapshotBytes = 0;
  const encodeSnapshot = RecordCodec.prototype.encodeSnapshot;
  RecordCodec.prototype.encodeSnapshot = function (snapshot) {
    const bytes = encodeSnapshot.call(this, snapshot);
    snapshotBytes += bytes.length;
    return bytes;
  };

  const dataDir = makeTempDir('encode');
  const limits = { quantityMax: STOCK, reservationsPerSkuMax: 50_000_000, idempotencyKeysPerSkuMax: 50_000_000 };
  // The stock turn, the "before" turns and one more: the checkpoint comes at the end of that one.
  const config = buildConfig({ shards: 1, limits, shard: { checkpointWalRecordsMax: BEFORE_TURNS + 2 } });
  const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false });
  const stocked = await shard.execute([{ type: 'setStock', sku: 'hot', location: 'dc-1', onHand: STOCK, eventId: 'stock-1' }]);
  if (!stocked[0].ok) throw new Error(`setStock failed: ${JSON.stringify(stocked[0].error)}`);

  let n = 0;
  const turns = async (count: number): Promise<Phase> => {
    encodeMs = 0;
    encodedEvents = 0;
    const t0 = performance.now();
    for (let t = 0; t < count; t++) {
      const commands: Command[] = [];
      for (let i = 0; i < TURN; i++, n++) {
        commands.push({ type: 'reserve', sku: 'hot', idempotencyKey: `reserve-${n}`, orderId: `order-${n}`, customerId: `customer-${n}`, channel: 'web', quantity: 1 });
      }
      for (const reply of await shard.execute(commands)) if (!reply.ok) throw new Error(`reserve failed: ${JSON.stringify(reply.error)}`);
    }
    return { encodeMicrosPerEvent: (encodeMs * 1000) / encodedEvents, reservesPerSecond: (count * TURN) / ((performance.now() - t0) / 1000) };
  };

  const before = await turns(BEFORE_TURNS);
  if (shard.stats().checkpoints !== 0) throw new Error('the shard checkpointed before the checkpoint turn');
  const checkpointStart = performance.now();
  await turns(1);
  const checkpointTurnMs = performance.now() - checkpointStart;
  if (shard.stats().checkpoints !== 1) throw new Error(`expected one checkpoint at the checkpoint turn, saw ${shard.stats().checkpoints}`);
  const after = await turns(AFTER_TURNS);
  const result: Measurement = { variant, before, checkpointTurnMs, snapshotBytes, after, openReservations: n };
  reportResult(result);
  await shard.close();
  removeTempDir(dataDir);
}

// ---- parent ----------------------------------------------------------------------------------

function runChild(variant: Variant): Promise<Measurement> {
  return childResult<Measurement>(SCRIPT, ['child', variant], `encode child (${variant})`);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# WAL encoding after a big checkpoint (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const results: Measurement[] = [];
  // Interleaved, twice each: this machine's spread is larger than a single pair can show.
  for (let round = 0; round < 2; round++) for (const variant of VARIANTS) results.push(await runChild(variant));
  console.log(
    markdownTable(
      ['codec buffers', 'encode µs/event before', 'reserves/s before', 'snapshot MiB', 'checkpoint turn ms', 'encode µs/event after', 'reserves/s after'],
      results.map((m) => [
        m.variant === 'arenas' ? 'arenas (as shipped)' : "msgpackr's own buffer",
        fmt(m.before.encodeMicrosPerEvent, 2),
        fmt(m.before.reservesPerSecond, 0),
        fmt(m.snapshotBytes / 2 ** 20, 1),
        fmt(m.checkpointTurnMs, 0),
        fmt(m.after.encodeMicrosPerEvent, 2),
        fmt(m.after.reservesPerSecond, 0),
      ]),
    ),
  );
  console.log(`\nOne hot SKU, turns of ${TURN} reserves one at a time; ${BEFORE_TURNS} turns before the checkpoint turn, ${AFTER_TURNS} after.`);
  const path = writeResult('encode-after-checkpoint', { turn: TURN, beforeTurns: BEFORE_TURNS, afterTurns: AFTER_TURNS, results });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') await measure(process.argv[3] as Variant);
else await main();
