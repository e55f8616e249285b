// A reservation's audit trail is found from its latest event: each change event links to the one
// before it, an open reservation's latest event is kept in memory (and in its snapshot), and only
// an ending writes a history index entry. These tests read trails across turns, restarts with and
// without a checkpoint, data written before links existed, and a damaged link.

import { afterEach, describe, expect, it } from 'vitest';
import { Shard } from '../src/actors/shard.js';
import type { HistoryEntry, Reservation, ReservationView, SkuEvent } from '../src/actors/types.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { loggedRecordBefore } from './fixtures/wal-before-layout.js';
import { heldReservation } from './fixtures/held-reservation.js';
import { openTestShard, removeTempDirs, reserve, setStock, tempDir, type TestShard } from './helpers.js';

afterEach(() => removeTempDirs());

const trail = (history: HistoryEntry[]) => history.map((h) => [h.event, h.reservation.state, h.reservation.quantity]);

/** Waiting (turn 1), activated by a restock (turn 2), bumped by a low count (turn 3): open, three events. */
async function reservationAcrossTurns(t: TestShard): Promise<string> {
  await t.ok(setStock('S', 'w', 0));
  const placed = await t.ok<ReservationView>(reserve('S', 2, { queueIfShort: true }));
  await t.ok(setStock('S', 'w', 5));
  await t.ok(setStock('S', 'w', 1));
  return placed.reservationId;
}

const OPEN_TRAIL = [
  ['ReservationPlaced', 'PENDING', 0],
  ['ReservationActivated', 'ACTIVE', 2],
  ['ReservationBumped', 'PENDING', 0],
];

/** The history index entries a closed shard's store holds for each reservation. */
async function indexEntries(t: TestShard, ids: string[]): Promise<number[]> {
  const store = ShardStore.open(Shard.directoryOf(t.dataDir, 0));
  try {
    return ids.map((id) => store.historyIndexOf(id).length);
  } finally {
    await store.close();
  }
}

describe('reservation history from linked events', () => {
  it('reads an open reservation\'s trail across turns, after a crash (replay) and after a checkpoint (snapshot)', async () => {
    const t = openTestShard();
    const id = await reservationAcrossTurns(t);
    const history = () => t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: id });
    expect(trail(await history())).toEqual(OPEN_TRAIL);
    await t.reopen({ clean: false });
    expect(trail(await history())).toEqual(OPEN_TRAIL);
    await t.reopen({ clean: true });
    expect(trail(await history())).toEqual(OPEN_TRAIL);
    // The next event links back to the position the snapshot restored.
    await t.ok(setStock('S', 'w', 5));
    await t.ok({ type: 'commit', reservationId: id });
    await t.reopen({ clean: true });
    expect(trail(await history())).toEqual([...OPEN_TRAIL, ['ReservationActivated', 'ACTIVE', 2], ['ReservationCommitted', 'COMMITTED', 2]]);
  });

  it('writes a history index entry only when a reservation ends', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const open = await t.ok<ReservationView>(reserve('S', 1));
    const released = await t.ok<ReservationView>(reserve('S', 1));
    await t.ok({ type: 'release', reservationId: released.reservationId });
    await t.shard.close();
    expect(await indexEntries(t, [open.reservationId, released.reservationId])).toEqual([0, 1]);
    await t.reopen();
    expect(await t.ok<ReservationView>({ type: 'getReservation', reservationId: released.reservationId })).toMatchObject({ state: 'RELEASED' });
    expect(trail(await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: open.reservationId }))).toEqual([
      ['ReservationPlaced', 'ACTIVE', 1],
    ]);
  });

  it('answers a retried reserve from the WAL while its reservation is still open, after a checkpoint', async () => {
    // After a crash (position rebuilt by replay): domain.test.ts, "keeps idempotency across a
    // restart without a clean shutdown". Here the position comes from the snapshot.
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 3);
    const first = await t.ok<ReservationView>(command);
    expect((await t.shard.execute([reserve('S', 1)]))[0].ok).toBe(true);
    await t.reopen({ clean: true });
    expect(await t.run(command)).toEqual({ ok: true, value: first, replayed: true });
  });

  it('reads trails written before links: an index entry for every event, events without a link', async () => {
    const store = ShardStore.open(tempDir());
    const placed: SkuEvent = { type: 'ReservationPlaced', sku: 'S', at: 1, reservation: reservationS1() };
    const committed: SkuEvent = { type: 'ReservationCommitted', sku: 'S', at: 2, reservationId: 'S:1' };
    const other: SkuEvent = { type: 'StockAdjusted', sku: 'S', at: 2, location: 'w', delta: 1, eventId: 'e' };
    // Written then as one msgpackr value per record, which the codec's generic encode still makes.
    store.appendTurn(1, store.codec.encode(loggedRecordBefore({ seq: 1, at: 1, events: [placed] })), ['S:1'], [0]);
    store.appendTurn(2, store.codec.encode(loggedRecordBefore({ seq: 2, at: 2, events: [other, committed] })), ['S:1'], [1]);
    await store.whenFlushed();
    expect(store.eventsOf('S:1', null).map(({ seq, event }) => [seq, event.type])).toEqual([
      [1, 'ReservationPlaced'],
      [2, 'ReservationCommitted'],
    ]);
    await store.close();
  });

  it('answers INTERNAL for a damaged trail, to that command only, and leaves the shard running', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 1));
    await t.ok({ type: 'release', reservationId: r.reservationId });
    await t.shard.close();
    // A later record and an index entry that claims its only event (a stock change) ended the reservation.
    const store = ShardStore.open(Shard.directoryOf(t.dataDir, 0));
    const seq = store.lastSeq() + 1;
    const stockChange: SkuEvent = { type: 'StockAdjusted', sku: 'S', at: t.clock.now, location: 'w', delta: 1, eventId: 'damage-1' };
    store.appendTurn(seq, store.codec.encodeRecord({ seq, at: t.clock.now, events: [stockChange] }), [r.reservationId], [0]);
    await store.close();
    await t.reopen();
    const [damaged, fine] = await t.shard.execute([{ type: 'getReservation', reservationId: r.reservationId }, { type: 'getSku', sku: 'S' }]);
    expect(damaged).toMatchObject({ ok: false, error: { code: 'INTERNAL', details: { reservationId: r.reservationId } } });
    expect((damaged as { error: { message: string } }).error.message).toMatch(/is not an event of reservation S:1/);
    expect(fine).toMatchObject({ ok: true, value: { onHand: 11 } });
  });

  it('reports a link that points at another reservation\'s event instead of returning a wrong trail', async () => {
    const store = ShardStore.open(tempDir());
    const placed: SkuEvent = { type: 'StockAdjusted', sku: 'S', at: 1, location: 'w', delta: 1, eventId: 'e' };
    const released = { type: 'ReservationReleased', sku: 'S', at: 2, reservationId: 'S:1', prevSeq: 1, prevIndex: 0 } as SkuEvent;
    store.appendTurn(1, store.codec.encodeRecord({ seq: 1, at: 1, events: [placed] }), [], []);
    store.appendTurn(2, store.codec.encodeRecord({ seq: 2, at: 2, events: [released] }), ['S:1'], [0]);
    await store.whenFlushed();
    expect(() => store.eventsOf('S:1', null)).toThrow(/WAL record 1 event 0 is not an event of reservation S:1/);
    await store.close();
  });
});

function reservationS1(): Reservation {
  return heldReservation('S', 1, 1, { orderId: 'o-1', customerId: 'c-1', idempotencyKey: 'k-1', allocations: [{ location: 'w', quantity: 1 }] });
}
