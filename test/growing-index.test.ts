// The growing index (growing-index.ts) and the two tables over it: customers' hold counts and
// idempotency keys. Each is driven against a plain Map through long runs of operations that
// cross the Map-to-index switch, grow the index several times, shrink it back, and remove keys
// while a resize is still moving slots. A weak hash makes most keys collide, so probes wrap
// around the table and removals shift whole runs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustomerCounts } from '../src/actors/customer-counts.js';
import { GrowingIndex, hashOf } from '../src/actors/growing-index.js';
import { IdempotencyTable } from '../src/actors/idempotency-table.js';
// Seeded, so a failing fast-check seed replays the same operations.
import { Rng } from '../bench/common.js';

/** An index over keys kept in a Map, with a hash the test chooses. */
class KeysIndex extends GrowingIndex {
  private readonly keys = new Map<number, string>();
  constructor(private readonly hashWith: (key: string) => number) {
    super();
  }
  protected override hash(key: string): number {
    return this.hashWith(key);
  }
  protected keyOf(id: number): string {
    return this.keys.get(id)!;
  }
  lookup(key: string): number {
    return this.find(key);
  }
  add(key: string, id: number): void {
    this.keys.set(id, key);
    this.insert(key, id);
  }
  take(key: string): number {
    const id = this.remove(key);
    if (id >= 0) this.keys.delete(id);
    return id;
  }
  get count(): number {
    return this.indexed;
  }
  get slots(): number {
    return this.capacity;
  }
  get moving(): boolean {
    return this.resizing;
  }
}

const hashes = {
  full: hashOf,
  // Four hashes for every key: long runs, wrap-around probes, removals that shift runs back.
  weak: (key: string) => key.length & 3,
  // Hashes that agree in their low bits only: keys collide in the slot and differ in the hash.
  lowBits: (key: string) => (hashOf(key) & 0xff) | 0x10000,
};

describe('growing index', () => {
  for (const [name, hash] of Object.entries(hashes)) {
    it(`finds, adds and removes as a Map does, through growth and shrinking (${name} hash)`, () => {
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 50, max: name === 'full' ? 5_000 : name === 'weak' ? 400 : 1_500 }), (seed, keysMax) => {
          const rng = new Rng(seed);
          const index = new KeysIndex(hash);
          const model = new Map<string, number>();
          let nextId = 0;
          let sawMove = false;
          // Grow towards keysMax, then mostly remove, then grow again: both resizes happen.
          for (const addPercent of [80, 15, 70]) {
            for (let op = 0; op < keysMax * 2; op++) {
              const key = `customer-${rng.int(Math.floor(keysMax * 1.5))}`;
              // Compared by hand, not with expect: tens of thousands of operations per run.
              if (rng.int(100) < addPercent) {
                if (!model.has(key)) {
                  model.set(key, nextId);
                  index.add(key, nextId++);
                }
                if (index.lookup(key) !== model.get(key)) throw new Error(`${key} found as ${index.lookup(key)}, not ${model.get(key)}`);
              } else {
                const taken = index.take(key);
                if (taken !== (model.get(key) ?? -1)) throw new Error(`removing ${key} took ${taken}, not ${model.get(key) ?? -1}`);
                model.delete(key);
                if (index.lookup(key) !== -1) throw new Error(`${key} found after its removal`);
              }
              sawMove ||= index.moving;
            }
            expect(index.count).toBe(model.size);
            for (const [key, id] of model) if (index.lookup(key) !== id) throw new Error(`${key} found as ${index.lookup(key)}, not ${id}`);
            // After the removals the table has shrunk to within a few times its keys.
            if (addPercent < 50) expect(index.slots).toBeLessThanOrEqual(Math.max(64, model.size * 32));
          }
          return sawMove || keysMax < 100;
        }),
        { numRuns: 20 },
      );
    });
  }

  it('moves a table a step at a time: a resize is under way across later operations, and removal during it is seen', () => {
    const index = new KeysIndex(hashOf);
    let id = 0;
    // The first resize moves a 64-slot table in one step; the second moves 256 slots in four.
    while (!index.moving || id < 100) index.add(`k-${id}`, id++);
    const grownAt = id;
    // The key from before the resize is still found while its slot waits in the old table.
    expect(index.lookup('k-0')).toBe(0);
    expect(index.take('k-1')).toBe(1);
    expect(index.lookup('k-1')).toBe(-1);
    let steps = 0;
    while (index.moving) {
      index.add(`k-${id}`, id++);
      steps++;
    }
    expect(steps).toBeGreaterThan(0);
    for (let k = 0; k < id; k++) expect(index.lookup(`k-${k}`)).toBe(k === 1 ? -1 : k);
    expect(index.count).toBe(id - 1);
    expect(grownAt).toBe(129);
  });
});

