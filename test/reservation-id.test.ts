// Reservation ids and the number inside them. The idempotency log keeps a reservation id as its
// number wherever the number gives the id back exactly; every other id must stay a string.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyLog } from '../src/actors/idempotency-log.js';
import { parseReservationId, reservationIdOf, reservationNoAtEnd, reservationNoIn, reservationNoInBytes } from '../src/actors/reservation-id.js';
import type { IdempotencyRecord } from '../src/actors/sku.js';

describe('reservationNoIn', () => {
  it('gives back the number of every id reservationIdOf writes', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 36 ** 10 - 1 }), (sku, no) => {
        expect(reservationNoIn(sku, reservationIdOf(sku, no))).toBe(no);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the largest exact ten-digit number and the SKUs that contain the separator', () => {
    expect(reservationNoIn('sku-1', 'sku-1:zzzzzzzzzz')).toBe(36 ** 10 - 1);
    expect(reservationNoIn('a:b', 'a:b:1a')).toBe(46);
    expect(parseReservationId(reservationIdOf('sku-1', 46))).toEqual({ sku: 'sku-1', no: 46 });
  });

  it.each([
    ['another SKU', 'sku-2:1'],
    ['a SKU this one is a prefix of', 'sku-10:1'],
    ['a SKU that is a prefix of this one', 'sku-:1'],
    ['no number', 'sku-1:'],
    ['no separator', 'sku-11'],
    ['another separator', 'sku-1-1'],
    ['a leading zero', 'sku-1:01'],
    ['upper case', 'sku-1:1A'],
    ['a character outside base 36', 'sku-1:1_'],
    ['eleven digits, beyond an exact number', 'sku-1:10000000000'],
    ['the SKU alone', 'sku-1'],
    ['nothing', ''],
  ])('refuses %s (-1)', (_, id) => {
    expect(reservationNoIn('sku-1', id)).toBe(-1);
  });

  it('reads a lone zero, which reservationIdOf writes for 0', () => {
    expect(reservationNoIn('sku-1', 'sku-1:0')).toBe(0);
  });
});

describe('reservationNoAtEnd', () => {
  it('gives back the number of every id reservationIdOf writes, whatever the SKU', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 36 ** 10 - 1 }), (sku, no) => {
        expect(reservationNoAtEnd(reservationIdOf(sku, no))).toBe(no);
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with reservationNoIn wherever that reads a number (the SKU part aside)', () => {
    const id = fc.oneof(
      fc.tuple(fc.string({ maxLength: 12 }), fc.string({ unit: fc.constantFrom(...'0123456789az:A_'), maxLength: 12, size: 'max' })).map(([sku, tail]) => `${sku}:${tail}`),
      fc.string({ maxLength: 24, size: 'max' }),
    );
    fc.assert(
      fc.property(id, (text) => {
        const cut = text.lastIndexOf(':');
        const strict = cut < 0 ? -1 : reservationNoIn(text.slice(0, cut), text);
        // Both read the same digits (reservationNoAtEnd without looking at the SKU part).
        if (strict >= 0) expect(reservationNoAtEnd(text)).toBe(strict);
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['no number', 'sku-1:'],
    ['no separator', 'sku-11'],
    ['a leading zero', 'sku-1:01'],
    ['upper case', 'sku-1:1A'],
    ['a character outside base 36', 'sku-1:1_'],
    ['eleven digits, beyond an exact number', 'sku-1:10000000000'],
    ['nothing', ''],
  ])('refuses %s (-1)', (_, text) => {
    expect(reservationNoAtEnd(text)).toBe(-1);
  });
});

describe('reservationNoInBytes', () => {
  const inBytes = (sku: string, id: string) => {
    const bytes = Buffer.concat([Buffer.from('pad'), Buffer.from(id, 'utf8'), Buffer.from('pad')]);
    return reservationNoInBytes(sku, bytes, 3, bytes.length - 3);
  };

  it('agrees with reservationNoIn on any id, for an ASCII SKU', () => {
    const asciiSku = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 });
    const idOf = (sku: string) =>
      fc.oneof(
        fc.nat(36 ** 11).map((no) => reservationIdOf(sku, no)),
        fc.string({ unit: 'grapheme', maxLength: 12 }).map((tail) => `${sku}:${tail}`),
        fc.string({ unit: 'grapheme', maxLength: 24, size: 'max' }),
      );
    fc.assert(
      fc.property(asciiSku.chain((sku) => fc.tuple(fc.constant(sku), idOf(sku))), ([sku, id]) => {
        expect(inBytes(sku, id)).toBe(reservationNoIn(sku, id));
      }),
      { numRuns: 3_000 },
    );
  });

  it('gives -1 for a SKU beyond ASCII, whose bytes are not its char codes (the caller reads the string)', () => {
    expect(reservationNoIn('café', 'café:1')).toBe(1);
    expect(inBytes('café', 'café:1')).toBe(-1);
    // 'Ã©' as char codes is C3 A9, which are the UTF-8 bytes of 'é': another SKU's id.
    expect(reservationNoIn('\u00c3\u00a9', '\u00e9:1')).toBe(-1);
    expect(inBytes('\u00c3\u00a9', '\u00e9:1')).toBe(-1);
  });
});

describe('IdempotencyLog', () => {
  const read = (log: IdempotencyLog, from = 0): IdempotencyRecord[] => {
    const records: IdempotencyRecord[] = [];
    log.forEach(from, (...record) => records.push(record));
    return records;
  };

  it('gives back every reservation id as pushed, its own SKU’s and any other', () => {
    const records: IdempotencyRecord[] = [
      ['k1', 'reserve', 'sku-1:1', 10],
      ['k2', 'release', 'sku-2:1', 11],
      ['k3', 'commit', 'sku-1:01', 12],
      ['k4', 'reserve', 'not-an-id', 13],
      ['k5', 'commit', 'sku-1:zzzzzzzzzzz', 14],
      ['k6', 'reserve', 'sku-1:2s', 15],
    ];
    const log = IdempotencyLog.of('sku-1', records);
    expect(log.length).toBe(6);
    expect(read(log)).toEqual(records);
    expect(read(log, 4)).toEqual(records.slice(4));
  });

  it('keeps the columns in step when the oldest keys are dropped', () => {
    const records: IdempotencyRecord[] = [
      ['k1', 'reserve', 'sku-1:1', 10],
      ['k2', 'release', 'other', 20],
      ['k3', 'commit', 'sku-1:3', 30],
    ];
    const log = IdempotencyLog.of('sku-1', records);
    expect(log.countBefore(25)).toBe(2);
    log.dropOldest(log.countBefore(25));
    expect(read(log)).toEqual(records.slice(2));
  });
});
