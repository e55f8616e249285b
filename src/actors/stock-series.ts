// Stock over time for the operators' chart: per SKU, the levels after its changes, at most one
// point per `intervalMs` (a later change in the same interval replaces the point) and
// `pointsMax` points, for at most `skusMax` SKUs (when full, the least recently changed tenth
// is forgotten).
// Memory, not the WAL: it covers the time since the shard started, which is what an operator
// watching a sale needs; `npx stockade replay --as-of` answers for any moment the WAL holds.

import { dropOldest } from '../insertion-order.js';

export interface StockPoint {
  at: number;
  onHand: number;
  reserved: number;
  available: number;
}

/** A point as kept: the interval's latest levels, and its highest available level (depletion by speed). */
interface KeptPoint extends StockPoint {
  peakAvailable: number;
}

export interface StockSeriesView {
  sku: string;
  intervalMs: number;
  points: StockPoint[];
}

export class StockSeries {
  /** Oldest-changed first (re-inserted on every change), so eviction drops the stalest SKU. */
  private readonly series = new Map<string, KeptPoint[]>();

  constructor(
    private readonly skusMax: number,
    private readonly pointsMax: number,
    private readonly intervalMs: number,
  ) {}

  /**
   * On the hot path (every change of a SKU): within the interval it overwrites the last point in
   * place, allocating nothing; only a new point re-orders the SKU for eviction.
   */
  record(sku: string, at: number, onHand: number, reserved: number, available: number): void {
    let points = this.series.get(sku);
    const last = points?.[points.length - 1];
    if (last && at - last.at < this.intervalMs) {
      last.onHand = onHand;
      last.reserved = reserved;
      last.available = available;
      if (available > last.peakAvailable) last.peakAvailable = available;
      return;
    }
    const point = { at, onHand, reserved, available, peakAvailable: available };
    if (points) {
      this.series.delete(sku);
      points.push(point);
      if (points.length > this.pointsMax) points.shift();
    } else {
      if (this.series.size >= this.skusMax) this.evictStalest();
      // A list made for one point: `[]` and a push reserve room for 17. With more SKUs changing
      // than the series keeps, most lists are forgotten before their second point.
      points = [point];
    }
    this.series.set(sku, points);
  }

  /** Forget the least recently changed tenth at once (one at a time is quadratic: insertion-order.ts). */
  private evictStalest(): void {
    dropOldest(this.series, Math.ceil(this.skusMax / 10));
  }

  /** The highest available level recorded at or after `since`, or null when none is. */
  peakAvailableSince(sku: string, since: number): number | null {
    const points = this.series.get(sku);
    if (!points) return null;
    let peak: number | null = null;
    for (let i = points.length - 1; i >= 0 && points[i].at >= since; i--) if (peak === null || points[i].peakAvailable > peak) peak = points[i].peakAvailable;
    return peak;
  }

  view(sku: string): StockSeriesView {
    return { sku, intervalMs: this.intervalMs, points: (this.series.get(sku) ?? []).map((p) => ({ at: p.at, onHand: p.onHand, reserved: p.reserved, available: p.available })) };
  }
}
