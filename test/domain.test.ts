// The SKU actor through an in-process shard: every command, every reservation state, and the
// rules around priority, expiry, partial and multi-location reservations. Each test's shard is
// durable (LMDB on tmpfs) and checks the full invariants after every transition.

import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry, Reply, ReservationView, SkuView, StockAppliedView } from '../src/actors/types.js';
import { key, openTestShard, removeTempDirs, reserve, setStock } from './helpers.js';

afterEach(() => removeTempDirs());

describe('stock and availability', () => {
  it('available is on hand minus reserved minus safety stock, per location and in total', async () => {
    const t = openTestShard();
    await t.ok(setStock('SKU-1', 'north', 10, { safetyStock: 2 }));
    await t.ok(setStock('SKU-1', 'south', 5));
    await t.ok(reserve('SKU-1', 3));
    const view = await t.ok<SkuView>({ type: 'getSku', sku: 'SKU-1' });
    expect(view).toMatchObject({ onHand: 15, reserved: 3, safetyStock: 2, available: 10, openReservations: 1 });
    expect(view.locations).toEqual([
      { location: 'north', onHand: 10, reserved: 3, safetyStock: 2, available: 5 },
      { location: 'south', onHand: 5, reserved: 0, safetyStock: 0, available: 5 },
    ]);
  });

  it('applies a stock event id once: a repeat is acknowledged as a duplicate and changes nothing', async () => {
    const t = openTestShard();
    await t.ok({ type: 'adjustStock', sku: 'S', location: 'w', delta: 5, eventId: 'wms-1' });
    const again = await t.ok<StockAppliedView>({ type: 'adjustStock', sku: 'S', location: 'w', delta: 5, eventId: 'wms-1' });
    expect(again).toMatchObject({ applied: false, skipped: 'DUPLICATE', onHand: 5 });
  });

  it('ignores an absolute count older than the one applied (late delivery)', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 7, { sourceSeq: 20 }));
    const late = await t.ok<StockAppliedView>(setStock('S', 'w', 99, { sourceSeq: 19 }));
    expect(late).toMatchObject({ applied: false, skipped: 'STALE', onHand: 7 });
    const newer = await t.ok<StockAppliedView>(setStock('S', 'w', 3, { sourceSeq: 21 }));
    expect(newer).toMatchObject({ applied: true, onHand: 3 });
  });

  it('refuses an adjustment below zero and leaves stock as it was', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 2));
    expect(await t.code({ type: 'adjustStock', sku: 'S', location: 'w', delta: -3, eventId: 'e-neg' })).toBe('STOCK_WOULD_BE_NEGATIVE');
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).onHand).toBe(2);
  });

  it('caps locations per SKU', async () => {
    const t = openTestShard({ limits: { locationsPerSkuMax: 2 } });
    await t.ok(setStock('S', 'a', 1));
    await t.ok(setStock('S', 'b', 1));
    expect(await t.code(setStock('S', 'c', 1))).toBe('LOCATIONS_PER_SKU_LIMIT');
  });
});

