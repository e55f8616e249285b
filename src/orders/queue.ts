// The orders waiting on one SKU, kept in service order: pre-orders by arrival (their positions
// were promised), then backorders by priority (vip first), then arrival. Kept sorted on insert
// (binary search, one splice) so a burst of n placements costs n log n comparisons rather than
// n sorts, and a position is found by binary search.

import type { QueuePlace } from './model.js';

interface Entry {
  id: string;
  rank: number;
  /** Negated priority for backorders (higher first), 0 for pre-orders. */
  priority: number;
  seq: number;
  units: number;
}

function compare(a: Entry, b: Entry): number {
  return a.rank - b.rank || a.priority - b.priority || a.seq - b.seq;
}

export class SkuQueue {
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  /** Units of every waiting order on this SKU. */
  units = 0;

  get size(): number {
    return this.entries.length;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  add(id: string, place: QueuePlace, units: number): void {
    if (this.byId.has(id)) return;
    const entry: Entry = { id, rank: place.kind === 'preorder' ? 0 : 1, priority: place.kind === 'backorder' ? -place.priority : 0, seq: place.seq, units };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.entries[mid], entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
    this.byId.set(id, entry);
    this.units += units;
  }

  remove(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    this.entries.splice(this.indexOf(entry), 1);
    this.byId.delete(id);
    this.units -= entry.units;
    return true;
  }

  /** 1 = next to be served; 0 when the order does not wait here. */
  position(id: string): number {
    const entry = this.byId.get(id);
    return entry ? this.indexOf(entry) + 1 : 0;
  }

  /** Units of the orders ahead of `id` plus its own. */
  unitsThrough(id: string): number {
    let units = 0;
    for (const entry of this.entries) {
      units += entry.units;
      if (entry.id === id) return units;
    }
    return units;
  }

  /** Order ids in service order, with the running total of units through each. */
  *inOrder(): Generator<{ id: string; unitsThrough: number }> {
    let units = 0;
    for (const entry of [...this.entries]) {
      units += entry.units;
      yield { id: entry.id, unitsThrough: units };
    }
  }

  private indexOf(entry: Entry): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.entries[mid], entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
