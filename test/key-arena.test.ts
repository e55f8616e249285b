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

  it('keeps earlier keys when it grows past its first buffer', () => {
    const arena = new KeyArena();
    const keys = Array.from({ length: 60_000 }, (_, i) => `replay-key-${i.toString(36).padStart(8, '0')}`);
    const offsets = keys.map((key) => arena.add(key));
    expect(arena.size).toBeGreaterThan(1 << 20);
    expect(offsets.map((at) => arena.key(at))).toEqual(keys);
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