describe('reserve', () => {
  it('holds units and answers ACTIVE with its allocation', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 4, { orderId: 'o-9', customerId: 'c-9', channel: 'pos' }));
    expect(r).toMatchObject({ sku: 'S', state: 'ACTIVE', requested: 4, quantity: 4, orderId: 'o-9', customerId: 'c-9', channel: 'pos' });
    expect(r.allocations).toEqual([{ location: 'w', quantity: 4 }]);
    expect(r.expiresAt).toBe(t.clock.now + t.config.limits.holdTtlMsDefault);
  });

  it('never reserves beyond available and leaves no state behind when refused', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 3));
    const before = await t.ok<SkuView>({ type: 'getSku', sku: 'S' });
    expect(await t.code(reserve('S', 4))).toBe('INSUFFICIENT_STOCK');
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toEqual(before);
  });

  it('spans locations in the SKU location order', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'store', 2));
    await t.ok(setStock('S', 'dc', 5));
    await t.ok({ type: 'defineSku', sku: 'S', locationOrder: ['dc', 'store'] });
    const r = await t.ok<ReservationView>(reserve('S', 6));
    expect(r.allocations).toEqual([
      { location: 'dc', quantity: 5 },
      { location: 'store', quantity: 1 },
    ]);
  });

  it('keeps to the locations the caller names, in the caller order', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'a', 5));
    await t.ok(setStock('S', 'b', 5));
    const r = await t.ok<ReservationView>(reserve('S', 3, { locations: ['b'] }));
    expect(r.allocations).toEqual([{ location: 'b', quantity: 3 }]);
    expect(await t.code(reserve('S', 3, { locations: ['nowhere'] }))).toBe('UNKNOWN_LOCATION');
  });

  it('grants part of the quantity only when the caller allows partial', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 3));
    expect(await t.code(reserve('S', 5))).toBe('INSUFFICIENT_STOCK');
    const r = await t.ok<ReservationView>(reserve('S', 5, { allowPartial: true }));
    expect(r).toMatchObject({ state: 'ACTIVE', requested: 5, quantity: 3 });
  });

  it('answers a retry with the same idempotency key with the first answer and changes nothing', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 2);
    const first = await t.ok<ReservationView>(command);
    const retry = await t.ok<ReservationView>(command);
    expect(retry).toEqual(first);
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).reserved).toBe(2);
  });

  it('refuses an idempotency key reused for a different request', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 2);
    await t.ok(command);
    expect(await t.code({ ...command, quantity: 3 })).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).reserved).toBe(2);
  });

  it('keeps idempotency across a restart without a clean shutdown', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 2);
    const first = await t.ok<ReservationView>(command);
    await t.reopen({ clean: false });
    // The first answer, read from the WAL from the open reservation's position replay rebuilt.
    expect(await t.run(command)).toEqual({ ok: true, value: first, replayed: true });
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).reserved).toBe(2);
  });

  it('remembers at most idempotencyKeysPerSkuMax keys per SKU, forgetting the oldest', async () => {
    const t = openTestShard({ limits: { idempotencyKeysPerSkuMax: 2 } });
    await t.ok(setStock('S', 'w', 10));
    const first = reserve('S', 1);
    const firstAnswer = await t.ok<ReservationView>(first);
    await t.ok(reserve('S', 1));
    expect(await t.ok<ReservationView>(first)).toEqual(firstAnswer);
    await t.ok(reserve('S', 1));
    // The first key was the oldest of three: a retry now is a new request.
    expect((await t.ok<ReservationView>(first)).reservationId).not.toBe(firstAnswer.reservationId);
  });

  it('at a large idempotencyKeysPerSkuMax forgets the oldest keys a batch (1/64 of the cap) at a time', async () => {
    const t = openTestShard({ limits: { idempotencyKeysPerSkuMax: 128 } });
    await t.ok(setStock('S', 'w', 1000));
    const commands = Array.from({ length: 129 }, () => reserve('S', 1));
    const answers = await t.shard.execute(commands);
    expect(answers.every((a) => a.ok)).toBe(true);
    // The 129th key met a full map: the two oldest went; the third is still answered from memory
    // (asked first: a retry of a forgotten key is a new request, and its key joins the map).
    const idOf = (reply: Reply) => (reply.ok ? (reply.value as ReservationView).reservationId : reply.error.code);
    const [third, first, second] = await t.shard.execute([commands[2], commands[0], commands[1]]);
    expect(idOf(third)).toBe(idOf(answers[2]));
    expect(idOf(first)).not.toBe(idOf(answers[0]));
    expect(idOf(second)).not.toBe(idOf(answers[1]));
    expect([first, second].every((r) => r.ok)).toBe(true);
  });

  it('forgets keys older than idempotencyTtlMs once the SKU is checkpointed, never earlier', async () => {
    const t = openTestShard({ limits: { idempotencyTtlMs: 60_000 }, shard: { checkpointWalRecordsMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 1);
    const first = await t.ok<ReservationView>(command);
    t.clock.advance(59_999);
    await t.ok(setStock('S', 'w', 10));
    expect(await t.ok<ReservationView>(command)).toEqual(first);
    t.clock.advance(60_001);
    await t.ok(setStock('S', 'w', 10));
    expect((await t.ok<ReservationView>(command)).reservationId).not.toBe(first.reservationId);
  });

  // Recovery keeps a SKU's keys in a log and indexes them on the SKU's first live command
  // (sku.ts, indexIdempotency): the cap and the TTL must hold for keys on either side of that.
  it('keeps the newest idempotencyKeysPerSkuMax keys through a crash (replayed keys are capped as live ones are)', async () => {
    const t = openTestShard({ limits: { idempotencyKeysPerSkuMax: 2 } });
    await t.ok(setStock('S', 'w', 10));
    const commands = Array.from({ length: 5 }, () => reserve('S', 1));
    const answers: ReservationView[] = [];
    for (const command of commands) answers.push(await t.ok<ReservationView>(command));
    await t.reopen({ clean: false });
    // Held unindexed until S is asked, and bounded while replay appends: the cap plus one
    // eviction batch (1 key at this cap).
    expect(t.shard.skus.get('S')!.idemLog!.length).toBeLessThanOrEqual(3);
    // The two newest are remembered; asked first, because a retry of a forgotten key is a new
    // request whose key then takes a place.
    expect(await t.run(commands[3])).toEqual({ ok: true, value: answers[3], replayed: true });
    expect(await t.run(commands[4])).toEqual({ ok: true, value: answers[4], replayed: true });
    const third = await t.ok<ReservationView>(commands[2]);
    expect(third.reservationId).not.toBe(answers[2].reservationId);
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).reserved).toBe(6);
  });

  it('forgets replayed keys older than idempotencyTtlMs at the checkpoint after a crash, and keeps the younger ones', async () => {
    const t = openTestShard({ limits: { idempotencyTtlMs: 60_000 } });
    await t.ok(setStock('S', 'w', 10));
    const old = reserve('S', 1);
    const oldAnswer = await t.ok<ReservationView>(old);
    t.clock.advance(30_000);
    const young = reserve('S', 1);
    const youngAnswer = await t.ok<ReservationView>(young);
    t.clock.advance(30_001);
    // Replay logs both keys; the clean close checkpoints S with the old key forgotten, before
    // anything asked for S; the next start reads the keys from that snapshot.
    await t.reopen({ clean: false });
    await t.reopen({ clean: true });
    expect(await t.run(young)).toEqual({ ok: true, value: youngAnswer, replayed: true });
    expect((await t.ok<ReservationView>(old)).reservationId).not.toBe(oldAnswer.reservationId);
  });

  it('refuses reserves while the SKU is flagged out of stock, and takes them again once unflagged', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    await t.ok({ type: 'flagOutOfStock', sku: 'S', reason: 'damaged pallet', flaggedBy: 'staff-7' });
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).outOfStockFlag).toMatchObject({ reason: 'damaged pallet', flaggedBy: 'staff-7' });
    expect(await t.code(reserve('S', 1))).toBe('SKU_FLAGGED_OUT_OF_STOCK');
    await t.ok({ type: 'unflagOutOfStock', sku: 'S', unflaggedBy: 'staff-7' });
    await t.ok(reserve('S', 1));
  });

  it('caps open reservations per SKU (anti-hoarding backstop)', async () => {
    const t = openTestShard({ limits: { reservationsPerSkuMax: 2 } });
    await t.ok(setStock('S', 'w', 10));
    await t.ok(reserve('S', 1));
    await t.ok(reserve('S', 1));
    expect(await t.code(reserve('S', 1))).toBe('RESERVATIONS_PER_SKU_LIMIT');
  });
});

