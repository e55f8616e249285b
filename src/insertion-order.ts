// Bounded Maps and Sets that forget their oldest entries (insertion order).
//
// Deleting the first entry and reading `keys().next()` again for the next one is quadratic in
// V8: a deleted entry stays as a hole at the table's front until the table rehashes, and every
// new iterator walks past all of them. With a 10k-SKU stock series under churn (a Map then) that
// was a third of a shard's time; with a 1M-key idempotency map it would be milliseconds per
// reserve. So entries are forgotten a batch at a time, in one pass of one iterator.

/** Entries forgotten at once when a collection of this capacity is full. */
export function evictionBatch(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 64));
}

/** Delete the `count` oldest entries in one pass; `onDrop` sees each key (and value) dropped. */
export function dropOldest<K, V>(collection: Map<K, V>, count: number, onDrop?: (key: K, value: V) => void): void;
export function dropOldest<K>(collection: Set<K>, count: number): void;
export function dropOldest<K, V>(collection: Map<K, V> | Set<K>, count: number, onDrop?: (key: K, value: V) => void): void {
  if (count <= 0) return;
  if (collection instanceof Map && onDrop !== undefined) {
    for (const [key, value] of collection) {
      collection.delete(key);
      onDrop(key, value);
      if (--count === 0) return;
    }
    return;
  }
  // Keys alone where no one needs the values: walking a Map's entries makes a pair per entry.
  for (const key of collection.keys()) {
    collection.delete(key);
    if (--count === 0) return;
  }
}
