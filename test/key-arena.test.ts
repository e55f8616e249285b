// The key arena: recovery's idempotency keys as bytes in one shared buffer. Every key must come
// back exactly as it went in — across the buffer's growth, in any script, and after the arena is
// retired — and a key too long for it stays a string in its log.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyLog } from '../src/actors/idempotency-log.js';
import { currentKeyArena, KeyArena, retireKeyArena, SLAB_MASK } from '../src/actors/key-arena.js';
import type { IdempotencyRecord } from '../src/actors/sku.js';
import { idempotencyBlock, idempotencyLogOfBlock } from '../src/persistence/idempotency-block.js';

describe('KeyArena', () => {
  const write = (arena: KeyArena, length: number, fill: number): number => {
    const slab = arena.room(length);
    const at = arena.size;
    slab.fill(fill, at & SLAB_MASK, (at & SLAB_MASK) + length);
    arena.take(length);
    return at;
  };
  const bytesAt = (arena: KeyArena, at: number, length: number) => arena.slab(at).subarray(at & SLAB_MASK, (at & SLAB_MASK) + length);

  it('keeps every entry whole in one slab as it grows, and each offset finds its bytes', () => {
    const arena = new KeyArena();
    // 3,001-byte entries do not divide a slab: some slab tails are left unused.
    const offsets = Array.from({ length: 5_000 }, (_, i) => write(arena, 3_001, i % 251));
    expect(arena.size).toBeGreaterThan(5_000 * 3_001);
    offsets.forEach((at, i) => {
      expect((at & SLAB_MASK) + 3_001).toBeLessThanOrEqual(arena.slab(at).length);
      expect(bytesAt(arena, at, 3_001).every((b) => b === i % 251)).toBe(true);
    });
  });

  it('gives back its last slab\'s spare room when asked, keeping every byte taken, and takes more after', () => {
    const arena = new KeyArena();
    const first = write(arena, 1_000_000, 7);
    arena.shrinkToFit();
    expect(arena.slab(first).length).toBe(1_000_000);
    expect(bytesAt(arena, first, 1_000_000).every((b) => b === 7)).toBe(true);
    const second = write(arena, 10, 9);
    expect(arena.slab(second)).not.toBe(arena.slab(first));
    expect(bytesAt(arena, second, 10).every((b) => b === 9)).toBe(true);
    expect(bytesAt(arena, first, 1_000_000).every((b) => b === 7)).toBe(true);
  });

  it('refuses an entry larger than a slab, and a slab past its last', () => {
    expect(() => new KeyArena().room(SLAB_MASK + 2)).toThrow(RangeError);
    const arena = new KeyArena(2);
    write(arena, SLAB_MASK + 1, 1);
    write(arena, SLAB_MASK + 1, 2);
    const size = arena.size;
    expect(() => arena.room(1)).toThrow(/the key arena is full/);
    expect(arena.size).toBe(size);
  });
});