describe('channels and customers', () => {
  it('lets a channel see and change only its own reservations (asChannel, set by the gateway)', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 1, { channel: 'web' }));
    const id = r.reservationId;
    expect(await t.code({ type: 'release', reservationId: id, asChannel: 'pos' })).toBe('FORBIDDEN');
    expect(await t.code({ type: 'commit', reservationId: id, asChannel: 'pos' })).toBe('FORBIDDEN');
    expect(await t.code({ type: 'getReservation', reservationId: id, asChannel: 'pos' })).toBe('FORBIDDEN');
    expect(await t.code({ type: 'getReservationHistory', reservationId: id, asChannel: 'pos' })).toBe('FORBIDDEN');
    expect((await t.ok<ReservationView>({ type: 'getReservation', reservationId: id, asChannel: 'web' })).state).toBe('ACTIVE');
    await t.ok({ type: 'release', reservationId: id, asChannel: 'web' });
    // Ended reservations are read from the WAL: still only by their own channel.
    expect(await t.code({ type: 'getReservation', reservationId: id, asChannel: 'pos' })).toBe('FORBIDDEN');
  });

  it('caps open reservations per customer per SKU (anti-hoarding) and frees the slot on release', async () => {
    const t = openTestShard({ limits: { reservationsPerCustomerMax: 2 } });
    await t.ok(setStock('S', 'w', 10));
    const first = await t.ok<ReservationView>(reserve('S', 1, { customerId: 'hoarder' }));
    await t.ok(reserve('S', 1, { customerId: 'hoarder' }));
    expect(await t.code(reserve('S', 1, { customerId: 'hoarder' }))).toBe('CUSTOMER_RESERVATION_LIMIT');
    await t.ok(reserve('S', 1, { customerId: 'someone-else' }));
    await t.ok({ type: 'release', reservationId: first.reservationId });
    await t.ok(reserve('S', 1, { customerId: 'hoarder' }));
  });

  it('counts a customer again from zero once their last open reservation ended, live and after a replay', async () => {
    const t = openTestShard({ limits: { reservationsPerCustomerMax: 1 } });
    await t.ok(setStock('S', 'w', 10));
    for (const end of ['release', 'commit'] as const) {
      const held = await t.ok<ReservationView>(reserve('S', 1, { customerId: 'c-1' }));
      expect(await t.code(reserve('S', 1, { customerId: 'c-1' }))).toBe('CUSTOMER_RESERVATION_LIMIT');
      await t.ok({ type: end, reservationId: held.reservationId });
      expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ reserved: 0, openReservations: 0 });
    }
    await t.reopen({ clean: false });
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ onHand: 9, reserved: 0, openReservations: 0 });
    await t.ok(reserve('S', 1, { customerId: 'c-1' }));
    expect(await t.code(reserve('S', 1, { customerId: 'c-1' }))).toBe('CUSTOMER_RESERVATION_LIMIT');
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ reserved: 1, openReservations: 1 });
  });

  it('marks a replayed idempotent answer', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const command = reserve('S', 1);
    expect((await t.run(command)).ok && 'replayed' in (await t.shard.execute([{ type: 'getSku', sku: 'S' }]))[0]).toBe(false);
    expect(await t.run(command)).toMatchObject({ ok: true, replayed: true });
  });
});