describe('customer counts', () => {
  it('count as a Map does, across the switch from a Map to the index and back down', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 100, max: 12_000 }), (seed, customers) => {
        const rng = new Rng(seed);
        const counts = new CustomerCounts();
        const model = new Map<string, number>();
        for (const upPercent of [75, 20]) {
          for (let op = 0; op < customers * 3; op++) {
            const customer = `c-${rng.int(customers)}`;
            const had = model.get(customer) ?? 0;
            if (had === 0 || rng.int(100) < upPercent) {
              counts.increment(customer);
              model.set(customer, had + 1);
            } else {
              counts.decrement(customer);
              if (had === 1) model.delete(customer);
              else model.set(customer, had - 1);
            }
            if (counts.get(customer) !== model.get(customer)) throw new Error(`${customer} counted ${counts.get(customer)}, not ${model.get(customer)}`);
          }
          expect(counts.size).toBe(model.size);
          expect(new Map(counts)).toEqual(model);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('refuse to count down a customer with no hold rather than go negative', () => {
    const counts = new CustomerCounts();
    for (let i = 0; i < 5_000; i++) counts.increment(`c-${i}`);
    expect(() => counts.decrement('nobody')).toThrow(/customer nobody has no open reservation counted/);
    expect(counts.size).toBe(5_000);
  });
});

describe('idempotency table', () => {
  it('keeps keys oldest first as a Map does, through the switch, overwrites, drops and sweeps', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 100, max: 10_000 }), (seed, keys) => {
        const rng = new Rng(seed);
        const table = new IdempotencyTable<number>();
        const model = new Map<string, number>();
        let next = 0;
        for (let op = 0; op < keys * 3; op++) {
          const r = rng.int(100);
          if (r < 70) {
            const key = `idem-${next}`;
            table.set(key, next);
            model.set(key, next++);
          } else if (r < 85 && model.size > 0) {
            // A known key takes a new value and keeps its place (an ended reservation's key).
            const key = `idem-${next - 1 - rng.int(model.size)}`;
            if (model.has(key)) {
              table.set(key, -next);
              model.set(key, -next);
            }
          } else if (r < 97) {
            const count = rng.int(Math.min(2_000, model.size + 2));
            table.dropOldest(count);
            for (const key of [...model.keys()].slice(0, count)) model.delete(key);
          } else {
            // Sweep like forgetExpiredIdempotency: the oldest whose value is below a bound.
            const bound = next - rng.int(3_000);
            const swept = table.countOldest((value) => Math.abs(value) < bound);
            let expected = 0;
            for (const value of model.values()) {
              if (Math.abs(value) >= bound) break;
              expected++;
            }
            expect(swept).toBe(expected);
          }
          const probe = `idem-${rng.int(Math.max(1, next))}`;
          if (table.get(probe) !== model.get(probe)) throw new Error(`${probe} read ${table.get(probe)}, not ${model.get(probe)}`);
        }
        expect(table.size).toBe(model.size);
        expect(table.keys()).toEqual([...model.keys()]);
        const visited: [string, number][] = [];
        table.forEach((value, key) => void visited.push([key, value]));
        expect(visited).toEqual([...model]);
      }),
      { numRuns: 12 },
    );
  });

  it('numbers its keys from 0 again when the numbering reaches its limit, keeping every key and the order', () => {
    // A limit of 20,000 numbers stands for the int32 one; keys come and go as at a capped SKU.
    const table = new IdempotencyTable<number>(20_000);
    const model = new Map<string, number>();
    for (let i = 0; i < 75_000; i++) {
      table.set(`k-${i}`, i);
      model.set(`k-${i}`, i);
      if (model.size > 9_000) {
        table.dropOldest(1_000);
        for (const key of [...model.keys()].slice(0, 1_000)) model.delete(key);
      }
    }
    expect(table.size).toBe(model.size);
    expect(table.keys()).toEqual([...model.keys()]);
    for (const [key, value] of model) expect(table.get(key)).toBe(value);
    expect(table.get('k-0')).toBeUndefined();
  });

  it('forgets every key when asked to drop more than it holds, and takes new ones after', () => {
    const table = new IdempotencyTable<string>();
    for (let i = 0; i < 6_000; i++) table.set(`k-${i}`, `v-${i}`);
    table.dropOldest(10_000);
    expect(table.size).toBe(0);
    expect(table.get('k-5999')).toBeUndefined();
    table.set('k-new', 'v-new');
    expect(table.keys()).toEqual(['k-new']);
    expect(table.get('k-new')).toBe('v-new');
  });
});
