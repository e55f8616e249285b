// A snapshot's open reservations and idempotency keys as byte blocks: every field survives a trip
// through the codec, in every combination the domain makes (waiting and held, one or several
// locations, restricted locations, channels, each kind of key), and a damaged block is refused
// with the SKU named, never read as holds or keys.

import { describe, expect, it } from 'vitest';
import type { Reservation } from '../src/actors/types.js';
import { RecordCodec } from '../src/persistence/codec.js';
import type { IdempotencyRecord } from '../src/actors/sku.js';
import { idempotencyBlock, idempotencyLogOfBlock } from '../src/persistence/idempotency-block.js';
import { reservationBlock, reservationsOfBlock } from '../src/persistence/reservation-block.js';
import { BlockReader } from '../src/persistence/binary-block.js';
import { VERSION_1_HOLDS, VERSION_1_KEY_BLOCK, VERSION_1_KEYS } from './fixtures/blocks-version-1.js';
import { heldReservation } from './fixtures/held-reservation.js';

const T0 = 1_700_000_000_000;

function held(no: number, overrides: Partial<Reservation> = {}): Reservation {
  return heldReservation('sku-1', no, T0 + no, {
    customerId: `customer-${no % 3}`,
    idempotencyKey: `key-${no}-abcdefgh`,
    walSeq: 1_000 + no,
    walIndex: no % 7,
    ...overrides,
  });
}

/** One of each shape a SKU holds open, plus an ended one (the form itself must not lose a field). */
function variety(): Reservation[] {
  return [
    held(1),
    held(2, { channel: 'pos', priority: 10, holdTtlMs: 30_000, expiresAt: T0 + 30_002 }),
    held(3, { state: 'PENDING', quantity: 0, allocations: [], activatedAt: 0, requested: 4, walSeq: 0, walIndex: 0 }),
    held(4, {
      requested: 5,
      quantity: 4,
      allowPartial: true,
      locations: ['store-9', 'dc-1'],
      allocations: [
        { location: 'store-9', quantity: 3 },
        { location: 'dc-1', quantity: 1 },
      ],
      channel: 'marketplace',
      priority: -2,
    }),
    held(5, { state: 'RELEASED', endedAt: T0 + 99, endReason: 'cart abandoned', channel: 'pos' }),
    held(36 ** 5, { createdAt: 8_640_000_000_000_000, activatedAt: 8_640_000_000_000_000, expiresAt: 8_640_000_000_000_000 }),
  ];
}

/** Through the codec, as a snapshot goes. */
function stored(block: Buffer): Buffer {
  const codec = RecordCodec.inMemory();
  return codec.decode<{ block: Buffer }>(codec.encode({ block })).block;
}

