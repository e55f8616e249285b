// How good the availability estimates were: for every filled backorder and pre-order, the date
// promised when it entered the queue (and the latest estimate before the fill) against the moment
// stock actually reached it. The error is relative to the promised wait (at least one day), so a
// day late on a ten-day promise is 10 %. The brief asks for under 5 %.

import { DAY_MS } from './config.js';
import type { Order } from './model.js';

export interface AccuracyReport {
  targetPercent: number;
  count: number;
  /** Mean of |actual − promised| / promised wait, in percent. */
  meanAbsErrorPercent: number;
  p95AbsErrorPercent: number;
  /** Same, against the latest estimate before the fill. */
  latestMeanAbsErrorPercent: number;
  /** Share of filled orders whose promise was within the target. */
  withinTargetPercent: number;
  meetsTarget: boolean;
  byKind: Record<'backorder' | 'preorder', { count: number; meanAbsErrorPercent: number }>;
}

export function accuracyReport(orders: Iterable<Order>, target: number): AccuracyReport {
    const errors: number[] = [];
    const latest: number[] = [];
    const byKind = { backorder: [] as number[], preorder: [] as number[] };
    for (const order of orders) {
      const f = order.fill;
      if (!f) continue;
      const wait = Math.max(f.promisedAt - f.queuedAt, DAY_MS);
      const e = (Math.abs(f.actualAt - f.promisedAt) / wait) * 100;
      errors.push(e);
      byKind[f.kind].push(e);
      latest.push((Math.abs(f.actualAt - f.latestEstimateAt) / Math.max(f.latestEstimateAt - f.queuedAt, DAY_MS)) * 100);
    }
    const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    const sorted = [...errors].sort((a, b) => a - b);
    const p95 = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      targetPercent: target,
      count: errors.length,
      meanAbsErrorPercent: round(mean(errors)),
      p95AbsErrorPercent: round(p95),
      latestMeanAbsErrorPercent: round(mean(latest)),
      withinTargetPercent: errors.length === 0 ? 100 : round((errors.filter((e) => e <= target).length / errors.length) * 100),
      meetsTarget: mean(errors) < target,
      byKind: {
        backorder: { count: byKind.backorder.length, meanAbsErrorPercent: round(mean(byKind.backorder)) },
        preorder: { count: byKind.preorder.length, meanAbsErrorPercent: round(mean(byKind.preorder)) },
      },
    };
}
