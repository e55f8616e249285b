// The live feed's per-interval latency sample: exact while it holds every latency, a uniform
// sample of at most 8,192 past that, and empty again after each summary.

import { describe, expect, it } from 'vitest';
import { Reservoir } from '../src/gateway/ops-feed.js';

describe('ops feed reservoir', () => {
  it('gives p50, p99 and max of every latency while they fit, then starts empty', () => {
    const r = new Reservoir();
    // 1..1000 ms in a scrambled order: the summary must not depend on arrival order.
    for (let i = 0; i < 1000; i++) r.add(((i * 379) % 1000) + 1);
    expect(r.drain()).toEqual({ count: 1000, p50: 501, p99: 991, max: 1000 });
    expect(r.drain()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
    r.add(0.25);
    expect(r.drain()).toEqual({ count: 1, p50: 0.25, p99: 0.25, max: 0.25 });
  });

  it('keeps counting past its room while its sample stays within what was added', () => {
    const r = new Reservoir();
    for (let i = 0; i < 20_000; i++) r.add(i < 10_000 ? 1 : 2);
    const summary = r.drain();
    expect(summary.count).toBe(20_000);
    expect(summary.max).toBe(2);
    expect([1, 2]).toContain(summary.p50);
    // A later interval does not see the earlier one's samples.
    r.add(7);
    expect(r.drain()).toEqual({ count: 1, p50: 7, p99: 7, max: 7 });
  });
});
