// The gateway's request metrics, tallied without prom-client's per-call label hashing, must read
// on /metrics exactly as prom-client's own Counter and Histogram would for the same requests.

import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_S } from '../src/gateway/metrics.js';
import { RequestMetrics } from '../src/gateway/request-metrics.js';

const NAMES = {
  counter: { name: 'stockade_requests_total', help: 'Requests answered' },
  histogram: { name: 'stockade_request_duration_seconds', help: 'Time to answer' },
};

interface Answered {
  transport: string;
  op: string;
  outcome: string;
  seconds: number;
}

/** What prom-client itself writes for the same requests. */
function reference(requests: Answered[]): Registry {
  const registry = new Registry();
  const counter = new Counter({ ...NAMES.counter, labelNames: ['transport', 'op', 'outcome'], registers: [registry] });
  const histogram = new Histogram({ ...NAMES.histogram, labelNames: ['transport', 'op'], buckets: LATENCY_BUCKETS_S, registers: [registry] });
  for (const r of requests) {
    counter.inc({ transport: r.transport, op: r.op, outcome: r.outcome });
    histogram.observe({ transport: r.transport, op: r.op }, r.seconds);
  }
  return registry;
}

function tallied(requests: Answered[]): { registry: Registry; metrics: RequestMetrics } {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry, NAMES, LATENCY_BUCKETS_S);
  for (const r of requests) metrics.record(r.transport, r.op, r.outcome, r.seconds);
  return { registry, metrics };
}

/** Series may come in another order of label sets; each line must be there, once. */
const lines = (text: string) => text.split('\n').sort();

// Latencies on, just under and just over every bound (a bucket is `value <= le`), zero and past the last.
const seconds = fc.oneof(
  fc.constantFrom(0, ...LATENCY_BUCKETS_S, ...LATENCY_BUCKETS_S.map((b) => b * (1 + 1e-9)), ...LATENCY_BUCKETS_S.map((b) => b * (1 - 1e-9)), 2.5),
  fc.double({ min: 0, max: 3, noNaN: true }),
);
const answered = fc.record({
  transport: fc.constantFrom('ws', 'http'),
  op: fc.constantFrom('reserve', 'release', 'availability', 'frame'),
  outcome: fc.constantFrom('ok', 'INSUFFICIENT_STOCK', 'RATE_LIMITED'),
  seconds,
});

describe('request metrics', () => {
  it("read on /metrics as prom-client's Counter and Histogram would, line for line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answered, { maxLength: 200 }), async (requests) => {
        const { registry } = tallied(requests);
        expect(lines(await registry.metrics())).toEqual(lines(await reference(requests).metrics()));
      }),
      { numRuns: 300 },
    );
  });

  it('give the same JSON as prom-client (the form a cluster aggregator reads)', async () => {
    const requests: Answered[] = [
      { transport: 'ws', op: 'reserve', outcome: 'ok', seconds: 0.003 },
      { transport: 'http', op: 'reserve', outcome: 'INSUFFICIENT_STOCK', seconds: 0.0001 },
      { transport: 'ws', op: 'reserve', outcome: 'ok', seconds: 1.5 },
    ];
    const order = (json: { name: string; values: { labels: object }[] }[]) =>
      json.map((m) => ({ ...m, values: [...m.values].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }));
    const { registry } = tallied(requests);
    expect(order(await registry.getMetricsAsJSON())).toEqual(order(await reference(requests).getMetricsAsJSON()));
  });

  it('count a request above every bound only in +Inf, and start again from nothing after a reset', async () => {
    const { registry, metrics } = tallied([{ transport: 'ws', op: 'reserve', outcome: 'ok', seconds: 5 }]);
    const text = await registry.metrics();
    expect(text).toContain('stockade_request_duration_seconds_bucket{le="1",transport="ws",op="reserve"} 0');
    expect(text).toContain('stockade_request_duration_seconds_bucket{le="+Inf",transport="ws",op="reserve"} 1');
    expect(text).toContain('stockade_requests_total{transport="ws",op="reserve",outcome="ok"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('op="reserve"');
    metrics.record('ws', 'reserve', 'ok', 0.001);
    expect(await registry.metrics()).toContain('stockade_requests_total{transport="ws",op="reserve",outcome="ok"} 1');
  });
});
