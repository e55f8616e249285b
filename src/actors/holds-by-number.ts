// A SKU's open reservations by their number within the SKU (`arrival`, the last part of the id),
// for SKUs that hold two or more (open-holds.ts keeps a lone one without this).
//
// Why not a Map by id: on a hot SKU the Map holds hundreds of thousands of holds, and its table
// is tens of MiB. A lookup lands on a random bucket and walks a chain of random entries, each a
// cache miss; in a perf profile of one hot SKU, V8's Map lookups were ~30 % of the reserve path,
// 11 % of it while placing the hold (docs/benchmarks.md, "Open holds in runs of numbers").
// Numbers are issued in order and holds mostly end in the order they were placed, so here they
// sit in chunks of consecutive numbers: a new hold goes into the newest chunk, which is in cache,
// and the Map of chunks is 1/32 the size of a Map of holds.
//
// A chunk goes when its last hold ends. One long-lived hold keeps its chunk (272 B) alive: the
// worst case, every hold alone in its chunk, costs ~270 B a hold more than a Map entry, and is
// bounded like every hold by `reservationsPerSkuMax`.

import type { Reservation } from './types.js';

const CHUNK_SIZE = 32;

/** Holds numbered chunkNo × CHUNK_SIZE + i at index i; never all empty while in `chunks`. */
type Chunk = (Reservation | undefined)[];

export class HoldsByNumber {
  /** Chunk number → chunk, in the order chunks were made: ascending, as numbers are issued. */
  private readonly chunks = new Map<number, Chunk>();
  /**
   * The chunk new holds go to, and its number (-1: none): a SKU met at random in a sale over many
   * SKUs is out of cache, and this spares a reserve the walk through the Map of chunks.
   */
  private newestNo = -1;
  private newest: Chunk | null = null;
  size = 0;

  get(no: number): Reservation | undefined {
    const chunkNo = Math.floor(no / CHUNK_SIZE);
    const chunk = this.chunkAt(chunkNo);
    return chunk === undefined ? undefined : chunk[no - chunkNo * CHUNK_SIZE];
  }

  /** Files `r` under its number; false, changing nothing, when that number is taken. */
  add(r: Reservation): boolean {
    const no = r.arrival;
    const chunkNo = Math.floor(no / CHUNK_SIZE);
    let chunk = this.chunkAt(chunkNo);
    if (chunk === undefined) {
      chunk = new Array<Reservation | undefined>(CHUNK_SIZE);
      this.chunks.set(chunkNo, chunk);
    }
    const slot = no - chunkNo * CHUNK_SIZE;
    if (chunk[slot] !== undefined) return false;
    chunk[slot] = r;
    if (chunkNo > this.newestNo) {
      this.newestNo = chunkNo;
      this.newest = chunk;
    }
    this.size++;
    return true;
  }

  /** Takes `r` out; false, changing nothing, when it is not the hold filed under its number. */
  delete(r: Reservation): boolean {
    const no = r.arrival;
    const chunkNo = Math.floor(no / CHUNK_SIZE);
    const chunk = this.chunkAt(chunkNo);
    const slot = no - chunkNo * CHUNK_SIZE;
    if (chunk === undefined || chunk[slot] !== r) return false;
    chunk[slot] = undefined;
    this.size--;
    // 32 slots in one or two cache lines just touched: cheaper than a count kept per chunk.
    for (let i = 0; i < CHUNK_SIZE; i++) if (chunk[i] !== undefined) return true;
    this.chunks.delete(chunkNo);
    if (chunkNo === this.newestNo) {
      this.newestNo = -1;
      this.newest = null;
    }
    return true;
  }

  private chunkAt(chunkNo: number): Chunk | undefined {
    return this.newest !== null && chunkNo === this.newestNo ? this.newest : this.chunks.get(chunkNo);
  }

  /** The holds, by chunk in the order the chunks were made, and by number within each. */
  *values(): IterableIterator<Reservation> {
    for (const chunk of this.chunks.values()) {
      for (let i = 0; i < CHUNK_SIZE; i++) {
        const r = chunk[i];
        if (r !== undefined) yield r;
      }
    }
  }

  /** The holds numbered `from` to `to` (exclusive), by number: one checkpoint page of them. */
  inRange(from: number, to: number): Reservation[] {
    const found: Reservation[] = [];
    for (let chunkNo = Math.floor(from / CHUNK_SIZE), last = Math.floor((to - 1) / CHUNK_SIZE); chunkNo <= last; chunkNo++) {
      const chunk = this.chunkAt(chunkNo);
      if (chunk === undefined) continue;
      const base = chunkNo * CHUNK_SIZE;
      for (let i = Math.max(0, from - base), end = Math.min(CHUNK_SIZE, to - base); i < end; i++) {
        const r = chunk[i];
        if (r !== undefined) found.push(r);
      }
    }
    return found;
  }

  /** [number, hold] pairs, for the invariant that each is filed under its own number. */
  *entries(): IterableIterator<[number, Reservation]> {
    for (const [chunkNo, chunk] of this.chunks) {
      for (let i = 0; i < CHUNK_SIZE; i++) {
        const r = chunk[i];
        if (r !== undefined) yield [chunkNo * CHUNK_SIZE + i, r];
      }
    }
  }

  /** No empty chunk is kept, the holds counted are the holds filed, and `newest` is in the Map. */
  countsAgree(): boolean {
    let total = 0;
    for (const chunk of this.chunks.values()) {
      let live = 0;
      for (let i = 0; i < CHUNK_SIZE; i++) if (chunk[i] !== undefined) live++;
      if (live === 0) return false;
      total += live;
    }
    const newestFiled = this.newestNo === -1 ? this.newest === null : this.chunks.get(this.newestNo) === this.newest;
    return total === this.size && newestFiled;
  }
}
