// The in-memory stock-over-time series behind the dashboard's chart and drop-percent alerts: one
// point per interval (the latest levels win), bounded points per SKU, SKUs and points per shard,
// the SKUs least recently given a point forgotten first, copies handed out.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StockSeries, type SeriesHolder } from '../src/actors/stock-series.js';

/** SKU states as the shard holds them: the series hangs off each. */
function holders(): (sku: string) => SeriesHolder {
  const made = new Map<string, SeriesHolder>();
  return (sku) => {
    let holder = made.get(sku);
    if (!holder) made.set(sku, (holder = { sku, series: null }));
    return holder;
  };
}

describe('stock series', () => {
  it('keeps one point per interval, the latest levels of it', () => {
    const sku = holders();
    const series = new StockSeries(10, 100, 1000, 1000);
    series.record(sku('A'), 0, 10, 0, 10);
    series.record(sku('A'), 400, 10, 3, 7);
    series.record(sku('A'), 999, 10, 4, 6);
    series.record(sku('A'), 1000, 8, 4, 4);
    expect(series.view(sku('A'))).toEqual({
      sku: 'A',
      intervalMs: 1000,
      points: [
        { at: 0, onHand: 10, reserved: 4, available: 6 },
        { at: 1000, onHand: 8, reserved: 4, available: 4 },
      ],
    });
    expect(series.size).toEqual({ skus: 1, points: 2 });
  });

  it('bounds the points per SKU, dropping the oldest', () => {
    const sku = holders();
    const series = new StockSeries(10, 3, 1, 100);
    for (let at = 0; at < 5; at++) series.record(sku('A'), at, at, 0, at);
    expect(series.view(sku('A')).points.map((p) => p.at)).toEqual([2, 3, 4]);
    expect(series.size).toEqual({ skus: 1, points: 3 });
  });

  it('bounds the SKUs, forgetting the one least recently given a point', () => {
    const sku = holders();
    const series = new StockSeries(2, 10, 1, 100);
    series.record(sku('A'), 0, 1, 0, 1);
    series.record(sku('B'), 1, 1, 0, 1);
    series.record(sku('A'), 2, 2, 0, 2);
    series.record(sku('C'), 3, 1, 0, 1);
    expect(series.view(sku('B')).points).toEqual([]);
    expect(sku('B').series).toBeNull();
    expect(series.view(sku('A')).points).toHaveLength(2);
    expect(series.view(sku('C')).points).toHaveLength(1);
    expect(series.size).toEqual({ skus: 2, points: 3 });
  });

  it('bounds the points of all SKUs together, forgetting the stalest SKUs whole until within', () => {
    const sku = holders();
    const series = new StockSeries(100, 4, 1, 6);
    for (let at = 0; at < 3; at++) series.record(sku('A'), at, at, 0, at);
    for (let at = 3; at < 6; at++) series.record(sku('B'), at, at, 0, at);
    expect(series.size).toEqual({ skus: 2, points: 6 });
    // A seventh point: A (three points, the stalest) goes whole, not one point of it.
    series.record(sku('C'), 6, 1, 0, 1);
    expect(sku('A').series).toBeNull();
    expect(series.view(sku('B')).points.map((p) => p.at)).toEqual([3, 4, 5]);
    expect(series.size).toEqual({ skus: 2, points: 4 });
  });

  it('starts a forgotten SKU afresh when it changes again', () => {
    const sku = holders();
    const series = new StockSeries(1, 10, 1, 100);
    series.record(sku('A'), 0, 5, 0, 5);
    series.record(sku('B'), 1, 5, 0, 5);
    series.record(sku('A'), 2, 4, 1, 3);
    expect(series.view(sku('A')).points).toEqual([{ at: 2, onHand: 4, reserved: 1, available: 3 }]);
    expect(series.view(sku('B')).points).toEqual([]);
  });

  it('answers the peak available within a window from the points it still holds', () => {
    const sku = holders();
    const series = new StockSeries(10, 3, 100, 100);
    expect(series.peakAvailableSince(sku('A'), 0)).toBeNull();
    series.record(sku('A'), 0, 50, 0, 50);
    series.record(sku('A'), 100, 50, 0, 40);
    series.record(sku('A'), 150, 50, 0, 45); // same interval: the peak within it is kept
    series.record(sku('A'), 160, 50, 0, 10);
    series.record(sku('A'), 200, 50, 0, 20);
    expect(series.peakAvailableSince(sku('A'), 100)).toBe(45);
    expect(series.peakAvailableSince(sku('A'), 150)).toBe(20);
    expect(series.peakAvailableSince(sku('A'), 201)).toBeNull();
    series.record(sku('A'), 300, 50, 0, 5); // the fourth point pushes the first (50) out
    expect(series.peakAvailableSince(sku('A'), 0)).toBe(45);
  });

  it('hands out copies: a later change does not alter an answer already given', () => {
    const sku = holders();
    const series = new StockSeries(10, 10, 1000, 100);
    series.record(sku('A'), 0, 5, 0, 5);
    const answer = series.view(sku('A'));
    series.record(sku('A'), 10, 5, 5, 0);
    expect(answer.points[0].available).toBe(5);
  });

  it('refuses a points-per-shard bound below the points of one SKU', () => {
    expect(() => new StockSeries(10, 360, 1000, 359)).toThrow(RangeError);
  });

  it('matches a reference model of the bounds and of which SKUs are forgotten', () => {
    // The reference keeps every SKU's points in a Map re-inserted on each new point (oldest first),
    // and forgets from the front while over either bound: what the list must do without the Map.
    const op = fc.record({ sku: fc.constantFrom('A', 'B', 'C', 'D', 'E'), step: fc.nat(3), available: fc.nat(20) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 80 }), (skusMax, pointsMax, extra, ops) => {
        const pointsTotalMax = pointsMax + extra;
        const intervalMs = 2;
        const sku = holders();
        const series = new StockSeries(skusMax, pointsMax, intervalMs, pointsTotalMax);
        const model = new Map<string, { at: number; available: number }[]>();
        let at = 0;
        for (const o of ops) {
          at += o.step;
          let points = model.get(o.sku);
          const last = points?.[points.length - 1];
          if (points && last && at - last.at < intervalMs) last.available = o.available;
          else {
            points ??= [];
            model.delete(o.sku);
            points.push({ at, available: o.available });
            if (points.length > pointsMax) points.shift();
            model.set(o.sku, points);
            const total = () => [...model.values()].reduce((sum, p) => sum + p.length, 0);
            while (model.size > skusMax || total() > pointsTotalMax) model.delete(model.keys().next().value!);
          }
          series.record(sku(o.sku), at, o.available, 0, o.available);
          for (const name of ['A', 'B', 'C', 'D', 'E']) {
            expect(series.view(sku(name)).points.map((p) => ({ at: p.at, available: p.available }))).toEqual(model.get(name) ?? []);
          }
          expect(series.size).toEqual({ skus: model.size, points: [...model.values()].reduce((sum, p) => sum + p.length, 0) });
        }
      }),
      { numRuns: 500 },
    );
  });
});