describe('IdempotencyLog keys in the arena', () => {
  const keysOf = (log: IdempotencyLog): string[] => {
    const keys: string[] = [];
    log.forEach(0, (key) => keys.push(key));
    return keys;
  };
  const logOf = (keys: string[]): IdempotencyLog => IdempotencyLog.of('sku-1', keys.map((key, i) => [key, 'reserve', `sku-1:${i + 1}`, i] as IdempotencyRecord));

  it('gives back every key it stored, whatever its characters', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 200, size: 'max' }), { maxLength: 50, size: 'max' }), (keys) => {
        expect(keysOf(logOf(keys))).toEqual(keys);
      }),
      { numRuns: 500 },
    );
  });

  it('stores a key whose characters leave ASCII part way as its UTF-8 bytes, whole', () => {
    const keys = ['order-42:é-retry', 'abcdefgh€', 'plain-ascii-key', '€', 'x'.repeat(100) + '日本'];
    const log = logOf(keys);
    expect(keysOf(log)).toEqual(keys);
    const written: Buffer[] = [];
    log.writeEach({ key: () => expect.fail('every key is in the arena'), keyBytes: (bytes, start, end) => written.push(Buffer.from(bytes.subarray(start, end))) });
    expect(written).toEqual(keys.map((key) => Buffer.from(key, 'utf8')));
  });

  it('follows a log across the arena\'s slabs, two logs interleaved', () => {
    const arenaBefore = currentKeyArena().size;
    // 20,000-byte keys: ~600 of them fill three slabs.
    const big = Array.from({ length: 600 }, (_, i) => `${i}:`.padEnd(20_000, 'k'));
    const small = Array.from({ length: 600 }, (_, i) => `replay-key-${i.toString(36).padStart(8, '0')}`);
    const bigLog = new IdempotencyLog('sku-1');
    const smallLog = new IdempotencyLog('sku-2');
    big.forEach((key, i) => {
      bigLog.push(key, 'reserve', `sku-1:${i + 1}`, i);
      smallLog.push(small[i], 'commit', `sku-2:${i + 1}`, i);
    });
    expect(currentKeyArena().size - arenaBefore).toBeGreaterThan(2 * (SLAB_MASK + 1));
    expect(keysOf(bigLog)).toEqual(big);
    expect(keysOf(smallLog)).toEqual(small);
    const written: string[] = [];
    bigLog.writeEach({ key: () => expect.fail('every key is in the arena'), keyBytes: (bytes, start, end) => written.push(Buffer.from(bytes.subarray(start, end)).toString()) });
    expect(written).toEqual(big);
    bigLog.dropOldest(450);
    expect(keysOf(bigLog)).toEqual(big.slice(450));
    expect(bigLog.countBefore(500)).toBe(50);
  });

  it('stores keys given as their UTF-8 bytes, from anywhere in a buffer, as push would', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 200, size: 'max' }), { maxLength: 50, size: 'max' }), fc.nat(16), (keys, pad) => {
        // All the keys in one buffer, after `pad` bytes: as a snapshot block holds them.
        const parts = keys.map((key) => Buffer.from(key, 'utf8'));
        const source = Buffer.concat([Buffer.alloc(pad, 0xff), ...parts]);
        const log = new IdempotencyLog('sku-1');
        let start = pad;
        parts.forEach((part, i) => {
          log.pushBytes(source, start, start + part.length, 'commit', i + 1, i);
          start += part.length;
        });
        expect(keysOf(log)).toEqual(keys);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a key of up to 65,535 bytes (21,845 UTF-16 units from a string) in the arena, a longer one aside', () => {
    const log = new IdempotencyLog('sku-1');
    // In the arena, a key's bytes are taken from it; aside, only the entry's fixed fields are.
    const inArena = (push: () => void, keyBytes: number) => {
      const before = currentKeyArena().size;
      push();
      return currentKeyArena().size - before >= keyBytes;
    };
    const longestString = 'é'.repeat(21_845);
    const longestBytes = Buffer.alloc(0xffff, 'k');
    expect(inArena(() => log.push(longestString, 'reserve', 'sku-1:1', 1), Buffer.byteLength(longestString))).toBe(true);
    expect(inArena(() => log.push('a'.repeat(21_846), 'reserve', 'sku-1:2', 2), 21_846)).toBe(false);
    expect(inArena(() => log.pushBytes(longestBytes, 0, longestBytes.length, 'reserve', 3, 3), 0xffff)).toBe(true);
    expect(inArena(() => log.pushBytes(Buffer.alloc(0x10000, 'k'), 0, 0x10000, 'reserve', 4, 4), 0x10000)).toBe(false);
    expect(keysOf(log)).toEqual([longestString, 'a'.repeat(21_846), longestBytes.toString(), 'k'.repeat(0x10000)]);
  });
});

