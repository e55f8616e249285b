// Stock over time for the operators' chart and for drop-percent alerts: per SKU, the levels after
// its changes, at most one point per `intervalMs` (a later change in the same interval replaces
// the point) and `pointsMax` points, for at most `skusMax` SKUs and `pointsTotalMax` points per
// shard (when over, the SKUs least recently given a point are forgotten).
// Memory, not the WAL: it covers the time since the shard started, which is what an operator
// watching a sale needs; `npx stockade replay --as-of` answers for any moment the WAL holds.
//
// A SKU's points hang off its own state, in a list of plain numbers, and the SKUs with points form
// a list from least to most recently given one. A change (every reserve, release, commit and
// restock) then finds its series without a Map lookup, a new point is five numbers rather than an
// object, and forgetting the stalest SKU is unlinking a node. The Map by name this replaces was
// re-ordered on every new point, forgot a tenth at a time and kept 10,000 SKUs per shard: with
// 100,000 SKUs changing it churned on nearly every reserve. This form, with room for 100,000 SKUs,
// ran that benchmark 9 % faster (median of 20 interleaved pairs, docs/benchmarks.md).

/** What the series hangs a SKU's points on: the SKU's state (sku.ts). */
export interface SeriesHolder {
  readonly sku: string;
  series: SkuSeries | null;
}

export interface StockPoint {
  at: number;
  onHand: number;
  reserved: number;
  available: number;
}

export interface StockSeriesView {
  sku: string;
  intervalMs: number;
  points: StockPoint[];
}

/**
 * Numbers per point: when it started, the interval's latest on hand, reserved and available, and
 * the highest available within the interval (depletion by speed reads the peak).
 */
const FIELDS = 5;
const AT = 0;
const ON_HAND = 1;
const RESERVED = 2;
const AVAILABLE = 3;
const PEAK_AVAILABLE = 4;

/** One SKU's points, oldest first, and its place among the SKUs by when each was last given a point. */
export class SkuSeries {
  older: SkuSeries | null = null;
  newer: SkuSeries | null = null;

  constructor(
    public holder: SeriesHolder,
    readonly points: number[],
  ) {}
}

export class StockSeries {
  private oldest: SkuSeries | null = null;
  private newest: SkuSeries | null = null;
  private skuCount = 0;
  private pointCount = 0;

  constructor(
    private readonly skusMax: number,
    private readonly pointsMax: number,
    private readonly intervalMs: number,
    private readonly pointsTotalMax: number,
  ) {
    // Otherwise one SKU's own points could push it out of the series as they are recorded.
    if (pointsTotalMax < pointsMax) throw new RangeError(`pointsTotalMax (${pointsTotalMax}) is below pointsMax (${pointsMax})`);
  }

  /** SKUs with points, and points in all: what the bounds hold (for tests). */
  get size(): { skus: number; points: number } {
    return { skus: this.skuCount, points: this.pointCount };
  }

  /** On the hot path (every change of a SKU): within the interval it overwrites the last point in place. */
  record(holder: SeriesHolder, at: number, onHand: number, reserved: number, available: number): void {
    const own = holder.series;
    if (own !== null) {
      const points = own.points;
      const last = points.length - FIELDS;
      if (at - points[last + AT] < this.intervalMs) {
        points[last + ON_HAND] = onHand;
        points[last + RESERVED] = reserved;
        points[last + AVAILABLE] = available;
        if (available > points[last + PEAK_AVAILABLE]) points[last + PEAK_AVAILABLE] = available;
        return;
      }
      points.push(at, onHand, reserved, available, available);
      if (points.length > this.pointsMax * FIELDS) points.splice(0, FIELDS);
      else this.pointCount++;
      this.moveToNewest(own);
    } else {
      const made = this.skuCount >= this.skusMax ? this.takeStalest(holder, at, onHand, reserved, available) : new SkuSeries(holder, [at, onHand, reserved, available, available]);
      holder.series = made;
      this.link(made);
      this.skuCount++;
      this.pointCount++;
    }
    // The SKU bound is kept above (a new SKU at it takes the stalest's place). The SKU just
    // recorded is the newest and within the points bound on its own, so it is never forgotten here.
    while (this.pointCount > this.pointsTotalMax) this.forget(this.oldest!);
  }

  /** The highest available level recorded at or after `since`, or null when none is. */
  peakAvailableSince(holder: SeriesHolder, since: number): number | null {
    const points = holder.series?.points;
    if (!points) return null;
    let peak: number | null = null;
    for (let i = points.length - FIELDS; i >= 0 && points[i + AT] >= since; i -= FIELDS) {
      if (peak === null || points[i + PEAK_AVAILABLE] > peak) peak = points[i + PEAK_AVAILABLE];
    }
    return peak;
  }

  view(holder: SeriesHolder): StockSeriesView {
    const kept = holder.series?.points ?? [];
    const points: StockPoint[] = [];
    for (let i = 0; i < kept.length; i += FIELDS) {
      points.push({ at: kept[i + AT], onHand: kept[i + ON_HAND], reserved: kept[i + RESERVED], available: kept[i + AVAILABLE] });
    }
    return { sku: holder.sku, intervalMs: this.intervalMs, points };
  }

  /**
   * At the SKU bound, the stalest SKU's node and list serve the new SKU. With more SKUs changing
   * than the bound, every change would otherwise make a node and a list that live long enough to
   * reach the old generation, only to be dropped: 200,000 SKUs over a bound of 100,000 ran up to
   * 24 % slower than with the Map this replaced (docs/benchmarks.md).
   */
  private takeStalest(holder: SeriesHolder, at: number, onHand: number, reserved: number, available: number): SkuSeries {
    const taken = this.oldest!;
    this.forget(taken);
    taken.holder = holder;
    const points = taken.points;
    points.length = FIELDS;
    points[AT] = at;
    points[ON_HAND] = onHand;
    points[RESERVED] = reserved;
    points[AVAILABLE] = available;
    points[PEAK_AVAILABLE] = available;
    return taken;
  }

  private forget(series: SkuSeries): void {
    this.unlink(series);
    series.holder.series = null;
    this.skuCount--;
    this.pointCount -= series.points.length / FIELDS;
  }

  private moveToNewest(series: SkuSeries): void {
    if (series === this.newest) return;
    this.unlink(series);
    this.link(series);
  }

  private link(series: SkuSeries): void {
    series.older = this.newest;
    series.newer = null;
    if (this.newest) this.newest.newer = series;
    else this.oldest = series;
    this.newest = series;
  }

  private unlink(series: SkuSeries): void {
    if (series.older) series.older.newer = series.newer;
    else this.oldest = series.newer;
    if (series.newer) series.newer.older = series.older;
    else this.newest = series.older;
    series.older = series.newer = null;
  }
}