describe('release, commit and history', () => {
  it('release returns units; a second release is refused; a retried release with its key gets the first answer', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 4));
    const releaseKey = key();
    const released = await t.ok<ReservationView>({ type: 'release', reservationId: r.reservationId, idempotencyKey: releaseKey });
    expect(released.state).toBe('RELEASED');
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).available).toBe(10);
    expect(await t.ok<ReservationView>({ type: 'release', reservationId: r.reservationId, idempotencyKey: releaseKey })).toEqual(released);
    expect(await t.code({ type: 'release', reservationId: r.reservationId })).toBe('RESERVATION_NOT_ACTIVE');
  });

  it('commit (shipped) takes the units off the shelf for good', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 4));
    expect((await t.ok<ReservationView>({ type: 'commit', reservationId: r.reservationId })).state).toBe('COMMITTED');
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ onHand: 6, reserved: 0, available: 6 });
    expect(await t.code({ type: 'commit', reservationId: r.reservationId })).toBe('RESERVATION_NOT_ACTIVE');
  });

  it('keeps every reservation history line, readable after it ended and after a restart', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 4));
    await t.ok({ type: 'release', reservationId: r.reservationId, reason: 'cart abandoned' });
    await t.reopen({ clean: false });
    const history = await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: r.reservationId });
    expect(history.map((h) => [h.event, h.reservation.state])).toEqual([
      ['ReservationPlaced', 'ACTIVE'],
      ['ReservationReleased', 'RELEASED'],
    ]);
    expect(await t.ok<ReservationView>({ type: 'getReservation', reservationId: r.reservationId })).toMatchObject({ state: 'RELEASED' });
  });

  it('reads an ended reservation correctly in the same batch that ended it', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const r = await t.ok<ReservationView>(reserve('S', 1));
    const [, read] = await t.shard.execute([
      { type: 'commit', reservationId: r.reservationId },
      { type: 'getReservation', reservationId: r.reservationId },
    ]);
    expect(read).toMatchObject({ ok: true, value: { state: 'COMMITTED' } });
  });

  it('logs a reservation as it was placed even when the same turn changes it again', async () => {
    // The SKU adopts a placed reservation and later events of the turn change it in place; the
    // WAL must still say what the placing event said (Shard.apply takes its form first).
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 0));
    const [placed, restocked] = await t.shard.execute([reserve('S', 2, { queueIfShort: true }), setStock('S', 'w', 5)]);
    expect(placed).toMatchObject({ ok: true, value: { state: 'PENDING', quantity: 0 } });
    expect(restocked.ok).toBe(true);
    const id = (placed as { value: ReservationView }).value.reservationId;
    const expected = [
      ['ReservationPlaced', 'PENDING', 0, []],
      ['ReservationActivated', 'ACTIVE', 2, [{ location: 'w', quantity: 2 }]],
    ];
    const trail = (history: HistoryEntry[]) => history.map((h) => [h.event, h.reservation.state, h.reservation.quantity, h.reservation.allocations]);
    expect(trail(await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: id }))).toEqual(expected);
    await t.reopen({ clean: false });
    expect(trail(await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: id }))).toEqual(expected);
    expect(await t.ok<ReservationView>({ type: 'getReservation', reservationId: id })).toMatchObject({ state: 'ACTIVE', quantity: 2 });
  });
});

