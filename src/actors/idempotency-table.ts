// A SKU's idempotency keys and their first answers, oldest first (SkuState.idem).
//
// Keys are only ever added at the new end and forgotten from the old end (at the per-SKU cap, or
// past their TTL), so the entries are a queue: chunks of CHUNK entries, numbered in arrival order,
// a chunk dropped once its last key is forgotten. Up to SMALL_MAX keys a Map does it faster;
// past that a hot SKU's keys, one per reserve, would make the Map's all-at-once growth stall the
// shard (growing-index.ts), so they move to the queue with a GrowingIndex over it. Entries are
// numbered from 0 in arrival order; when the numbers reach the index's int32 limit (after two
// billion keys on one SKU) the queue is numbered from 0 again, the index rebuilt at once.

import { ENTRY_NUMBERS_MAX, GrowingIndex } from './growing-index.js';
import { dropOldest } from '../insertion-order.js';

/** Keys kept in a Map; one more moves them to the queue, for good. */
const SMALL_MAX = 4096;
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** Entry n's key and value are at [(n - chunkBase) >> CHUNK_BITS][(n - chunkBase) & CHUNK_MASK]. */
interface Queue<V> {
  readonly keyChunks: (string | undefined)[][];
  readonly valueChunks: (V | undefined)[][];
  /** The number of the first entry of keyChunks[0]. */
  chunkBase: number;
  /** The oldest entry's number, and the next new entry's. */
  first: number;
  next: number;
}

export class IdempotencyTable<V> extends GrowingIndex {
  /** The keys while there are at most SMALL_MAX; null once they moved to `queue`. */
  private small: Map<string, V> | null = new Map();
  private queue: Queue<V> | null = null;

  /** `numbersMax`: where the numbering starts again; lower only in tests. */
  constructor(private readonly numbersMax = ENTRY_NUMBERS_MAX) {
    super();
  }

  get size(): number {
    return this.small !== null ? this.small.size : this.queue!.next - this.queue!.first;
  }

  get(key: string): V | undefined {
    if (this.small !== null) return this.small.get(key);
    const id = this.find(key);
    if (id < 0) return undefined;
    const queue = this.queue!;
    const at = id - queue.chunkBase;
    return queue.valueChunks[at >>> CHUNK_BITS][at & CHUNK_MASK];
  }

  /** A new key joins as the newest; a known one keeps its place and takes the new value. */
  set(key: string, value: V): this {
    const small = this.small;
    if (small !== null) {
      small.set(key, value);
      if (small.size > SMALL_MAX) this.leaveMap(small);
      return this;
    }
    const id = this.find(key);
    if (id >= 0) {
      const queue = this.queue!;
      const at = id - queue.chunkBase;
      queue.valueChunks[at >>> CHUNK_BITS][at & CHUNK_MASK] = value;
    } else this.append(key, value);
    return this;
  }

  /** Forget the `count` oldest keys. */
  dropOldest(count: number): void {
    if (this.small !== null) {
      dropOldest(this.small, count);
      return;
    }
    const queue = this.queue!;
    const { keyChunks, valueChunks } = queue;
    const to = Math.min(queue.next, queue.first + Math.max(0, count));
    for (let id = queue.first; id < to; id++) {
      const at = id - queue.chunkBase;
      const keys = keyChunks[at >>> CHUNK_BITS];
      this.remove(keys[at & CHUNK_MASK]!);
      keys[at & CHUNK_MASK] = undefined;
      valueChunks[at >>> CHUNK_BITS][at & CHUNK_MASK] = undefined;
    }
    queue.first = to;
    while (queue.first - queue.chunkBase >= CHUNK) {
      keyChunks.shift();
      valueChunks.shift();
      queue.chunkBase += CHUNK;
    }
  }

  /** How many of the oldest keys, in a row, have values that `old` accepts. */
  countOldest(old: (value: V) => boolean): number {
    let n = 0;
    this.forEach((value) => {
      if (!old(value)) return false;
      n++;
      return true;
    });
    return n;
  }

  /** Each key and value, oldest first, until `visit` returns false; `from`: starting with the key at that place (oldest 0). */
  forEach(visit: (value: V, key: string) => boolean | void, from = 0): void {
    if (this.small !== null) {
      let i = 0;
      for (const [key, value] of this.small) if (i++ >= from && visit(value, key) === false) return;
      return;
    }
    const { keyChunks, valueChunks, chunkBase, first, next } = this.queue!;
    for (let id = first + Math.max(0, from); id < next; id++) {
      const at = id - chunkBase;
      if (visit(valueChunks[at >>> CHUNK_BITS][at & CHUNK_MASK]!, keyChunks[at >>> CHUNK_BITS][at & CHUNK_MASK]!) === false) return;
    }
  }

  /** The keys, oldest first. */
  keys(): string[] {
    const keys: string[] = [];
    this.forEach((_, key) => void keys.push(key));
    return keys;
  }

  protected keyOf(id: number): string {
    const queue = this.queue!;
    const at = id - queue.chunkBase;
    return queue.keyChunks[at >>> CHUNK_BITS][at & CHUNK_MASK]!;
  }

  private append(key: string, value: V): void {
    if (this.queue!.next >= this.numbersMax) this.renumber();
    const queue = this.queue!;
    const id = queue.next++;
    const at = id - queue.chunkBase;
    if ((at & CHUNK_MASK) === 0) {
      queue.keyChunks.push(new Array<string | undefined>(CHUNK));
      queue.valueChunks.push(new Array<V | undefined>(CHUNK));
    }
    queue.keyChunks[at >>> CHUNK_BITS][at & CHUNK_MASK] = key;
    queue.valueChunks[at >>> CHUNK_BITS][at & CHUNK_MASK] = value;
    this.insert(key, id);
  }

  private leaveMap(small: Map<string, V>): void {
    this.small = null;
    this.queue = { keyChunks: [], valueChunks: [], chunkBase: 0, first: 0, next: 0 };
    for (const [key, value] of small) this.append(key, value);
  }

  /** Number the entries from 0 again, in the same order. */
  private renumber(): void {
    const keys: string[] = [];
    const values: V[] = [];
    this.forEach((value, key) => {
      keys.push(key);
      values.push(value);
    });
    this.clearIndex();
    this.queue = { keyChunks: [], valueChunks: [], chunkBase: 0, first: 0, next: 0 };
    for (let i = 0; i < keys.length; i++) this.append(keys[i], values[i]);
  }
}
