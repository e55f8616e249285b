// Paged checkpoints (src/actors/checkpoint-pages.ts, src/persistence/snapshot-pages.ts): a SKU
// with more open holds or remembered keys than a page holds is checkpointed in pages, and a
// checkpoint rewrites only the pages that changed; with enough pages changed it is checkpointed
// on its own. These tests check which pages each checkpoint writes, that recovery and replay
// --as-of skip what a SKU's own checkpoint covers, that older versions refuse a paged header, and
// that whatever the sequence of reserves, releases, commits, forgotten keys, checkpoints, crashes
// and restarts, a paged SKU restores exactly as it was.

import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openReservations } from '../src/actors/open-holds.js';
import { idempotencyAtOf, idempotencyKindOf, idempotencyReservationIdOf, type SkuState } from '../src/actors/sku.js';
import type { ReservationView } from '../src/actors/types.js';
import { Shard } from '../src/actors/shard.js';
import { availabilityAsOf } from '../src/cli/as-of.js';
import { reservationsOfBlock } from '../src/persistence/reservation-block.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { HOLD_PAGES, KEY_PAGES, type PageWrite } from '../src/persistence/snapshot-pages.js';
import { openTestShard, removeTempDirs, reserve, setStock, writeManifest, type TestShard } from './helpers.js';

afterAll(() => removeTempDirs());
afterEach(() => vi.restoreAllMocks());

const SKU = 'paged';
const TTL_MS = 10_000;

/** The page writes of every checkpoint from now on (the shard's, and a SKU's on its own), one list per checkpoint. */
function capturePageWrites(): PageWrite[][] {
  const seen: PageWrite[][] = [];
  const original = ShardStore.prototype.writeSnapshots;
  vi.spyOn(ShardStore.prototype, 'writeSnapshots').mockImplementation(function (this: ShardStore, snapshots, pageWrites) {
    seen.push([...pageWrites]);
    original.call(this, snapshots, pageWrites);
  });
  return seen;
}

/** Each write as `kind:page` (a removal as `-kind:page`), sorted. */
function described(writes: PageWrite[]): string[] {
  return writes.map(({ key: [, kind, page], block }) => `${block === null ? '-' : ''}${kind === HOLD_PAGES ? 'hold' : 'key'}:${page}`).sort();
}

/** What a SKU holds that a checkpoint must keep: its open holds and its unexpired keys. */
function contentOf(state: SkuState, now: number) {
  const holds = [...openReservations(state)].sort((a, b) => a.arrival - b.arrival).map((r) => JSON.stringify(r));
  const keys: string[] = [];
  const keep = (key: string, kind: string, reservationId: string, at: number) => {
    if (at >= now - TTL_MS) keys.push(`${key} ${kind} ${reservationId} ${at}`);
  };
  state.idemLog?.forEach(0, keep);
  state.idem?.forEach((v, key) => keep(key, idempotencyKindOf(v), idempotencyReservationIdOf(v), idempotencyAtOf(v)));
  return { holds, keys, locations: JSON.stringify(state.locations), nextReservationNo: state.nextReservationNo };
}

/** A shard whose SKUs are checkpointed on their own only when `skuPagesMax` says so (by default, never). */
function open(pageEntries: number, { checkpointEvery = 1_000_000, skuPagesMax = 1_000_000 } = {}): TestShard {
  return openTestShard({
    limits: { idempotencyTtlMs: TTL_MS },
    shard: { checkpointPageEntries: pageEntries, checkpointWalRecordsMax: checkpointEvery, checkpointSkuPagesMax: skuPagesMax },
  });
}

const MINUTE_MS = 60_000;

/**
 * A shard in pages of 2 that prunes WAL records a checkpoint covers once a minute old (keys
 * remembered as long), with the manifest replay --as-of reads.
 */
function openPruning(shard: { checkpointWalRecordsMax: number; checkpointSkuPagesMax: number }): TestShard {
  const t = openTestShard({ limits: { idempotencyTtlMs: MINUTE_MS }, shard: { checkpointPageEntries: 2, walRetentionMs: MINUTE_MS, ...shard } });
  writeManifest(t.dataDir);
  return t;
}

