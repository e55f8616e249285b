// Heap bytes per idle SKU: N SKUs, each created by one setStock at one location, held by one
// in-process Shard (timers off). Target: ≤ 1024 bytes per idle SKU.
//
// And bytes per open hold: one hot SKU takes N reserves of one unit (each with its own
// idempotency key, order and customer, as in a flash sale) that all stay open. What a hold costs
// is what a hot SKU's shard keeps: the heap, which its collections mark and copy, plus array
// buffers outside it (the growing index's slots, growing-index.ts), which they do not.
//
// Each size runs in a fresh child process started with --expose-gc, so sizes do not share a heap
// and the script works however it is started:
//   npm run bench:memory   (compiled first, as published)
//   npx tsx bench/memory.ts, node --expose-gc --import tsx bench/memory.ts
//   BENCH_QUICK=1 (100k only); BENCH_MEMORY_SIZES=100000,1000000; BENCH_MEMORY_HOLDS=200000
//   (open holds; quick 50000); BENCH_DIR as elsewhere.
//
// Measured: heapUsed after a full GC with the SKUs loaded, minus heapUsed after a full GC with
// the shard open and empty, over N. That covers the shard's SKU map and every SKU's state,
// including its strings: SKU id, location name and stock event id are distinct strings per SKU,
// as they are when commands arrive over the wire. checkpointWalRecordsMax is 1, so each turn
// checkpoints what it changed and the shard ends idle (nothing dirty), as it would be once the
// periodic checkpoint has run.

import { fileURLToPath } from 'node:url';
import { Shard } from '../src/actors/shard.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { childResult, envNumber, fmt, fullGc, machineInfo, machineLine, makeTempDir, markdownTable, QUICK, removeTempDir, reportResult, skuName, writeResult } from './common.js';

const TARGET_BYTES = 1024;
const BATCH = 4096;
const SCRIPT = fileURLToPath(import.meta.url);

function sizes(): number[] {
  const raw = process.env.BENCH_MEMORY_SIZES;
  if (raw) return raw.split(',').map((s) => Number(s.trim()));
  return QUICK ? [100_000] : [100_000, 1_000_000];
}

interface Measurement {
  skus: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  bytesPerSku: number;
  rssDeltaBytes: number;
  externalDeltaBytes: number;
  loadSeconds: number;
  checkpoints: number;
  dirtyAtEnd: boolean;
}

// ---- children ----------------------------------------------------------------------------------

/**
 * Run commandFor(0 … n−1) on the shard in batches of BATCH, every answer required to succeed,
 * between two full collections: the heap before and after, and how long the load took.
 */
async function loadBetweenCollections(
  shard: Shard,
  n: number,
  what: string,
  commandFor: (j: number) => Command,
): Promise<{ before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage; loadSeconds: number }> {
  fullGc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const commands: Command[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) commands.push(commandFor(j));
    const replies = await shard.execute(commands);
    for (const r of replies) if (!r.ok) throw new Error(`${what} failed: ${JSON.stringify(r.error)}`);
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  fullGc();
  return { before, after: process.memoryUsage(), loadSeconds };
}

// One size of idle SKUs.

async function measure(n: number): Promise<void> {
  const dataDir = makeTempDir('memory');
  const config = buildConfig({ shards: 1, shard: { checkpointWalRecordsMax: 1 } });
  const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false });
  const { before, after, loadSeconds } = await loadBetweenCollections(shard, n, 'setStock', (j) => {
    const sku = skuName(j);
    // Template literals with a runtime part: a fresh string per SKU, never a shared literal.
    return { type: 'setStock', sku, location: `dc-${(j % 1) + 1}`, onHand: 100 + (j % 50), eventId: `${sku}-stock-1` };
  });
  const stats = shard.stats();
  if (stats.skus !== n) throw new Error(`shard holds ${stats.skus} SKUs, expected ${n}`);
  const result: Measurement = {
    skus: n,
    heapBeforeBytes: before.heapUsed,
    heapAfterBytes: after.heapUsed,
    bytesPerSku: (after.heapUsed - before.heapUsed) / n,
    rssDeltaBytes: after.rss - before.rss,
    externalDeltaBytes: after.external + after.arrayBuffers - (before.external + before.arrayBuffers),
    loadSeconds,
    checkpoints: stats.checkpoints,
    // The last turn checkpointed: its commands are covered, so nothing is waiting to be snapshotted.
    dirtyAtEnd: stats.lastCheckpointSeq !== stats.walSeq,
  };
  reportResult(result);
  // The shard stays referenced until here, so the GC above could not collect it.
  await shard.close();
  removeTempDir(dataDir);
}

