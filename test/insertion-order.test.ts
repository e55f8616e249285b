// Bounded collections forget their oldest entries a batch at a time (src/insertion-order.ts).

import { describe, expect, it } from 'vitest';
import { dropOldest, evictionBatch } from '../src/insertion-order.js';

describe('insertion-order eviction', () => {
  it('drops the oldest entries of a Map in insertion order and reports each', () => {
    const map = new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]);
    map.delete('b');
    map.set('b', 5); // re-inserted: now the newest
    const dropped: [string, number][] = [];
    dropOldest(map, 2, (key, value) => dropped.push([key, value]));
    expect(dropped).toEqual([['a', 1], ['c', 3]]);
    expect([...map.keys()]).toEqual(['d', 'b']);
  });

  it('drops from a Set, never more than it holds, and nothing for a count of zero', () => {
    const set = new Set([1, 2, 3]);
    dropOldest(set, 0);
    expect([...set]).toEqual([1, 2, 3]);
    dropOldest(set, 5);
    expect(set.size).toBe(0);
  });

  it('sizes a batch as 1/64 of the capacity, at least one', () => {
    expect(evictionBatch(1)).toBe(1);
    expect(evictionBatch(127)).toBe(1);
    expect(evictionBatch(128)).toBe(2);
    expect(evictionBatch(1_000_000)).toBe(15_625);
  });
});