async function placeHolds(t: TestShard, count: number): Promise<string[]> {
  const replies = await t.shard.execute(Array.from({ length: count }, () => reserve(SKU, 1)));
  return replies.map((reply) => {
    if (!reply.ok) throw new Error(JSON.stringify(reply.error));
    return (reply.value as ReservationView).reservationId;
  });
}

describe('paged checkpoints', () => {
  it('a SKU that fits one page is checkpointed whole, and one that outgrows it in pages for good', async () => {
    const t = open(4);
    const writes = capturePageWrites();
    await t.ok(setStock(SKU, 'w', 1000));
    const ids = await placeHolds(t, 4);
    await t.reopen({ clean: true });
    expect(writes.pop()).toEqual([]);
    expect(t.shard.skus.get(SKU)!.pages).toBeNull();
    // Holds 1–5 are pages 0 (1–3) and 1 (4, 5); keys 0–4 are pages 0 (0–3) and 1 (4).
    ids.push(...(await placeHolds(t, 1)));
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['hold:0', 'hold:1', 'key:0', 'key:1']);
    expect(t.shard.skus.get(SKU)!.pages).not.toBeNull();
    // Back under one page: still paged, and the page with no hold left is removed.
    for (const reservationId of ids.slice(0, 3)) await t.ok({ type: 'release', reservationId });
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['-hold:0']);
    expect(t.shard.skus.get(SKU)!.pages).not.toBeNull();
    expect(contentOf(t.shard.skus.get(SKU)!, t.clock.now).holds).toHaveLength(2);
    await t.shard.close();
  });

  it('rewrites only the pages that changed: the new end, an ended hold\'s page, and the keys forgotten', async () => {
    const t = open(4);
    const writes = capturePageWrites();
    await t.ok(setStock(SKU, 'w', 1000));
    // 40 holds (numbers 1–40: hold pages 0–10) and 40 keys (0–39: key pages 0–9).
    const ids = await placeHolds(t, 40);
    await t.reopen({ clean: true });
    expect(writes.pop()).toHaveLength(11 + 10);
    // One more hold (number 41, page 10; key 40, page 10).
    t.clock.advance(TTL_MS / 2);
    const [late] = await placeHolds(t, 1);
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['hold:10', 'key:10']);
    // Releasing hold 2 (page 0) with a key (41, page 10): those two pages.
    await t.ok({ type: 'release', reservationId: ids[1], idempotencyKey: 'release-2' });
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['hold:0', 'key:10']);
    // The first 40 keys expire: their pages go; the holds are untouched.
    t.clock.advance(TTL_MS / 2 + 1);
    await t.ok({ type: 'release', reservationId: late });
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['-key:0', '-key:1', '-key:2', '-key:3', '-key:4', '-key:5', '-key:6', '-key:7', '-key:8', '-key:9', 'hold:10', 'key:10']);
    // Left: the late hold's key and the release's.
    const { keys, holds } = contentOf(t.shard.skus.get(SKU)!, t.clock.now);
    expect(keys.map((line) => line.split(' ')[0]).slice(1)).toEqual(['release-2']);
    expect(keys).toHaveLength(2);
    expect(holds).toHaveLength(39);
    await t.shard.close();
  });

  it('a key page whose oldest keys were forgotten is rewritten with the rest', async () => {
    const t = open(4);
    const writes = capturePageWrites();
    await t.ok(setStock(SKU, 'w', 1000));
    await placeHolds(t, 6); // keys 0–5: pages 0 and 1
    t.clock.advance(TTL_MS / 2);
    await placeHolds(t, 1); // key 6: page 1
    await t.reopen({ clean: true });
    writes.length = 0;
    // Keys 0–5 expire; key 6 stays: page 0 goes, page 1 keeps key 6 only.
    t.clock.advance(TTL_MS / 2 + 1);
    await t.ok({ type: 'adjustStock', sku: SKU, location: 'w', delta: 1, eventId: 'restock-1' });
    await t.reopen({ clean: true });
    expect(described(writes.pop()!)).toEqual(['-key:0', 'key:1']);
    expect(contentOf(t.shard.skus.get(SKU)!, t.clock.now).keys).toHaveLength(1);
    await t.shard.close();
  });

  it('a SKU with checkpointSkuPagesMax pages changed is checkpointed on its own, and recovery skips what that covers', async () => {
    const t = open(4, { skuPagesMax: 3 });
    const writes = capturePageWrites();
    await t.ok(setStock(SKU, 'w', 1000));
    // Holds 1–5, keys 0–4: past one page, so written in pages at once, in that turn.
    await placeHolds(t, 5);
    expect(t.shard.stats()).toMatchObject({ checkpoints: 0, skuCheckpoints: 1 });
    expect(described(writes.pop()!)).toEqual(['hold:0', 'hold:1', 'key:0', 'key:1']);
    // Holds 6–7 (page 1) and keys 5–6 (page 1): two pages changed, under three.
    await placeHolds(t, 2);
    expect(t.shard.stats().skuCheckpoints).toBe(1);
    // Hold 8 opens page 2 (and key 7 still page 1): three pages, checkpointed on its own.
    await placeHolds(t, 1);
    expect(t.shard.stats()).toMatchObject({ checkpoints: 0, skuCheckpoints: 2 });
    expect(described(writes.pop()!)).toEqual(['hold:1', 'hold:2', 'key:1']);
    // One more hold after it, then a crash: recovery replays from the very start of the WAL (the
    // shard never checkpointed), skipping the SKU's events up to its own checkpoint.
    await placeHolds(t, 1);
    const before = contentOf(t.shard.skus.get(SKU)!, t.clock.now);
    const opened = Shard.open({ shardId: 0, shardCount: 1, dataDir: t.dataDir, limits: t.config.limits, shard: t.config.shard, clock: t.clock.read, timers: false });
    t.shard = opened.shard;
    expect(contentOf(t.shard.skus.get(SKU)!, t.clock.now)).toEqual(before);
    expect(before.holds).toHaveLength(9);
    // Records 1–4 (stock, then 5 + 2 + 1 reserves) are in the SKU's own checkpoint; record 5 is replayed.
    expect(opened.recovery).toMatchObject({ checkpointSeq: 0, records: 5, events: 1, eventsSkipped: 9 });
    await t.shard.close();
  });

  it('a version before pages, reading a paged header as a whole snapshot, refuses it rather than restore no holds', async () => {
    const t = open(2);
    await t.ok(setStock(SKU, 'w', 1000));
    await placeHolds(t, 3);
    await t.shard.close();
    const store = ShardStore.open(Shard.directoryOf(t.dataDir, 0));
    try {
      const [header] = [...store.snapshots()];
      expect(header.paged).toEqual([2, 0, 3, 2]);
      // What such a version does with the header: read `openBlock`.
      expect(() => reservationsOfBlock(header.openBlock!, SKU)).toThrow('reservation block version 2 is not known to this version of Stockade');
    } finally {
      await store.close();
    }
  });

  it('replay --as-of rebuilds a paged SKU from its checkpoint\'s pages', async () => {
    const t = openPruning({ checkpointWalRecordsMax: 2, checkpointSkuPagesMax: 1_000_000 });
    await t.ok(setStock(SKU, 'w', 100)); // record 1
    await placeHolds(t, 5); // record 2, checkpoint: the SKU in pages
    t.clock.advance(2 * MINUTE_MS);
    await placeHolds(t, 2); // record 3
    await t.ok(setStock(SKU, 'w', 90)); // record 4, checkpoint; records 1–2 pruned
    await t.shard.close();
    const result = await availabilityAsOf({ dataDir: t.dataDir, sku: SKU, asOf: t.clock.now, limits: t.config.limits });
    expect(result.base).toMatchObject({ kind: 'checkpoint' });
    expect(result.view).toMatchObject({ onHand: 90, reserved: 7, available: 83, openReservations: 7 });
  });

  it('replay --as-of answers a SKU checkpointed on its own from that checkpoint\'s time on', async () => {
    const t = openPruning({ checkpointWalRecordsMax: 1_000_000, checkpointSkuPagesMax: 2 });
    const startedAt = t.clock.now;
    const at = (ms: number) => (t.clock.now = startedAt + ms);
    await t.ok(setStock(SKU, 'w', 100)); // record 1
    await placeHolds(t, 5); // record 2: in pages at once
    at(2 * MINUTE_MS);
    await t.ok(setStock(SKU, 'w', 95)); // record 3
    t.shard.checkpointIfDirty(); // the shard's checkpoint: record 3
    at(2 * MINUTE_MS + 1000);
    await t.ok(setStock(SKU, 'w', 94)); // record 4
    t.shard.checkpointIfDirty(); // record 4; records 1–2 pruned
    at(2 * MINUTE_MS + 2000);
    await placeHolds(t, 2); // record 5: three pages changed, the SKU checkpointed on its own
    expect(t.shard.stats()).toMatchObject({ checkpoints: 2, skuCheckpoints: 2, lastCheckpointSeq: 4 });
    // Read beside the running shard, as the command does beside a server (a clean stop would
    // move the shard's checkpoint on to record 5).
    const asOf = (ms: number) => availabilityAsOf({ dataDir: t.dataDir, sku: SKU, asOf: startedAt + ms, limits: t.config.limits });
    try {
      const result = await asOf(2 * MINUTE_MS + 2000);
      expect(result).toMatchObject({ base: { kind: 'checkpoint', seq: 4 }, recordsRead: 1, eventsApplied: 0 });
      expect(result.view).toMatchObject({ onHand: 94, reserved: 7, openReservations: 7 });
      // Between the shard's checkpoint and the SKU's own, its state is no longer kept.
      await expect(asOf(2 * MINUTE_MS + 1500)).rejects.toMatchObject({ code: 'WAL_PRUNED', details: { earliestAt: startedAt + 2 * MINUTE_MS + 2000 } });
    } finally {
      await t.shard.close();
    }
    expect(t.shard.stats()).toMatchObject({ checkpoints: 3, lastCheckpointSeq: 5 });
  });

  it('a paged SKU restores exactly as it was, through any mix of changes, checkpoints, crashes and restarts', async () => {
    type Op =
      | { op: 'reserve'; count: number }
      | { op: 'end'; pick: number; commit: boolean; keyed: boolean }
      | { op: 'advance'; ms: number }
      | { op: 'crash' }
      | { op: 'restart' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('reserve' as const), count: fc.integer({ min: 1, max: 9 }) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('end' as const), pick: fc.nat(), commit: fc.boolean(), keyed: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: TTL_MS }) }) },
      { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
      { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
    );
    let pagedRuns = 0;
    let forgettingRuns = 0;
    let crashesAfterOwnCheckpoint = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }),
        fc.constantFrom(1, 3, 8),
        fc.constantFrom(1, 2, 5, 1_000_000),
        fc.constantFrom(1, 2, 1_000_000),
        async (ops, pageEntries, checkpointEvery, skuPagesMax) => {
          const t = open(pageEntries, { checkpointEvery, skuPagesMax });
          let ended = 0;
          try {
            await t.ok(setStock(SKU, 'w', 1_000_000));
            const open: string[] = [];
            for (const step of ops) {
              if (step.op === 'reserve') open.push(...(await placeHolds(t, step.count)));
              else if (step.op === 'end' && open.length > 0) {
                const [reservationId] = open.splice(step.pick % open.length, 1);
                await t.ok({ type: step.commit ? 'commit' : 'release', reservationId, ...(step.keyed ? { idempotencyKey: `end-key-${++ended}` } : {}) });
              } else if (step.op === 'advance') t.clock.advance(step.ms);
              else if (step.op === 'crash' || step.op === 'restart') {
                const before = contentOf(t.shard.skus.get(SKU)!, t.clock.now);
                // Recovery then skips the events the SKU's own checkpoint covers.
                if (step.op === 'crash' && t.shard.stats().skuCheckpoints > 0) crashesAfterOwnCheckpoint++;
                await t.reopen({ clean: step.op === 'restart' });
                expect(contentOf(t.shard.skus.get(SKU)!, t.clock.now)).toEqual(before);
              }
            }
            const pages = t.shard.skus.get(SKU)!.pages;
            if (pages !== null) pagedRuns++;
            if (pages !== null && pages.keysFirst > 0) forgettingRuns++;
          } finally {
            await t.shard.close();
          }
        },
      ),
      { numRuns: 300 },
    );
    // The runs went through pages, not only whole snapshots, and often forgot keys on disk.
    expect(pagedRuns).toBeGreaterThan(50);
    expect(forgettingRuns).toBeGreaterThan(20);
    expect(crashesAfterOwnCheckpoint).toBeGreaterThan(20);
  }, 120_000);
});