interface HoldMeasurement {
  holds: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  /** Array buffers' bytes, loaded minus before. */
  arrayBuffersDeltaBytes: number;
  /** Heap and array buffers, loaded minus before, over the holds. */
  bytesPerHold: number;
  loadSeconds: number;
}

const HOT_SKU = 'hot-sku';

async function measureHolds(n: number): Promise<void> {
  const dataDir = makeTempDir('memory-holds');
  // Raised caps, as bench:shard raises them: the point is n holds on one SKU.
  const config = buildConfig({ shards: 1, limits: { reservationsPerSkuMax: n, idempotencyKeysPerSkuMax: n } });
  if (n > config.limits.quantityMax) throw new Error(`at most ${config.limits.quantityMax} holds of one unit fit one location`);
  const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false });
  const [stocked] = await shard.execute([{ type: 'setStock', sku: HOT_SKU, location: 'dc-1', onHand: config.limits.quantityMax, eventId: 'hot-stock-1' }]);
  if (!stocked.ok) throw new Error(`setStock failed: ${JSON.stringify(stocked.error)}`);
  // The channel as a command brings it: its own copy of the string (a decoder's, or a thread crossing's).
  const { before, after, loadSeconds } = await loadBetweenCollections(shard, n, 'reserve', (j) => ({
    type: 'reserve',
    sku: HOT_SKU,
    idempotencyKey: `hold-key-${j}`,
    orderId: `order-${j}`,
    customerId: `customer-${j}`,
    channel: Buffer.from('web').toString(),
    quantity: 1,
  }));
  const result: HoldMeasurement = {
    holds: n,
    heapBeforeBytes: before.heapUsed,
    heapAfterBytes: after.heapUsed,
    arrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
    bytesPerHold: (after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)) / n,
    loadSeconds,
  };
  reportResult(result);
  await shard.close();
  removeTempDir(dataDir);
}

// ---- parent ----------------------------------------------------------------------------------

function runChild(n: number): Promise<Measurement> {
  return childResult<Measurement>(SCRIPT, ['child', String(n)], `memory child for ${n} SKUs`, ['--expose-gc']);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# memory (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const results: Measurement[] = [];
  for (const n of sizes()) {
    const m = await runChild(n);
    console.error(`  ${fmt(n)} SKUs: ${fmt(m.bytesPerSku, 0)} bytes/SKU (loaded in ${fmt(m.loadSeconds, 1)} s)`);
    results.push(m);
  }
  const holds = Math.round(envNumber('BENCH_MEMORY_HOLDS', 200_000, 50_000));
  const h = await childResult<HoldMeasurement>(SCRIPT, ['holds', String(holds)], `memory child for ${holds} holds`, ['--expose-gc']);
  console.error(`  ${fmt(holds)} open holds: ${fmt(h.bytesPerHold, 0)} bytes/hold`);
  const MiB = (b: number) => fmt(b / 2 ** 20, 1);
  console.log(
    markdownTable(
      ['idle SKUs', 'heap before MiB', 'heap after MiB', 'bytes / idle SKU', `≤ ${TARGET_BYTES}?`, 'RSS delta MiB', 'load s', 'checkpoints'],
      results.map((m) => [
        m.skus,
        MiB(m.heapBeforeBytes),
        MiB(m.heapAfterBytes),
        fmt(m.bytesPerSku, 0),
        m.bytesPerSku <= TARGET_BYTES ? 'yes' : 'NO',
        MiB(m.rssDeltaBytes),
        fmt(m.loadSeconds, 1),
        m.checkpoints,
      ]),
    ),
  );
  console.log('\nheapUsed after full GC (global.gc twice), loaded minus empty shard, over the SKU count. One setStock per SKU, one location.\n');
  console.log(
    markdownTable(
      ['open holds on one SKU', 'heap before MiB', 'heap after MiB', 'array buffers delta MiB', 'bytes / open hold', 'load s'],
      [[h.holds, MiB(h.heapBeforeBytes), MiB(h.heapAfterBytes), MiB(h.arrayBuffersDeltaBytes), fmt(h.bytesPerHold, 0), fmt(h.loadSeconds, 1)]],
    ),
  );
  console.log('\nReserves of one unit on one SKU, all left open; heapUsed plus arrayBuffers after full GC, minus before the first reserve, over the holds.');
  const path = writeResult('memory', { targetBytesPerSku: TARGET_BYTES, results, openHolds: h });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') await measure(Number(process.argv[3]));
else if (process.argv[2] === 'holds') await measureHolds(Number(process.argv[3]));
else await main();
