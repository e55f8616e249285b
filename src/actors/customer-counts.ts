// How many open reservations each customer has on one SKU (anti-hoarding), for SKUs holding as
// many open reservations as one customer may (open-holds.ts).
//
// A SKU in a sale over many SKUs has a handful of customers: a Map, which is the fastest for that.
// A hot SKU has one per shopper, hundreds of thousands, and a Map's all-at-once growth stalls its
// shard for tens of milliseconds (growing-index.ts): past SMALL_MAX customers the counts move to
// entries of their own, indexed by a GrowingIndex. An entry's number is reused once its customer
// has no open hold left, so the entries never outnumber the most customers the SKU has had at once.

import { GrowingIndex } from './growing-index.js';

/** Customers kept in a Map; one more moves them to the growing index, for good. */
const SMALL_MAX = 4096;
const CHUNK_BITS = 10;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;

/** Entry n's customer and count are at [n >> CHUNK_BITS][n & CHUNK_MASK]. */
interface Entries {
  readonly keys: (string | undefined)[][];
  readonly counts: Int32Array[];
  /** Entry numbers given up, to reuse before making a new one. */
  readonly free: number[];
  made: number;
}

export class CustomerCounts extends GrowingIndex {
  /** The counts while there are at most SMALL_MAX customers; null once they moved to `entries`. */
  private small: Map<string, number> | null = new Map();
  private entries: Entries | null = null;

  get size(): number {
    return this.small !== null ? this.small.size : this.indexed;
  }

  /** The customer's count, undefined when it has no open hold. */
  get(customerId: string): number | undefined {
    if (this.small !== null) return this.small.get(customerId);
    const id = this.find(customerId);
    return id < 0 ? undefined : this.entries!.counts[id >>> CHUNK_BITS][id & CHUNK_MASK];
  }

  increment(customerId: string): void {
    const small = this.small;
    if (small !== null) {
      small.set(customerId, (small.get(customerId) ?? 0) + 1);
      if (small.size > SMALL_MAX) this.leaveMap(small);
      return;
    }
    const id = this.find(customerId);
    if (id >= 0) this.entries!.counts[id >>> CHUNK_BITS][id & CHUNK_MASK]++;
    else this.add(customerId, 1);
  }

  /** One hold fewer; the customer goes at zero. A customer with no count is a caller's bug. */
  decrement(customerId: string): void {
    const small = this.small;
    if (small !== null) {
      const left = small.get(customerId)! - 1;
      if (left > 0) small.set(customerId, left);
      else small.delete(customerId);
      return;
    }
    const id = this.find(customerId);
    if (id < 0) throw new Error(`customer ${customerId} has no open reservation counted`);
    const entries = this.entries!;
    if (--entries.counts[id >>> CHUNK_BITS][id & CHUNK_MASK] > 0) return;
    this.remove(customerId);
    entries.keys[id >>> CHUNK_BITS][id & CHUNK_MASK] = undefined;
    entries.free.push(id);
  }

  /** Set a count outright (tests that break the invariants on purpose use it). */
  set(customerId: string, count: number): this {
    if (this.small !== null) this.small.set(customerId, count);
    else {
      const id = this.find(customerId);
      if (id >= 0) this.entries!.counts[id >>> CHUNK_BITS][id & CHUNK_MASK] = count;
      else this.add(customerId, count);
    }
    return this;
  }

  *[Symbol.iterator](): IterableIterator<[string, number]> {
    if (this.small !== null) {
      yield* this.small;
      return;
    }
    const { keys, counts, made } = this.entries!;
    for (let id = 0; id < made; id++) {
      const key = keys[id >>> CHUNK_BITS][id & CHUNK_MASK];
      if (key !== undefined) yield [key, counts[id >>> CHUNK_BITS][id & CHUNK_MASK]];
    }
  }

  protected keyOf(id: number): string {
    return this.entries!.keys[id >>> CHUNK_BITS][id & CHUNK_MASK]!;
  }

  private add(customerId: string, count: number): void {
    const entries = this.entries!;
    let id = entries.free.pop();
    if (id === undefined) {
      id = entries.made++;
      if ((id & CHUNK_MASK) === 0) {
        entries.keys.push(new Array<string | undefined>(CHUNK_MASK + 1));
        entries.counts.push(new Int32Array(CHUNK_MASK + 1));
      }
    }
    entries.keys[id >>> CHUNK_BITS][id & CHUNK_MASK] = customerId;
    entries.counts[id >>> CHUNK_BITS][id & CHUNK_MASK] = count;
    this.insert(customerId, id);
  }

  private leaveMap(small: Map<string, number>): void {
    this.small = null;
    this.entries = { keys: [], counts: [], free: [], made: 0 };
    for (const [customerId, count] of small) this.add(customerId, count);
  }
}
