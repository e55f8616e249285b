// The WAL and snapshot codec: round trips, and the promise LMDB relies on — bytes once returned
// are never written again, whatever is encoded after them (LMDB reads a queued value's memory
// only when its transaction commits) — and that data written in older forms (reservations as
// objects, snapshots of tuples) still reads back the same.

import { describe, expect, it } from 'vitest';
import type { Reservation, SkuEvent } from '../src/actors/types.js';
import { indexIdempotency, type IdempotencyRecord } from '../src/actors/sku.js';
import { openReservations } from '../src/actors/open-holds.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec, snapshotOf, stateOf, type SkuSnapshot, type WalRecord } from '../src/persistence/codec.js';
import { idempotencyBlock, idempotencyLogOfBlock } from '../src/persistence/idempotency-block.js';
import { reservationBlock } from '../src/persistence/reservation-block.js';
import { reservationOfTuple, type ReservationTuple } from '../src/persistence/reservation-tuple.js';
import { loggedRecordBefore, reservationTuple } from './fixtures/wal-before-layout.js';
import { heldReservation } from './fixtures/held-reservation.js';

function placed(n: number, note = ''): SkuEvent {
  const at = 1_700_000_000_000 + n;
  // The id with its number in decimal, as these fixtures always wrote it (ids of 10 and more differ from base 36).
  const reservation = heldReservation('sku-1', n, at, { id: `sku-1:${n}`, orderId: `order-${n}${note}` });
  return { type: 'ReservationPlaced', sku: 'sku-1', at, reservation } as SkuEvent;
}

function reservationOf(event: SkuEvent): Reservation {
  return (event as Extract<SkuEvent, { type: 'ReservationPlaced' }>).reservation;
}

/** A stock change: an event the record layout has no kind for, so it is written as a msgpackr value. */
function stockAdjusted(n: number): SkuEvent {
  return { type: 'StockAdjusted', sku: 'sku-1', at: 1_700_000_000_000 + n, location: 'dc-1', delta: 1, eventId: `stock-${n}` };
}

/** A record as the domain knows it (what decodeRecord must give back): reserves, every fifth event a stock change. */
function domainRecord(seq: number, events: number, note = ''): WalRecord {
  return { seq, at: 1_700_000_000_000 + seq, events: Array.from({ length: events }, (_, i) => (i % 5 === 4 ? stockAdjusted(seq * 10_000 + i) : placed(seq * 10_000 + i, note))) };
}

/** A snapshot tuple as written before blocks: the WAL tuple and the latest event's place. */
function snapshotTuple(r: Reservation): ReservationTuple {
  const tuple = reservationTuple(r);
  tuple.push(r.walSeq, r.walIndex);
  return tuple;
}

/** The idempotency keys of `count` reserves, oldest first, as a snapshot's tuples held them. */
function keyRecords(count: number): IdempotencyRecord[] {
  return Array.from({ length: count }, (_, i) => [`key-${i}`, 'reserve', `sku-1:${i}`, 1_700_000_000_000 + i]);
}

/** The keys a snapshot holds, in either form. */
function keysOf(snap: SkuSnapshot): IdempotencyRecord[] {
  if (!snap.idemBlock) return snap.idem!;
  const keys: IdempotencyRecord[] = [];
  idempotencyLogOfBlock(snap.idemBlock, snap.sku)?.forEach(0, (...record) => keys.push(record));
  return keys;
}

/**
 * How the open reservations and keys are held: as blocks (written now), or in the older forms
 * still read: tuples, and before them plain objects (keys as tuples in both).
 */
type OpenForm = 'block' | 'tuples' | 'objects';

function snapshot(open: number, form: OpenForm = 'block'): SkuSnapshot {
  const reservations = Array.from({ length: open }, (_, i) => reservationOf(placed(i)));
  const keys = keyRecords(open);
  const held =
    form === 'block'
      ? { openBlock: reservationBlock('sku-1', reservations, open), idemBlock: idempotencyBlock('sku-1', open, (write) => keys.forEach((k) => write.key(...k))) }
      : { open: form === 'tuples' ? reservations.map(snapshotTuple) : reservations, idem: keys };
  return {
    sku: 'sku-1',
    locations: [{ location: 'dc-1', onHand: 1_000_000, reserved: open, safetyStock: 0, sourceSeq: -1 }],
    locationOrder: null,
    ...held,
    eventIds: [],
    thresholds: null,
    flag: null,
    category: null,
    tags: null,
    nextReservationNo: open + 1,
    episodes: [],
  } as unknown as SkuSnapshot;
}