describe('reservation block', () => {
  it('round-trips every field of every shape, in order', () => {
    const reservations = variety();
    expect(reservationsOfBlock(stored(reservationBlock('sku-1', reservations, reservations.length)), 'sku-1')).toEqual(reservations);
  });

  it('round-trips numbers of every size and sign, fractions, and strings beyond ASCII', () => {
    const odd = [
      held(1, { priority: -1, requested: 2 ** 51 - 1, quantity: 0.5, holdTtlMs: -(2 ** 52), createdAt: Number.MAX_SAFE_INTEGER, activatedAt: -0.25, expiresAt: 1e300 }),
      // Either side of 2^31 once written (a number is written as about four times its value).
      held(3, { priority: 2 ** 29 - 1, arrival: 2 ** 29, walSeq: 2 ** 31, walIndex: 2 ** 32 + 7, endedAt: -(2 ** 29) }),
      held(2, { orderId: 'commande-été-№7', customerId: '顧客-42', channel: 'kanał', endReason: 'client a changé d’avis 🛒', locations: ['entrepôt'] }),
    ];
    expect(reservationsOfBlock(stored(reservationBlock('sku-1', odd, odd.length)), 'sku-1')).toEqual(odd);
  });

  it('names each channel and location once', () => {
    const reservations = Array.from({ length: 50 }, (_, i) => held(i, { channel: i % 2 ? 'web' : 'pos' }));
    const block = reservationBlock('sku-1', reservations, reservations.length);
    expect(block.toString('latin1').split('pos').length - 1).toBe(1);
    expect(block.toString('latin1').split('dc-1').length - 1).toBe(1);
    expect(reservationsOfBlock(stored(block), 'sku-1')).toEqual(reservations);
  });

  it('leaves out the ids the SKU spells and writes times relative to the first hold, and still reads version 1', () => {
    const reservations = Array.from({ length: 100 }, (_, i) => held(i + 1));
    const block = reservationBlock('sku-1', reservations, reservations.length);
    expect(block.toString('latin1')).not.toContain('sku-1:');
    // Each hold's strings (a length byte each, the id empty), and ~25 bytes of small numbers: ~41-bit
    // times written whole (six bytes each) and the ids (eight bytes here) would not fit.
    const stringBytes = reservations.reduce((sum, r) => sum + 4 + r.orderId.length + r.customerId.length + r.idempotencyKey.length, 0);
    expect(block.length).toBeLessThan(stringBytes + 32 * reservations.length);
    expect(reservationsOfBlock(stored(block), 'sku-1')).toEqual(reservations);
    // An id of another spelling (restored from older data, or not the SKU's own) is kept whole.
    const foreign = [held(1, { id: 'sku-1:01' }), held(2, { id: 'other:2' }), held(3, { arrival: 4 })];
    expect(reservationsOfBlock(stored(reservationBlock('sku-1', foreign, 3)), 'sku-1')).toEqual(foreign);
    expect(reservationsOfBlock(stored(VERSION_1_HOLDS), 'sku-1')).toEqual(variety());
  });

  it('holds no reservations at all', () => {
    expect(reservationsOfBlock(stored(reservationBlock('sku-1', [], 0)), 'sku-1')).toEqual([]);
  });

  it('refuses a count that does not match the reservations given', () => {
    expect(() => reservationBlock('sku-1', [held(1), held(2)], 1)).toThrow(/more than the 1 reservations announced/);
    expect(() => reservationBlock('sku-1', [held(1)], 2)).toThrow(/1 reservations where 2 were announced/);
  });

  it('is a block of its own each time: the next one never writes over it, small or large', () => {
    // Small blocks are views of one shared slab, written one after another; a large one gets a
    // slab of its own.
    const sizes = [1, 5_000, 1, 20_000, 3, 20_000];
    const blocks = sizes.map((n) => {
      const reservations = Array.from({ length: n }, (_, i) => held(i, { orderId: `order-${n}-${i}` }));
      const block = reservationBlock('sku-1', reservations, n);
      return { block, copy: Buffer.from(block), reservations };
    });
    for (const { block, copy, reservations } of blocks) {
      expect(block.equals(copy)).toBe(true);
      expect(reservationsOfBlock(block, 'sku-1')).toEqual(reservations);
    }
  });

  describe('refuses a damaged block, naming the SKU', () => {
    const good = (): Buffer => reservationBlock('sku-1', variety(), variety().length);
    it('cut short anywhere', () => {
      const block = good();
      for (const cut of [1, 2, 5, 40, block.length >> 1, block.length - 1]) {
        expect(() => reservationsOfBlock(block.subarray(0, cut), 'sku-1')).toThrow(/snapshot of SKU sku-1: reservation block damaged/);
      }
    });

    it('with bytes left over', () => {
      expect(() => reservationsOfBlock(Buffer.concat([good(), Buffer.from([0])]), 'sku-1')).toThrow(/bytes left over after 6 reservations/);
    });

    it('of a version this one does not know', () => {
      const block = good();
      block[0] = 16; // version 4 (numbers are written as 4 × value: zigzag, then the integer tag)
      expect(() => reservationsOfBlock(block, 'sku-1')).toThrow(/snapshot of SKU sku-1: reservation block version 4 is not known/);
    });

    it('with a count larger than the block could hold', () => {
      const block = Buffer.from([4, 0xfc, 0xff, 0x07]); // version 1, count 32767
      expect(() => reservationsOfBlock(block, 'sku-1')).toThrow(/reservation block damaged \(count\)/);
    });

    it('with an unknown state, or a name referenced before it was written', () => {
      const [r] = variety();
      const block = reservationBlock('sku-1', [r], 1);
      // The first reservation's channel reference follows the header (version, count, time base)
      // and its four strings; then its state code.
      const reader = new BlockReader(block, (what) => new Error(what));
      for (let n = 0; n < 3; n++) reader.number();
      for (let s = 0; s < 4; s++) reader.string();
      let p = reader.spanEnd;
      expect(block[p]).toBe(0); // a new channel, index 0 ...
      const badName = Buffer.from(block);
      badName[p] = 4; // ... now index 1, of which none was written
      expect(() => reservationsOfBlock(badName, 'sku-1')).toThrow(/channel of reservation 0/);
      p += 1 + 1 + (block[p + 1] >> 1); // past the reference and the channel's name
      const badState = Buffer.from(block);
      badState[p] = 36; // state code 9
      expect(() => reservationsOfBlock(badState, 'sku-1')).toThrow(/state of reservation 0/);
    });
  });
});

