// Every answered request, counted by outcome and timed, without an allocation per request.
//
// prom-client's Counter and Histogram turn the label object into a string key on every `inc` and
// `observe`, on the children `labels()` returns as well: at peak that was a fifth of everything
// the gateway thread allocated, some 800 bytes a request (docs/benchmarks.md, "The gateway
// thread's garbage"). Here each (transport, operation) keeps its counts as plain numbers, found
// through two Map lookups of strings the caller already holds, and prom-client sees them only
// when /metrics is scraped, in prom-client's own lines (names, labels, values; the label sets
// may come in another order, which Prometheus does not mind).

import { Counter, Histogram, type Registry } from 'prom-client';

type RequestLabel = 'transport' | 'op';

/** One (transport, operation): its latency histogram and its answers by outcome. */
interface OperationTally {
  readonly labels: Readonly<Record<RequestLabel, string>>;
  /** Requests per bucket, not cumulative; the slot past the last bound counts those above it. */
  readonly perBucket: Float64Array;
  sum: number;
  count: number;
  /** Answers per outcome ('ok' or the error code). An object per outcome: a count kept in a Map's value would be boxed anew once past 2^30. */
  readonly outcomes: Map<string, { answered: number }>;
}

export interface RequestMetricNames {
  counter: { name: string; help: string };
  histogram: { name: string; help: string };
}

/**
 * A prom-client Histogram whose values are the tallies'. Registered like any other metric;
 * prom-client's `get()` (JSON) builds on `getForPromString()`, so overriding that one is enough.
 */
class TalliedHistogram extends Histogram<RequestLabel> {
  /** Unset while prom-client's constructor runs (it calls `reset`). */
  private readonly clear: (() => void) | undefined;

  constructor(
    registry: Registry,
    private readonly names: { name: string; help: string },
    private readonly bounds: readonly number[],
    private readonly tallies: () => Iterable<OperationTally>,
    clear: () => void,
  ) {
    super({ ...names, labelNames: ['transport', 'op'], buckets: [...bounds], registers: [registry] });
    this.clear = clear;
  }

  /** Bucket, sum and count lines in prom-client's layout: `le` first, then the label set. */
  async getForPromString() {
    // `exemplar: null` on bucket lines as prom-client writes them (Stockade records no exemplars).
    const values: { labels: Record<string, string | number>; sharedLabels: Readonly<Record<string, string>>; value: number; metricName: string; exemplar?: null }[] = [];
    const { name, help } = this.names;
    const bucket = `${name}_bucket`;
    for (const tally of this.tallies()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += tally.perBucket[i];
        values.push({ labels: { le: this.bounds[i] }, sharedLabels: tally.labels, value: cumulative, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: tally.labels, value: tally.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: tally.labels, value: tally.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: tally.labels, value: tally.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  }

  override reset(): void {
    if (this.clear === undefined) super.reset();
    else this.clear();
  }
}

export class RequestMetrics {
  private readonly byTransport = new Map<string, Map<string, OperationTally>>();

  constructor(
    registry: Registry,
    names: RequestMetricNames,
    private readonly bounds: readonly number[],
  ) {
    const tallies = () => this.tallies();
    new Counter({
      ...names.counter,
      labelNames: ['transport', 'op', 'outcome'],
      registers: [registry],
      collect() {
        // Rebuilt from the tallies at each scrape: a few dozen label sets, never per request.
        this.reset();
        for (const tally of tallies()) for (const [outcome, { answered }] of tally.outcomes) this.inc({ ...tally.labels, outcome }, answered);
      },
    });
    new TalliedHistogram(registry, names.histogram, bounds, tallies, () => this.byTransport.clear());
  }

  /** One answered request. Label values come from closed sets (transports, operations, error codes). */
  record(transport: string, op: string, outcome: string, seconds: number): void {
    const tally = this.tallyOf(transport, op);
    const counted = tally.outcomes.get(outcome);
    if (counted) counted.answered++;
    else tally.outcomes.set(outcome, { answered: 1 });
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    tally.perBucket[i]++;
    tally.sum += seconds;
    tally.count++;
  }

  private tallyOf(transport: string, op: string): OperationTally {
    let byOp = this.byTransport.get(transport);
    if (!byOp) this.byTransport.set(transport, (byOp = new Map()));
    let tally = byOp.get(op);
    if (!tally) {
      tally = { labels: { transport, op }, perBucket: new Float64Array(this.bounds.length + 1), sum: 0, count: 0, outcomes: new Map() };
      byOp.set(op, tally);
    }
    return tally;
  }

  private *tallies(): Iterable<OperationTally> {
    for (const byOp of this.byTransport.values()) yield* byOp.values();
  }
}