describe('RecordCodec', () => {
  it('round-trips WAL records and snapshots, and a reopened codec reads them with the persisted structures', () => {
    let persisted: string[][] | undefined;
    const codec = new RecordCodec(undefined, (structures) => (persisted = structures));
    const walRecord = domainRecord(1, 3);
    const snap = snapshot(5);
    const recordBytes = Buffer.from(codec.encodeRecord(walRecord));
    const snapshotBytes = Buffer.from(codec.encodeSnapshot(snap));
    expect(codec.decodeRecord(recordBytes)).toEqual(walRecord);
    expect(codec.decode(snapshotBytes)).toEqual(snap);

    expect(persisted?.length).toBeGreaterThan(0);
    const reopened = new RecordCodec(persisted, () => {});
    expect(reopened.decodeRecord(recordBytes)).toEqual(walRecord);
    expect(reopened.decode(snapshotBytes)).toEqual(snap);
    const reservations = [...openReservations(stateOf(reopened.decode<SkuSnapshot>(snapshotBytes)))];
    expect(reservations).toEqual(Array.from({ length: 5 }, (_, i) => reservationOf(placed(i))));
  });

  it('keeps a snapshot\'s idempotency keys, in order, whether or not they were indexed since', () => {
    const keys = keyRecords(4);
    const state = stateOf(snapshot(4));
    // Held as recovery read them until the SKU's first live command (sku.ts).
    expect(state.idem).toBeNull();
    expect(keysOf(snapshotOf(state))).toEqual(keys);
    indexIdempotency(state, buildConfig({}).limits);
    expect(state.idemLog).toBeNull();
    expect([...state.idem!.keys()]).toEqual(keys.map(([key]) => key));
    expect(keysOf(snapshotOf(state))).toEqual(keys);
    expect(stateOf(snapshot(0)).idemLog).toBeNull();
  });

  it('reads WAL records written as msgpackr values, with reservations as tuples', () => {
    // Then a record was one msgpackr value, which the generic encode still writes.
    const codec = RecordCodec.inMemory();
    const before = domainRecord(9, 12);
    const bytes = codec.encode(loggedRecordBefore(before));
    expect(bytes[0]).not.toBe(0xc1);
    expect(codec.decodeRecord(bytes)).toEqual(before);
    expect(codec.decodeLogged(bytes).events[0]).toHaveProperty('r');
  });

  it('reads WAL records and snapshots written before reservations were stored as tuples', () => {
    // Then the WAL held each ReservationPlaced event, and a snapshot each reservation, as a plain
    // object: the generic encode writes exactly that.
    const codec = RecordCodec.inMemory();
    const old = domainRecord(7, 4);
    expect(codec.decodeRecord(codec.encode(old))).toEqual(old);
    const oldSnapshot = codec.decode<SkuSnapshot>(codec.encode(snapshot(3, 'objects')));
    const state = stateOf(oldSnapshot);
    expect([...openReservations(state)]).toEqual([0, 1, 2].map((i) => reservationOf(placed(i))));
    expect(state.activeQuantity).toBe(3);
  });

  it('reads snapshots written before blocks, whose open reservations are tuples', () => {
    const codec = RecordCodec.inMemory();
    const reservations = [0, 1, 2].map((i) => ({ ...reservationOf(placed(i)), walSeq: 40 + i, walIndex: i }));
    const tuples: SkuSnapshot = { ...snapshot(0, 'tuples'), open: reservations.map(snapshotTuple) };
    tuples.idem = keyRecords(3);
    const state = stateOf(codec.decode<SkuSnapshot>(codec.encodeSnapshot(tuples)));
    expect([...openReservations(state)]).toEqual(reservations);
    expect(state.activeQuantity).toBe(3);
    expect(keysOf(snapshotOf(state))).toEqual(keyRecords(3));
  });

  it('writes open reservations and keys as blocks only, so a version that knows only tuples cannot restore a SKU without them', () => {
    const codec = RecordCodec.inMemory();
    const state = stateOf(snapshot(3, 'tuples'));
    const written = codec.decode<SkuSnapshot>(codec.encodeSnapshot(snapshotOf(state)));
    expect(written).not.toHaveProperty('open');
    expect(written).not.toHaveProperty('idem');
    expect(written.openBlock).toBeInstanceOf(Buffer);
    expect([...openReservations(stateOf(written))]).toEqual([...openReservations(state)]);
    expect(keysOf(written)).toEqual(keyRecords(3));
    const idle = stateOf(codec.decode<SkuSnapshot>(codec.encodeSnapshot(snapshotOf(stateOf(snapshot(0))))));
    expect([idle.sole, idle.open, idle.customers]).toEqual([null, null, null]);
    // One hold comes back as the SKU's sole hold, with no Maps (open-holds.ts).
    const one = stateOf(codec.decode<SkuSnapshot>(codec.encodeSnapshot(snapshotOf(stateOf(snapshot(1, 'tuples'))))));
    expect(one.sole).toEqual(reservationOf(placed(0)));
    expect([one.open, one.customers]).toEqual([null, null]);
  });

  it('round-trips every field of a reservation through its tuple, several locations and an ended one included', () => {
    const r: Reservation = {
      ...reservationOf(placed(3)),
      requested: 5,
      quantity: 4,
      allocations: [
        { location: 'dc-1', quantity: 3 },
        { location: 'store-9', quantity: 1 },
      ],
      priority: 9,
      allowPartial: true,
      locations: ['dc-1', 'store-9'],
      state: 'RELEASED',
      endedAt: 1_700_000_000_500,
      endReason: 'cart abandoned',
    };
    const codec = RecordCodec.inMemory();
    const back = codec.decode<ReservationTuple>(codec.encode(reservationTuple(r)));
    expect(reservationOfTuple(back, 'sku-1')).toEqual(r);
    const pending: Reservation = { ...r, state: 'PENDING', quantity: 0, allocations: [], endedAt: 0, endReason: null };
    expect(reservationOfTuple(reservationTuple(pending), 'sku-1')).toEqual(pending);
  });

  it('keeps where a reservation\'s latest event is in a snapshot tuple, and leaves it out of the WAL form', () => {
    const r: Reservation = { ...reservationOf(placed(3)), walSeq: 41, walIndex: 7 };
    const codec = RecordCodec.inMemory();
    const snapshotted = codec.decode<ReservationTuple>(codec.encode(snapshotTuple(r)));
    expect(snapshotted).toHaveLength(21);
    expect(reservationOfTuple(snapshotted, 'sku-1')).toEqual(r);
    // A WAL event's reservation is where the event is: its tuple has the first 19 fields only,
    // and so have snapshots written before positions were kept; those read as "not known" (0).
    const walForm = reservationTuple(r);
    expect(walForm).toHaveLength(19);
    expect(reservationOfTuple(walForm, 'sku-1')).toEqual({ ...r, walSeq: 0, walIndex: 0 });
  });

  it('refuses a stored reservation tuple that lost fields, naming the SKU', () => {
    const short = reservationTuple(reservationOf(placed(1))).slice(0, 12) as unknown as ReservationTuple;
    expect(() => reservationOfTuple(short, 'sku-1')).toThrow(/stored reservation of SKU sku-1 has 12 fields, expected 19/);
  });

  it('never writes again over bytes it returned, across arenas and values larger than their size hint', () => {
    const codec = RecordCodec.inMemory();
    const returned: { bytes: Buffer; copy: Buffer; value: WalRecord | SkuSnapshot; read: (bytes: Buffer) => unknown }[] = [];
    const keep = (value: WalRecord | SkuSnapshot, bytes: Buffer, read: (bytes: Buffer) => unknown): void => {
      returned.push({ bytes, copy: Buffer.from(bytes), value, read });
    };
    const asRecord = (bytes: Buffer) => codec.decodeRecord(bytes);
    const asValue = (bytes: Buffer) => codec.decode(bytes);
    for (let seq = 1; seq <= 400; seq++) {
      // Small and large turns (several fill a 1 MiB record slab or a 4 MiB msgpackr arena), a
      // snapshot now and then, and events whose strings run far past the per-event hints.
      const events = seq % 50 === 0 ? 4_096 : (seq * 37) % 300;
      const value = seq % 7 === 0 ? domainRecord(seq, 40, 'x'.repeat(2_000)) : domainRecord(seq, events);
      keep(value, codec.encodeRecord(value), asRecord);
      if (seq % 60 === 0) {
        const snap = snapshot(2_000);
        keep(snap, codec.encodeSnapshot(snap), asValue);
      }
      keep(domainRecord(seq, 0), codec.encode(domainRecord(seq, 0)), asValue);
    }
    for (const { bytes, copy, value, read } of returned) {
      expect(bytes.equals(copy)).toBe(true);
      expect(read(bytes)).toEqual(value);
    }
  });

  it('keeps returned bytes intact when another codec in the same thread encodes in between', () => {
    // msgpackr's write buffer is shared by every Packr in a thread (LMDB's own among them).
    const first = RecordCodec.inMemory();
    const second = RecordCodec.inMemory();
    const returned: { bytes: Buffer; copy: Buffer; codec: RecordCodec; value: WalRecord }[] = [];
    for (let seq = 1; seq <= 200; seq++) {
      const codec = seq % 3 === 0 ? second : first;
      const value = domainRecord(seq, seq % 40 === 0 ? 3_000 : seq % 90);
      const bytes = codec.encodeRecord(value);
      returned.push({ bytes, copy: Buffer.from(bytes), codec, value });
    }
    for (const { bytes, copy, codec, value } of returned) {
      expect(bytes.equals(copy)).toBe(true);
      expect(codec.decodeRecord(bytes)).toEqual(value);
    }
  });
});