describe('idempotency block', () => {
  const keys: IdempotencyRecord[] = [
    ['key-1-abcdefgh', 'reserve', 'sku-1:1', T0],
    ['key-2-abcdefgh', 'release', 'sku-1:1', T0 + 5],
    ['key-3-abcdefgh', 'commit', 'sku-1:2', T0 + 9],
    ['clé-4-ünïcode', 'reserve', 'sku-1:3', T0 + 9.5],
  ];
  const blockOf = (records: IdempotencyRecord[]): Buffer => idempotencyBlock('sku-1', records.length, (write) => records.forEach((k) => write.key(...k)));
  const keysOf = (block: Buffer): IdempotencyRecord[] => {
    const read: IdempotencyRecord[] = [];
    idempotencyLogOfBlock(block, 'sku-1')?.forEach(0, (...record) => read.push(record));
    return read;
  };

  it('round-trips every kind of key, oldest first, into a log', () => {
    expect(keysOf(stored(blockOf(keys)))).toEqual(keys);
  });

  it('keeps earlier blocks intact when a block outgrows its estimate mid-slab and moves', () => {
    // 48 bytes are expected per key; these take ~130, so the writer moves the block it is writing
    // to a bigger slab partway, with blocks written before it still in the old one.
    const longKeys = (n: number, tag: string): IdempotencyRecord[] =>
      Array.from({ length: n }, (_, i) => [`${tag}-${'x'.repeat(100)}-${i}`, 'reserve', `sku-1:${i.toString(36)}`, T0 + i]);
    const batches = [longKeys(10, 'a'), longKeys(20_000, 'b'), longKeys(3, 'c'), longKeys(9_000, 'd'), longKeys(1, 'e')];
    const blocks = batches.map((records) => {
      const block = blockOf(records);
      return { block, copy: Buffer.from(block), records };
    });
    for (const { block, copy, records } of blocks) {
      expect(block.equals(copy)).toBe(true);
      expect(keysOf(block)).toEqual(records);
    }
  });

  it('reads a key marked ASCII whose bytes are not (a damaged block) as the Latin-1 string they spell', () => {
    const block = Buffer.from(blockOf([['abc', 'reserve', 'sku-1:1', T0]]));
    const at = block.indexOf('abc');
    block[at + 1] = 0xe9;
    expect(keysOf(block)).toEqual([['a\u00e9c', 'reserve', 'sku-1:1', T0]]);
  });

  it("writes the SKU's own reservations as their numbers and times relative to the first key, and still reads version 1", () => {
    const records: IdempotencyRecord[] = Array.from({ length: 100 }, (_, i) => [`key-${i}`, 'reserve', `sku-1:${(i + 1).toString(36)}`, T0 + i * 7]);
    records.push(['key-other', 'release', 'other:5', T0 - 3], ['key-zero', 'commit', 'sku-1:01', 0]);
    const block = blockOf(records);
    expect(block.toString('latin1')).not.toContain('sku-1:1');
    expect(block.toString('latin1')).toContain('other:5');
    // A length byte and the key, the kind, the mark (one byte to three) and the time (one or two).
    const keyBytes = records.reduce((sum, [key]) => sum + 1 + key.length, 0);
    expect(block.length).toBeLessThan(keyBytes + 'other:5'.length + 6 * records.length);
    expect(keysOf(stored(block))).toEqual(records);
    expect(keysOf(stored(VERSION_1_KEY_BLOCK))).toEqual(VERSION_1_KEYS);
  });

  it('gives no log for no keys', () => {
    expect(idempotencyLogOfBlock(stored(blockOf([])), 'sku-1')).toBeNull();
  });

  it('refuses a count that does not match the keys given', () => {
    expect(() => idempotencyBlock('sku-1', 3, (write) => keys.forEach((k) => write.key(...k)))).toThrow(/4 idempotency keys where 3 were announced/);
  });

  it('refuses a damaged block, naming the SKU', () => {
    const block = blockOf(keys);
    for (const cut of [1, 3, block.length >> 1, block.length - 1]) {
      expect(() => idempotencyLogOfBlock(block.subarray(0, cut), 'sku-1')).toThrow(/snapshot of SKU sku-1: idempotency block damaged/);
    }
    expect(() => idempotencyLogOfBlock(Buffer.concat([block, Buffer.from([0])]), 'sku-1')).toThrow(/bytes left over after 4 keys/);
    expect(() => idempotencyLogOfBlock(Buffer.concat([blockOf([]), Buffer.from([0])]), 'sku-1')).toThrow(/bytes left over after 0 keys/);
    const newer = Buffer.from(block);
    newer[0] = 12; // version 3
    expect(() => idempotencyLogOfBlock(newer, 'sku-1')).toThrow(/idempotency block version 3 is not known/);
    // The first key's kind follows the header (version, count, time base) and its string; then
    // the mark of its reservation.
    const reader = new BlockReader(block, (what) => new Error(what));
    for (let n = 0; n < 3; n++) reader.number();
    reader.string();
    const badKind = Buffer.from(block);
    badKind[reader.spanEnd] = 12; // kind code 3
    expect(() => idempotencyLogOfBlock(badKind, 'sku-1')).toThrow(/kind of key 0/);
    const badMark = Buffer.from(block);
    badMark[reader.spanEnd + 1] = 2; // -1 (zigzag, then the integer tag), where the mark is 0 or a number + 1
    expect(() => idempotencyLogOfBlock(badMark, 'sku-1')).toThrow(/idempotency block damaged \(reservation of key 0\)/);
  });
});
