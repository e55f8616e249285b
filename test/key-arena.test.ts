// The key arena: recovery's idempotency keys as bytes in one shared buffer. Every key must come
// back exactly as it went in — across the buffer's growth, in any script, and after the arena is
// retired — and a key too long for it stays a string in its log.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyLog } from '../src/actors/idempotency-log.js';
import { currentKeyArena, KeyArena, retireKeyArena } from '../src/actors/key-arena.js';
import type { IdempotencyRecord } from '../src/actors/sku.js';
import { idempotencyBlock, idempotencyLogOfBlock } from '../src/persistence/idempotency-block.js';

describe('KeyArena', () => {
  it('gives back every string it stored, whatever its characters', () => {
    const arena = new KeyArena();
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 200 }), { maxLength: 50 }), (keys) => {
        const offsets = keys.map((key) => arena.add(key));
        expect(offsets.every((at) => at >= 0)).toBe(true);
        expect(offsets.map((at) => arena.key(at))).toEqual(keys);
      }),
      { numRuns: 500 },
    );
  });

  it('stores a key whose characters leave ASCII part way as its UTF-8 bytes, whole', () => {
    const arena = new KeyArena();
    const keys = ['order-42:é-retry', 'abcdefgh€', 'plain-ascii-key', '€', 'x'.repeat(100) + '日本'];
    const offsets = keys.map((key) => arena.add(key));
    keys.forEach((key, i) => {
      expect(arena.key(offsets[i])).toBe(key);
      expect(arena.bytesView.subarray(arena.keyStart(offsets[i]), arena.keyEnd(offsets[i]))).toEqual(Buffer.from(key, 'utf8'));
    });
  });

  it('keeps earlier keys when it grows past its first buffer', () => {
    const arena = new KeyArena();
    const keys = Array.from({ length: 60_000 }, (_, i) => `replay-key-${i.toString(36).padStart(8, '0')}`);
    const offsets = keys.map((key) => arena.add(key));
    expect(arena.size).toBeGreaterThan(1 << 20);
    expect(offsets.map((at) => arena.key(at))).toEqual(keys);
  });

  it('stores keys given as their UTF-8 bytes, from anywhere in a buffer, as add would', () => {
    const arena = new KeyArena();
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 200 }), { maxLength: 50 }), fc.nat(16), (keys, pad) => {
        // All the keys in one buffer, after `pad` bytes: as a snapshot block holds them.
        const parts = keys.map((key) => Buffer.from(key, 'utf8'));
        const source = Buffer.concat([Buffer.alloc(pad, 0xff), ...parts]);
        let start = pad;
        const offsets = parts.map((part) => {
          const at = arena.addBytes(source, start, start + part.length);
          start += part.length;
          return at;
        });
        expect(offsets.map((at) => arena.key(at))).toEqual(keys);
      }),
      { numRuns: 500 },
    );
    const longest = Buffer.alloc(0xffff, 'k');
    expect(arena.key(arena.addBytes(longest, 0, longest.length))).toBe(longest.toString());
    expect(arena.addBytes(Buffer.alloc(0x10000, 'k'), 0, 0x10000)).toBe(-1);
  });

  it('stores a key of 21,845 UTF-16 units and refuses one longer (-1)', () => {
    const arena = new KeyArena();
    const longest = 'é'.repeat(21_845);
    expect(arena.key(arena.add(longest))).toBe(longest);
    expect(arena.add('a'.repeat(21_846))).toBe(-1);
  });
});

describe('IdempotencyLog with the arena', () => {
  const read = (log: IdempotencyLog): IdempotencyRecord[] => {
    const records: IdempotencyRecord[] = [];
    log.forEach(0, (...record) => records.push(record));
    return records;
  };

  it('keeps a key the arena refuses as a string, beside keys it stored', () => {
    const records: IdempotencyRecord[] = [
      ['key-00000001', 'reserve', 'sku-1:1', 1],
      ['k'.repeat(30_000), 'release', 'sku-1:1', 2],
      ['clé-ünïcode-3', 'commit', 'sku-1:2', 3],
    ];
    expect(read(IdempotencyLog.of('sku-1', records))).toEqual(records);
  });

  it('still reads its keys after the arena it wrote to is retired, and later logs use a new one', () => {
    const before = currentKeyArena();
    const old = IdempotencyLog.of('sku-1', [['key-before-retire', 'reserve', 'sku-1:1', 1]]);
    retireKeyArena();
    expect(currentKeyArena()).not.toBe(before);
    const sizeOfNew = currentKeyArena().size;
    const later = IdempotencyLog.of('sku-1', [['key-after-retire', 'reserve', 'sku-1:2', 2]]);
    expect(currentKeyArena().size).toBeGreaterThan(sizeOfNew);
    expect(read(old)).toEqual([['key-before-retire', 'reserve', 'sku-1:1', 1]]);
    expect(read(later)).toEqual([['key-after-retire', 'reserve', 'sku-1:2', 2]]);
  });

  it('reads back any keys and reservation ids of any SKU from a snapshot block, as they were written', () => {
    const id = (sku: string) => fc.oneof(fc.nat(36 ** 10 - 1).map((no) => `${sku}:${no.toString(36)}`), fc.string({ unit: 'grapheme', maxLength: 20 }));
    const record = (sku: string) =>
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom('reserve', 'release', 'commit'), id(sku), fc.double({ min: 0, max: 4e12, noNaN: true })) as fc.Arbitrary<IdempotencyRecord>;
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).chain((sku) => fc.tuple(fc.constant(sku), fc.array(record(sku), { minLength: 1, maxLength: 30 }))),
        ([sku, records]) => {
          const block = Buffer.from(idempotencyBlock(records.length, (write) => records.forEach((r) => write.key(...r))));
          expect(read(idempotencyLogOfBlock(block, sku)!)).toEqual(records);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes its keys into a snapshot block byte for byte as the strings would be, and reads back', () => {
    const records: IdempotencyRecord[] = [
      ['key-00000001', 'reserve', 'sku-1:1', 1],
      ['clé-ünïcode-2', 'release', 'sku-1:1', 2],
      ['k'.repeat(30_000), 'commit', 'sku-1:2', 3],
      ['key-00000004', 'reserve', 'other:9', 4.5],
    ];
    const log = IdempotencyLog.of('sku-1', records);
    const fromLog = Buffer.from(idempotencyBlock(log.length, (write) => log.writeEach(write)));
    const fromStrings = Buffer.from(idempotencyBlock(records.length, (write) => records.forEach((record) => write.key(...record))));
    expect(fromLog.equals(fromStrings)).toBe(true);
    expect(read(idempotencyLogOfBlock(fromLog, 'sku-1')!)).toEqual(records);
  });
});
