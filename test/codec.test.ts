// The WAL and snapshot codec: round trips, and the promise LMDB relies on — bytes once returned
// are never written again, whatever is encoded after them (LMDB reads a queued value's memory
// only when its transaction commits).

import { describe, expect, it } from 'vitest';
import type { SkuEvent } from '../src/actors/types.js';
import { RecordCodec, type SkuSnapshot, type WalRecord } from '../src/persistence/codec.js';

function placed(n: number, note = ''): SkuEvent {
  return {
    type: 'ReservationPlaced',
    sku: 'sku-1',
    at: 1_700_000_000_000 + n,
    reservation: {
      id: `sku-1:${n}`,
      sku: 'sku-1',
      orderId: `order-${n}${note}`,
      customerId: `customer-${n}`,
      channel: 'web',
      idempotencyKey: `key-${n}`,
      requested: 1,
      quantity: 1,
      allocations: [{ location: 'dc-1', quantity: 1 }],
      priority: 0,
      arrival: n,
      allowPartial: false,
      locations: null,
      holdTtlMs: 600_000,
      state: 'ACTIVE',
      createdAt: 1_700_000_000_000 + n,
      activatedAt: 1_700_000_000_000 + n,
      expiresAt: 1_700_000_600_000 + n,
      endedAt: 0,
      endReason: null,
    },
  } as SkuEvent;
}

function record(seq: number, events: number, note = ''): WalRecord {
  return { seq, at: 1_700_000_000_000 + seq, events: Array.from({ length: events }, (_, i) => placed(seq * 10_000 + i, note)) };
}

function snapshot(open: number): SkuSnapshot {
  const events = Array.from({ length: open }, (_, i) => placed(i));
  return {
    sku: 'sku-1',
    locations: [{ location: 'dc-1', onHand: 1_000_000, reserved: open, safetyStock: 0, sourceSeq: -1 }],
    locationOrder: null,
    open: events.map((e) => (e as Extract<SkuEvent, { type: 'ReservationPlaced' }>).reservation),
    idem: events.map((_, i) => [`key-${i}`, 'reserve', `sku-1:${i}`, 1_700_000_000_000 + i]),
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
    const walRecord = record(1, 3);
    const snap = snapshot(5);
    const recordBytes = Buffer.from(codec.encodeRecord(walRecord));
    const snapshotBytes = Buffer.from(codec.encodeSnapshot(snap));
    expect(codec.decodeRecord(recordBytes)).toEqual(walRecord);
    expect(codec.decode(snapshotBytes)).toEqual(snap);

    expect(persisted?.length).toBeGreaterThan(0);
    const reopened = new RecordCodec(persisted, () => {});
    expect(reopened.decodeRecord(recordBytes)).toEqual(walRecord);
    expect(reopened.decode(snapshotBytes)).toEqual(snap);
  });

  it('never writes again over bytes it returned, across arenas and values larger than their size hint', () => {
    const codec = RecordCodec.inMemory();
    const returned: { bytes: Buffer; copy: Buffer; value: WalRecord | SkuSnapshot }[] = [];
    const keep = (value: WalRecord | SkuSnapshot, bytes: Buffer): void => {
      returned.push({ bytes, copy: Buffer.from(bytes), value });
    };
    for (let seq = 1; seq <= 400; seq++) {
      // Small and large turns (several fill a 4 MiB arena), a snapshot now and then, and events
      // whose strings run far past the per-event hint so msgpackr has to grow a buffer itself.
      const events = seq % 50 === 0 ? 4_096 : (seq * 37) % 300;
      const value = seq % 7 === 0 ? record(seq, 40, 'x'.repeat(2_000)) : record(seq, events);
      keep(value, codec.encodeRecord(value));
      if (seq % 60 === 0) {
        const snap = snapshot(2_000);
        keep(snap, codec.encodeSnapshot(snap));
      }
      keep(record(seq, 0), codec.encode(record(seq, 0)));
    }
    for (const { bytes, copy, value } of returned) {
      expect(bytes.equals(copy)).toBe(true);
      expect(codec.decode(bytes)).toEqual(value);
    }
  });

  it('keeps returned bytes intact when another codec in the same thread encodes in between', () => {
    // msgpackr's write buffer is shared by every Packr in a thread (LMDB's own among them).
    const first = RecordCodec.inMemory();
    const second = RecordCodec.inMemory();
    const returned: { bytes: Buffer; copy: Buffer; codec: RecordCodec; value: WalRecord }[] = [];
    for (let seq = 1; seq <= 200; seq++) {
      const codec = seq % 3 === 0 ? second : first;
      const value = record(seq, seq % 40 === 0 ? 3_000 : seq % 90);
      const bytes = codec.encodeRecord(value);
      returned.push({ bytes, copy: Buffer.from(bytes), codec, value });
    }
    for (const { bytes, copy, codec, value } of returned) {
      expect(bytes.equals(copy)).toBe(true);
      expect(codec.decodeRecord(bytes)).toEqual(value);
    }
  });
});