describe('IdempotencyLog with the arena', () => {
  const read = (log: IdempotencyLog): IdempotencyRecord[] => {
    const records: IdempotencyRecord[] = [];
    log.forEach(0, (...record) => records.push(record));
    return records;
  };

  it('keeps several logs interleaved in one arena apart, through pushes, drops and age counts (model)', () => {
    const skus = ['sku-a', 'sku-b', 'sku-c'];
    const record = fc.tuple(
      fc.oneof(fc.string({ maxLength: 20, size: 'max' }), fc.constant('k'.repeat(30_000))),
      fc.constantFrom<IdempotencyRecord[1]>('reserve', 'release', 'commit'),
      fc.oneof(fc.nat(1_000_000), fc.constant('not-an-id')),
      fc.integer({ min: 0, max: 1_000 }),
    );
    // Pushes outnumber drops, so logs grow long enough for drops to stop part way along them.
    const op = fc.oneof(
      { arbitrary: fc.record({ push: record, log: fc.nat(skus.length - 1), asBytes: fc.boolean() }), weight: 6 },
      { arbitrary: fc.record({ drop: fc.nat(12), log: fc.nat(skus.length - 1) }), weight: 1 },
      { arbitrary: fc.record({ before: fc.integer({ min: 0, max: 1_000 }), log: fc.nat(skus.length - 1) }), weight: 1 },
    );
    fc.assert(
      // size 'max': fast-check's default size would keep the arrays to ~10 operations.
      fc.property(fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
        const logs = skus.map((sku) => new IdempotencyLog(sku));
        const models: IdempotencyRecord[][] = skus.map(() => []);
        for (const o of ops) {
          const log = logs[o.log];
          const model = models[o.log];
          if ('push' in o) {
            const [key, kind, reservation, at] = o.push;
            const id = typeof reservation === 'number' ? `${skus[o.log]}:${reservation.toString(36)}` : reservation;
            if (o.asBytes) {
              const bytes = Buffer.from(key, 'utf8');
              log.pushBytes(bytes, 0, bytes.length, kind, typeof reservation === 'number' ? reservation : id, at);
            } else log.push(key, kind, id, at);
            model.push([key, kind, id, at]);
          } else if ('drop' in o) {
            log.dropOldest(o.drop);
            model.splice(0, o.drop);
          } else {
            let n = 0;
            while (n < model.length && model[n][3] < o.before) n++;
            expect(log.countBefore(o.before)).toBe(n);
          }
        }
        logs.forEach((log, i) => {
          expect(log.length).toBe(models[i].length);
          expect(read(log)).toEqual(models[i]);
        });
      }),
      { numRuns: 300 },
    );
  });

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
    const id = (sku: string) => fc.oneof(fc.nat(36 ** 10 - 1).map((no) => `${sku}:${no.toString(36)}`), fc.string({ unit: 'grapheme', maxLength: 20, size: 'max' }));
    const record = (sku: string) =>
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 60, size: 'max' }), fc.constantFrom('reserve', 'release', 'commit'), id(sku), fc.double({ min: 0, max: 4e12, noNaN: true })) as fc.Arbitrary<IdempotencyRecord>;
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).chain((sku) => fc.tuple(fc.constant(sku), fc.array(record(sku), { minLength: 1, maxLength: 30, size: 'max' }))),
        ([sku, records]) => {
          const block = Buffer.from(idempotencyBlock(sku, records.length, (write) => records.forEach((r) => write.key(...r))));
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
    const fromLog = Buffer.from(idempotencyBlock('sku-1', log.length, (write) => log.writeEach(write)));
    const fromStrings = Buffer.from(idempotencyBlock('sku-1', records.length, (write) => records.forEach((record) => write.key(...record))));
    expect(fromLog.equals(fromStrings)).toBe(true);
    expect(read(idempotencyLogOfBlock(fromLog, 'sku-1')!)).toEqual(records);
  });
});
