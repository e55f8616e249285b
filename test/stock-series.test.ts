// The in-memory stock-over-time series behind the dashboard's chart: one point per interval (the
// latest levels win), a bounded number of points per SKU and of SKUs, copies handed out.

import { describe, expect, it } from 'vitest';
import { StockSeries } from '../src/actors/stock-series.js';

describe('stock series', () => {
  it('keeps one point per interval, the latest levels of it', () => {
    const series = new StockSeries(10, 100, 1000);
    series.record('A', 0, 10, 0, 10);
    series.record('A', 400, 10, 3, 7);
    series.record('A', 999, 10, 4, 6);
    series.record('A', 1000, 8, 4, 4);
    expect(series.view('A')).toEqual({
      sku: 'A',
      intervalMs: 1000,
      points: [
        { at: 0, onHand: 10, reserved: 4, available: 6 },
        { at: 1000, onHand: 8, reserved: 4, available: 4 },
      ],
    });
  });

  it('bounds the points per SKU, dropping the oldest', () => {
    const series = new StockSeries(10, 3, 1);
    for (let at = 0; at < 5; at++) series.record('A', at, at, 0, at);
    expect(series.view('A').points.map((p) => p.at)).toEqual([2, 3, 4]);
  });

  it('bounds the SKUs, forgetting the one that changed least recently', () => {
    const series = new StockSeries(2, 10, 1);
    series.record('A', 0, 1, 0, 1);
    series.record('B', 1, 1, 0, 1);
    series.record('A', 2, 2, 0, 2);
    series.record('C', 3, 1, 0, 1);
    expect(series.view('B').points).toEqual([]);
    expect(series.view('A').points).toHaveLength(2);
    expect(series.view('C').points).toHaveLength(1);
  });

  it('when full, forgets the least recently changed tenth at once', () => {
    const series = new StockSeries(20, 10, 1);
    for (let i = 0; i < 20; i++) series.record(`S${i}`, i, 1, 0, 1);
    // S0 changes again: it is now the most recent, so S1 and S2 are the stalest two (a tenth of 20).
    series.record('S0', 20, 2, 0, 2);
    series.record('NEW', 21, 1, 0, 1);
    const kept = (sku: string) => series.view(sku).points.length > 0;
    expect(['S1', 'S2'].filter(kept)).toEqual([]);
    expect(['S0', 'S3', 'S19', 'NEW'].every(kept)).toBe(true);
  });

  it('hands out copies: a later change does not alter an answer already given', () => {
    const series = new StockSeries(10, 10, 1000);
    series.record('A', 0, 5, 0, 5);
    const answer = series.view('A');
    series.record('A', 10, 5, 5, 0);
    expect(answer.points[0].available).toBe(5);
  });
});
