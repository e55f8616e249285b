// Replies wait for the WAL flush. A SIGKILL test cannot show this (the page cache survives a
// killed process, and LMDB commits within microseconds), so the flush is held here by hand and
// the test proves that no reply, not even a read, leaves before it.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DemandEvent } from '../src/actors/messages.js';
import type { Reply, ReservationView } from '../src/actors/types.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { openTestShard, removeTempDirs, reserve, setStock } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeTempDirs();
});

/** Let the event loop run a number of full turns (timers, I/O, immediates) without waiting on time. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('durability ordering', () => {
  it('answers a reserve, and a read that follows it, only after the turn is flushed to disk', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 5));

    let releaseFlush!: () => void;
    const realFlush = ShardStore.prototype.whenFlushed;
    vi.spyOn(ShardStore.prototype, 'whenFlushed').mockImplementation(function (this: ShardStore) {
      const flushed = realFlush.call(this);
      return new Promise<void>((resolve) => {
        releaseFlush = () => void flushed.then(resolve);
      });
    });

    let reserveAnswered = false;
    let readAnswered = false;
    const reserving = t.shard.execute([reserve('S', 2)]).then((r) => ((reserveAnswered = true), r));
    const reading = t.shard.execute([{ type: 'getSku', sku: 'S' }]).then((r) => ((readAnswered = true), r));
    await turns(50);
    expect(reserveAnswered).toBe(false);
    expect(readAnswered).toBe(false);

    releaseFlush();
    const [[reserved], [read]] = await Promise.all([reserving, reading]);
    expect(reserved).toMatchObject({ ok: true, value: { state: 'ACTIVE' } });
    expect(read).toMatchObject({ ok: true, value: { reserved: 2 } });
  });

  it('groups every command of a turn into one WAL record (group commit)', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1000));
    const before = t.shard.stats().walSeq;
    const replies = await t.shard.execute(Array.from({ length: 100 }, () => reserve('S', 1)));
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(t.shard.stats().walSeq).toBe(before + 1);
  });

  it('holds batches that arrive while unflushedTurnsMax turns are on their way to disk, then runs them as one turn', async () => {
    const t = openTestShard({ shard: { unflushedTurnsMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    const before = t.shard.stats().walSeq;

    // Hold every flush until released, in order.
    const held: (() => void)[] = [];
    const realFlush = ShardStore.prototype.whenFlushed;
    vi.spyOn(ShardStore.prototype, 'whenFlushed').mockImplementation(function (this: ShardStore) {
      const flushed = realFlush.call(this);
      return new Promise<void>((resolve) => held.push(() => void flushed.then(resolve)));
    });

    const first = t.shard.execute([reserve('S', 1)]);
    // The disk is busy with the first turn: these three wait, and must not be decided yet.
    const waiting = [t.shard.execute([reserve('S', 2)]), t.shard.execute([{ type: 'getSku', sku: 'S' }]), t.shard.execute([reserve('S', 3)])];
    await turns(20);
    expect(t.shard.stats().walSeq).toBe(before + 1);
    expect(held).toHaveLength(1);

    held.shift()!();
    expect(await first).toMatchObject([{ ok: true, value: { quantity: 1 } }]);
    // The flush landed: the three waiting batches ran as one turn, one WAL record, one flush.
    await turns(20);
    expect(t.shard.stats().walSeq).toBe(before + 2);
    expect(held).toHaveLength(1);
    held.shift()!();
    const [second, read, third] = (await Promise.all(waiting)) as Reply[][];
    expect(second).toMatchObject([{ ok: true, value: { quantity: 2 } }]);
    // Replies keep each batch's own order; the read sees the turn's earlier reserve, not the later one.
    expect(read).toMatchObject([{ ok: true, value: { reserved: 3 } }]);
    expect(third).toMatchObject([{ ok: true, value: { quantity: 3 } }]);
  });

  it('lets the host run the waiting batches after the flushed turn has answered (scheduleWaiting)', async () => {
    const t = openTestShard({ shard: { unflushedTurnsMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    const before = t.shard.stats().walSeq;
    const scheduled: (() => void)[] = [];
    t.shard.scheduleWaiting = (run) => scheduled.push(run);

    let waitingAnswered = false;
    const first = t.shard.execute([reserve('S', 1)]);
    const waiting = t.shard.execute([reserve('S', 2)]).then((r) => ((waitingAnswered = true), r));
    // The first turn's answer comes with its flush; the waiting batch has not run yet, and runs
    // only when the host says so.
    expect(await first).toMatchObject([{ ok: true, value: { quantity: 1 } }]);
    expect(scheduled).toHaveLength(1);
    await turns(20);
    expect(t.shard.stats().walSeq).toBe(before + 1);
    expect(waitingAnswered).toBe(false);
    scheduled[0]();
    expect(t.shard.stats().walSeq).toBe(before + 2);
    expect(await waiting).toMatchObject([{ ok: true, value: { quantity: 2 } }]);
    // Running it again finds nothing waiting.
    scheduled[0]();
    expect(t.shard.stats().walSeq).toBe(before + 2);
  });

  it('runs batches a host never got to when it closes, and they reach the disk', async () => {
    const t = openTestShard({ shard: { unflushedTurnsMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    t.shard.scheduleWaiting = () => {}; // a host that never runs them
    const pending = [t.shard.execute([reserve('S', 1)]), t.shard.execute([reserve('S', 2)])];
    await t.shard.close();
    expect((await Promise.all(pending)).flat().map((r) => r.ok)).toEqual([true, true]);
    await t.reopen();
    expect(await t.ok({ type: 'getSku', sku: 'S' })).toMatchObject({ reserved: 3 });
  });

  it('closes only after the batches waiting for a flush have run and reached the disk', async () => {
    const t = openTestShard({ shard: { unflushedTurnsMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    const pending = [t.shard.execute([reserve('S', 1)]), t.shard.execute([reserve('S', 2)])];
    await t.shard.close();
    const replies = (await Promise.all(pending)).flat();
    expect(replies.map((r) => r.ok)).toEqual([true, true]);
    await t.reopen();
    expect(await t.ok({ type: 'getSku', sku: 'S' })).toMatchObject({ reserved: 3 });
  });

  it('reports a turn\'s demand as one event per SKU and kind, counting its sales and attempts', async () => {
    const t = openTestShard();
    const demand: DemandEvent[] = [];
    t.shard.onDurable = (report) => demand.push(...report.demand);
    await t.ok(setStock('A', 'w', 10));
    await t.ok(setStock('B', 'w', 10));
    const replies = await t.shard.execute([reserve('A', 1), reserve('A', 2), reserve('B', 4), reserve('A', 50), reserve('A', 3)]);
    // The refused reserve (50 > available) is demand all the same.
    expect(replies.map((r) => r.ok)).toEqual([true, true, true, false, true]);
    await turns(5);
    expect(demand).toEqual([
      { sku: 'A', kind: 'attempt', quantity: 56, count: 4, available: 4, leadTimeDays: null, at: t.clock.read() },
      { sku: 'B', kind: 'attempt', quantity: 4, count: 1, available: 6, leadTimeDays: null, at: t.clock.read() },
    ]);
  });

  it('starts each turn\'s demand afresh, and keeps a SKU\'s sales and attempts apart', async () => {
    const t = openTestShard();
    const demand: DemandEvent[] = [];
    t.shard.onDurable = (report) => demand.push(...report.demand);
    await t.ok(setStock('A', 'w', 10));
    const held = await t.ok<ReservationView>(reserve('A', 2));
    await turns(2);
    demand.length = 0;
    // One turn: a sale and an attempt of A; the next turn: another attempt, counted on its own.
    const replies = await t.shard.execute([{ type: 'commit', reservationId: held.reservationId }, reserve('A', 1)]);
    expect(replies.map((r) => r.ok)).toEqual([true, true]);
    await t.ok(reserve('A', 3));
    await turns(2);
    const at = t.clock.read();
    expect(demand).toEqual([
      { sku: 'A', kind: 'sale', quantity: 2, count: 1, available: 7, leadTimeDays: null, at },
      { sku: 'A', kind: 'attempt', quantity: 1, count: 1, available: 7, leadTimeDays: null, at },
      { sku: 'A', kind: 'attempt', quantity: 3, count: 1, available: 4, leadTimeDays: null, at },
    ]);
  });
});
