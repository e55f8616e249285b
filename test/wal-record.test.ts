// WAL records in Stockade's own layout (src/persistence/wal-record.ts): every event a turn can
// decide comes back exactly as it went in — reservation events field by field, any other event
// as a msgpackr value inside the record — links included; records written before the layout
// still read, and a shard recovers from them and goes on writing in the layout; and a damaged
// record is refused, naming what is wrong, never read as events.

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Allocation, HistoryEntry, Reservation, ReservationView, SkuEvent } from '../src/actors/types.js';
import { RecordCodec, type WalRecord } from '../src/persistence/codec.js';
import { Shard } from '../src/actors/shard.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { heldReservation } from './fixtures/held-reservation.js';
import { WAL_RECORD_MARKER } from '../src/persistence/wal-record.js';
import { loggedRecordBefore } from './fixtures/wal-before-layout.js';
import { openTestShard, removeTempDirs, reserve, setStock, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000;

afterEach(() => removeTempDirs());

const text = fc.string({ unit: 'grapheme', maxLength: 24, size: 'max' });
/** Times as the shard clock makes them, plus the values a time field holds when unset (0) and extremes. */
const time = fc.oneof(fc.integer({ min: T0 - 10_000, max: T0 + 10_000_000 }), fc.constant(0), fc.constant(8_640_000_000_000_000), fc.double({ noNaN: true, noDefaultInfinity: true }));
const count = fc.oneof(fc.nat(10), fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
/** msgpackr writes -0 as 0: the events it carries get no -0 (the domain makes none anyway). */
const noNegativeZero = (arbitrary: fc.Arbitrary<number>) => arbitrary.filter((n) => !Object.is(n, -0));
const location = fc.constantFrom('dc-1', 'store-9', 'näher-lager', 'dc-1');
const allocations: fc.Arbitrary<Allocation[]> = fc.array(fc.record({ location, quantity: count }), { maxLength: 4 });
const link = fc.record({ prevSeq: fc.nat(), prevIndex: fc.nat(5_000) });

const reservation = (sku: string): fc.Arbitrary<Reservation> =>
  fc.record({
    id: text,
    sku: fc.constant(sku),
    orderId: text,
    customerId: text,
    channel: fc.constantFrom('web', 'pos', 'marketplace', 'mobile-ü'),
    idempotencyKey: text,
    requested: count,
    quantity: count,
    allocations,
    priority: count,
    arrival: count,
    allowPartial: fc.boolean(),
    locations: fc.option(fc.array(location, { maxLength: 3 }), { nil: null }),
    holdTtlMs: count,
    state: fc.constantFrom('PENDING', 'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'),
    createdAt: time,
    activatedAt: time,
    expiresAt: time,
    endedAt: time,
    endReason: fc.option(text, { nil: null }),
    // A placed reservation is where its event is: the record does not repeat it.
    walSeq: fc.constant(0),
    walIndex: fc.constant(0),
  });

/** An event as a turn decides it, with the link the turn gives it; `idem` absent, the reservation's own key, or another. */
const event = (sku: string): fc.Arbitrary<SkuEvent> => {
  const base = { sku: fc.constant(sku), at: time };
  const withIdem = <T extends object>(arbitrary: fc.Arbitrary<T>, own?: (value: T) => string) =>
    fc.tuple(arbitrary, fc.constantFrom('none', 'own', 'other'), text).map(([value, how, key]) => {
      if (how === 'none') return value;
      return { ...value, idem: how === 'own' && own ? own(value) : key };
    });
  return fc.oneof(
    withIdem(fc.record({ type: fc.constant('ReservationPlaced' as const), ...base, reservation: reservation(sku) }), (placed) => placed.reservation.idempotencyKey),
    withIdem(fc.record({ type: fc.constant('ReservationActivated' as const), ...base, reservationId: text, allocations, expiresAt: time }).chain((e) => link.map((l) => ({ ...e, ...l })))),
    withIdem(
      fc
        .record({ type: fc.constant('ReservationReleased' as const), ...base, reservationId: text, reason: fc.option(text, { nil: undefined }) })
        .map(({ reason, ...e }) => (reason === undefined ? e : { ...e, reason }))
        .chain((e) => link.map((l) => ({ ...e, ...l }))),
    ),
    withIdem(fc.record({ type: fc.constantFrom('ReservationCommitted' as const, 'ReservationExpired' as const), ...base, reservationId: text }).chain((e) => link.map((l) => ({ ...e, ...l })))),
    // Events the layout has no kind for: written as msgpackr values, the bump's link with it.
    fc.record({ type: fc.constant('ReservationBumped' as const), sku: fc.constant(sku), at: noNegativeZero(time), reservationId: text, expiresAt: noNegativeZero(time) }).chain((e) => link.map((l) => ({ ...e, ...l }))),
    fc.record({ type: fc.constant('StockAdjusted' as const), sku: fc.constant(sku), at: noNegativeZero(time), location, delta: noNegativeZero(count), eventId: text }),
  ) as fc.Arbitrary<SkuEvent>;
};

const record: fc.Arbitrary<WalRecord> = fc.record({
  seq: fc.nat(),
  at: time,
  events: fc.array(fc.oneof(event('sku-1'), event('sku-2'), event('Ärmel-7')), { maxLength: 12 }),
});

function placedRecord(): WalRecord {
  const r = heldReservation('sku-1', 1, T0, { requested: 2, quantity: 2, allocations: [{ location: 'dc-1', quantity: 2 }] });
  const committed = { type: 'ReservationCommitted', sku: 'sku-1', at: T0 + 5, reservationId: 'sku-1:1', idem: 'key-2', prevSeq: 7, prevIndex: 0 } as SkuEvent;
  return { seq: 8, at: T0, events: [{ type: 'ReservationPlaced', sku: 'sku-1', at: T0, idem: 'key-1', reservation: r }, committed] };
}

describe('WAL record layout', () => {
  it('round-trips any record a turn can write, every field, link and idempotency key included', () => {
    const codec = RecordCodec.inMemory();
    fc.assert(
      fc.property(record, (generated) => {
        // As plain objects: fast-check's records have no prototype, which toStrictEqual would count.
        const value = structuredClone(generated);
        const bytes = codec.encodeRecord(value);
        expect(bytes[0]).toBe(WAL_RECORD_MARKER);
        expect(codec.decodeRecord(bytes)).toStrictEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('takes a placed reservation\'s values when the event is added, not when the record is finished', () => {
    const codec = RecordCodec.inMemory();
    const [placed] = placedRecord().events as [Extract<SkuEvent, { type: 'ReservationPlaced' }>];
    const asPlaced = structuredClone(placed);
    codec.records.begin(3, T0);
    codec.records.add(placed, 0, 0);
    // The SKU's state owns the reservation from here on and changes it in the same turn.
    placed.reservation.state = 'COMMITTED';
    placed.reservation.endedAt = T0 + 1;
    expect(codec.decodeRecord(codec.records.finish()).events).toStrictEqual([asPlaced]);
  });

  it('writes a repeated SKU, channel or location once per record, and a reserve in well under half its msgpackr size', () => {
    const codec = RecordCodec.inMemory();
    const one = placedRecord();
    const many: WalRecord = { ...one, events: Array.from({ length: 100 }, () => one.events[0]) };
    const layout = codec.encodeRecord(many);
    const before = codec.encode(loggedRecordBefore(many));
    expect(layout.length).toBeLessThan(before.length / 2);
    // 'sku-1', 'web' and 'dc-1' each appear once in the bytes.
    for (const name of ['sku-1:', 'web', 'dc-1']) expect(layout.toString('latin1').split(name).length - 1).toBe(name === 'sku-1:' ? 100 : 1);
  });

  it('still reads records written before the layout, and tells the two apart by the first byte', () => {
    const codec = RecordCodec.inMemory();
    const value = placedRecord();
    const before = codec.encode(loggedRecordBefore(value));
    expect(before[0]).not.toBe(WAL_RECORD_MARKER);
    expect(codec.decodeRecord(before)).toEqual(value);
    expect(codec.decodeRecord(codec.encodeRecord(value))).toStrictEqual(value);
  });

  it('refuses a record cut short anywhere, or with bytes left over', () => {
    const codec = RecordCodec.inMemory();
    const bytes = codec.encodeRecord(placedRecord());
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(() => codec.decodeRecord(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(/WAL record damaged/);
    }
    expect(() => codec.decodeRecord(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/WAL record damaged \(bytes left over after 2 events\)/);
  });

  it('names the version of a record written by a later version, and the event a damaged field is in', () => {
    const codec = RecordCodec.inMemory();
    const bytes = Buffer.from(codec.encodeRecord(placedRecord()));
    const later = Buffer.from(bytes);
    later[1] = 2 * 2 * 2; // version 2, as BlockWriter.number writes it
    expect(() => codec.decodeRecord(later)).toThrow(/WAL record format version 2 is not known to this version of Stockade/);

    // The second event's kind (committed) turned into one no version has: its first byte after
    // the first event. Found by encoding the first event alone.
    const first = codec.encodeRecord({ ...placedRecord(), events: placedRecord().events.slice(0, 1) });
    const unknownKind = Buffer.from(bytes);
    unknownKind[first.length] = 2 * 2 * 9;
    expect(() => codec.decodeRecord(unknownKind)).toThrow(/WAL record damaged \(event 1: kind\)/);

    // "The reservation's own key" on an event that has no reservation of its own.
    const ownKey = Buffer.from(bytes);
    const committedAt = first.length;
    // kind, SKU (a known name: one byte), at, then the key's code: own (1).
    ownKey[committedAt + 3] = 2 * 2 * 1;
    expect(() => codec.decodeRecord(ownKey)).toThrow(/WAL record damaged \(event 1: idempotency key\)/);
  });
});

describe('the msgpackr structures of events the layout has no kind for', () => {
  it('are stored with the first record that uses them, so a store opened afterwards reads it', async () => {
    const dir = Shard.directoryOf(tempDir(), 0);
    const store = ShardStore.open(dir);
    const defined: SkuEvent = { type: 'SkuDefined', sku: 'S', at: T0, locationOrder: ['w'], category: 'shoes', tags: ['sale'] };
    const stocked: SkuEvent = { type: 'StockSet', sku: 'S', at: T0, location: 'w', onHand: 5, eventId: 'e-1' };
    store.appendTurn(1, store.codec.encodeRecord({ seq: 1, at: T0, events: [defined, stocked] }), [], []);
    await store.whenFlushed();
    // A fresh codec knows only the structures the store holds.
    const reopened = ShardStore.open(dir);
    expect([...reopened.recordsAfter(0)]).toStrictEqual([{ seq: 1, at: T0, events: [defined, stocked] }]);
  });
});

describe('a data directory written before the record layout', () => {
  it('replays, answers retries from its records, and keeps trails that run on into new records', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const kept = reserve('S', 3);
    const first = await t.ok<ReservationView>(kept);
    const dropped = await t.ok<ReservationView>(reserve('S', 2));
    await t.ok({ type: 'release', reservationId: dropped.reservationId, reason: 'changed mind' });
    // The same history as a version before the layout wrote it, every record one msgpackr value.
    // No checkpoint covers it (the shard is left as a crash would leave it), so all of it replays.
    const store = ShardStore.open(Shard.directoryOf(t.dataDir, 0));
    const records = [...store.recordsAfter(0)];
    expect(records.map((r) => r.events.length)).toEqual([1, 1, 1, 1]);
    for (const record of records) {
      const before = store.codec.encode(loggedRecordBefore(record));
      expect(before[0]).not.toBe(WAL_RECORD_MARKER);
      store.appendTurn(record.seq, before, [], []);
    }
    await store.whenFlushed();
    await t.reopen();

    expect(t.shard.stats().skus).toBe(1);
    expect(await t.ok({ type: 'getSku', sku: 'S' })).toMatchObject({ onHand: 10, reserved: 3 });
    expect(await t.run(kept)).toEqual({ ok: true, value: first, replayed: true });
    // Placed before the change and committed after it: the trail crosses from one form to the other.
    await t.ok({ type: 'commit', reservationId: first.reservationId });
    await t.reopen();
    const trail = await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: first.reservationId });
    expect(trail.map((e) => e.event)).toEqual(['ReservationPlaced', 'ReservationCommitted']);
    const released = await t.ok<HistoryEntry[]>({ type: 'getReservationHistory', reservationId: dropped.reservationId });
    expect(released.map((e) => e.event)).toEqual(['ReservationPlaced', 'ReservationReleased']);
    expect(await t.ok({ type: 'getSku', sku: 'S' })).toMatchObject({ onHand: 7, reserved: 0 });
  });
});