describe('holds, waiting and priority', () => {
  it('expires a hold on time, not later: active at expiresAt - 1 ms, expired at expiresAt', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1));
    const r = await t.ok<ReservationView>(reserve('S', 1, { holdTtlMs: 5000 }));
    t.clock.advance(4999);
    expect((await t.ok<ReservationView>({ type: 'getReservation', reservationId: r.reservationId })).state).toBe('ACTIVE');
    t.clock.advance(1);
    expect((await t.ok<ReservationView>({ type: 'getReservation', reservationId: r.reservationId })).state).toBe('EXPIRED');
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).available).toBe(1);
  });

  it('gives freed units at once to waiting requests, VIP before standard, then by arrival', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1));
    const holder = await t.ok<ReservationView>(reserve('S', 1));
    const standardEarly = await t.ok<ReservationView>(reserve('S', 1, { queueIfShort: true, priority: 0 }));
    const vip = await t.ok<ReservationView>(reserve('S', 1, { queueIfShort: true, priority: 9 }));
    const standardLate = await t.ok<ReservationView>(reserve('S', 1, { queueIfShort: true, priority: 0 }));
    expect([standardEarly.state, vip.state, standardLate.state]).toEqual(['PENDING', 'PENDING', 'PENDING']);
    const state = async (id: string) => (await t.ok<ReservationView>({ type: 'getReservation', reservationId: id })).state;

    await t.ok({ type: 'release', reservationId: holder.reservationId });
    expect(await state(vip.reservationId)).toBe('ACTIVE');
    expect(await state(standardEarly.reservationId)).toBe('PENDING');

    await t.ok({ type: 'commit', reservationId: vip.reservationId });
    await t.ok({ type: 'adjustStock', sku: 'S', location: 'w', delta: 1, eventId: 'restock-1' });
    expect(await state(standardEarly.reservationId)).toBe('ACTIVE');
    expect(await state(standardLate.reservationId)).toBe('PENDING');
  });

  it('serves a waiting request from units a hold frees when it expires', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 2));
    await t.ok(reserve('S', 2, { holdTtlMs: 1000 }));
    const waiting = await t.ok<ReservationView>(reserve('S', 2, { queueIfShort: true }));
    t.clock.advance(1000);
    const now = await t.ok<ReservationView>({ type: 'getReservation', reservationId: waiting.reservationId });
    expect(now).toMatchObject({ state: 'ACTIVE', quantity: 2, expiresAt: t.clock.now + t.config.limits.holdTtlMsDefault });
  });

  it('expires a waiting request that waited its queueTtlMs', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 0));
    const waiting = await t.ok<ReservationView>(reserve('S', 1, { queueIfShort: true, queueTtlMs: 2000 }));
    t.clock.advance(2000);
    expect((await t.ok<ReservationView>({ type: 'getReservation', reservationId: waiting.reservationId })).state).toBe('EXPIRED');
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).pending).toBe(0);
  });

  it('does not let a newcomer take units ahead of a waiting request it does not outrank', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1));
    await t.ok(reserve('S', 2, { queueIfShort: true }));
    expect(await t.code(reserve('S', 1))).toBe('INSUFFICIENT_STOCK');
    expect((await t.ok<ReservationView>(reserve('S', 1, { priority: 5 }))).state).toBe('ACTIVE');
  });

  it('caps the waiting queue per SKU', async () => {
    const t = openTestShard({ limits: { pendingPerSkuMax: 1 } });
    await t.ok(setStock('S', 'w', 0));
    await t.ok(reserve('S', 1, { queueIfShort: true }));
    expect(await t.code(reserve('S', 1, { queueIfShort: true }))).toBe('PENDING_QUEUE_FULL');
  });

  it('when a warehouse count falls below what is reserved, bumps the lowest-priority latest hold back to waiting', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 3));
    const vip = await t.ok<ReservationView>(reserve('S', 1, { priority: 9 }));
    const early = await t.ok<ReservationView>(reserve('S', 1));
    const late = await t.ok<ReservationView>(reserve('S', 1));
    await t.ok(setStock('S', 'w', 2));
    const state = async (id: string) => (await t.ok<ReservationView>({ type: 'getReservation', reservationId: id })).state;
    expect([await state(vip.reservationId), await state(early.reservationId), await state(late.reservationId)]).toEqual(['ACTIVE', 'ACTIVE', 'PENDING']);
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ onHand: 2, reserved: 2, pending: 1 });
    await t.ok(setStock('S', 'w', 3));
    expect(await state(late.reservationId)).toBe('ACTIVE');
  });
});

describe('thresholds', () => {
  it('stores thresholds and changes them at runtime', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1));
    await t.ok({
      type: 'setThresholds',
      sku: 'S',
      thresholds: { minAvailable: 5, minAvailableByTimeOfDay: [{ from: '18:00', to: '22:00', minAvailable: 10 }], timeZone: 'Europe/Rome' },
    });
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).thresholds).toMatchObject({ minAvailable: 5, timeZone: 'Europe/Rome' });
    await t.ok({ type: 'setThresholds', sku: 'S', thresholds: { minAvailable: 2 } });
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).thresholds).toEqual({ minAvailable: 2 });
  });
});
