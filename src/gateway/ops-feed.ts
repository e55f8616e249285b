// The operators' live feed: once a second, a summary of the last second (reserve rate and
// latency percentiles, WAL commit latency, shard queue depths, stream and alert-publisher state),
// and every alert notice as JetStream stores it. Pushed over the WebSocket to connections that
// sent `watchOps` (uWS topics, one per frame format), so the dashboard never polls.

import type uWS from 'uWebSockets.js';
import type { Engine } from '../actors/engine.js';
import type { Alert } from '../alerts/alert.js';
import type { StreamsService } from '../streams/service.js';
import { publishToTopics } from './push.js';

export const OPS_TOPIC_TEXT = 'ops/t';
export const OPS_TOPIC_BINARY = 'ops/b';
/** How often the summary is pushed. */
export const OPS_INTERVAL_MS = 1000;
/** Latency samples kept per interval (a uniform reservoir past it). */
const SAMPLES_PER_INTERVAL_MAX = 8192;

/**
 * A uniform sample of one interval's latencies (Vitter's algorithm R), bounded in memory. The
 * samples sit in one array made once: an array grown anew every interval lived a second, long
 * enough to be promoted, and was then garbage for a full collection of the gateway thread.
 */
export class Reservoir {
  private readonly samples = new Float64Array(SAMPLES_PER_INTERVAL_MAX);
  count = 0;

  add(ms: number): void {
    this.count++;
    if (this.count <= SAMPLES_PER_INTERVAL_MAX) this.samples[this.count - 1] = ms;
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < SAMPLES_PER_INTERVAL_MAX) this.samples[slot] = ms;
    }
  }

  /** p50, p99 and max in milliseconds (0 when empty), then cleared. */
  drain(): { count: number; p50: number; p99: number; max: number } {
    // A typed array sorts by value without a comparator.
    const sorted = this.samples.subarray(0, Math.min(this.count, SAMPLES_PER_INTERVAL_MAX)).sort();
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
    const summary = { count: this.count, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.length ? sorted[sorted.length - 1] : 0) };
    this.count = 0;
    return summary;
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export interface OpsSummary {
  push: 'ops';
  at: number;
  intervalMs: number;
  /** Reserve calls answered in the interval (HTTP and WebSocket, carts by line) and their latency. */
  reserve: { perSecond: number; p50Ms: number; p99Ms: number; maxMs: number; errors: number };
  walCommit: { p50Ms: number; p99Ms: number; maxMs: number; commits: number };
  /** failed: shards given up on after shard.restartsMax restarts. */
  shards: { ready: boolean; depths: number[]; failed: number[] };
  streams: ReturnType<StreamsService['status']> | null;
  alertPublish: { p50Ms: number; p99Ms: number; count: number };
  /** Notifications delivered in the interval, from the alert's decision to the channel's answer. */
  alertDelivery: { p50Ms: number; p99Ms: number; count: number };
}

export class OpsFeed {
  private readonly reserve = new Reservoir();
  private reserveErrors = 0;
  private readonly wal = new Reservoir();
  private readonly alertLatency = new Reservoir();
  private readonly deliveryLatency = new Reservoir();
  private timer: NodeJS.Timeout | null = null;
  private last = Date.now();

  constructor(
    private readonly app: uWS.TemplatedApp,
    private readonly engine: Engine,
    private readonly streams: StreamsService | null,
  ) {
    engine.observe({ walFlushed: (_shard, ms) => this.wal.add(ms) });
    streams?.onAlert((notice, ms) => this.alert(notice, ms));
    streams?.onNotifierRecord((record) => {
      if (record.record === 'attempt' && record.outcome === 'delivered' && typeof record.latencyMs === 'number') {
        this.deliveryLatency.add(record.latencyMs);
        if (this.subscribed()) this.publish({ push: 'alertDelivered', alertId: record.alertId, noticeId: record.noticeId, receiver: record.receiver, latencyMs: record.latencyMs });
      }
      if (record.record === 'ack' && this.subscribed()) this.publish({ push: 'alertAcked', alertId: record.alertId, by: record.by ?? null });
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), OPS_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Every answered request (from Metrics); only reserves feed the latency chart. */
  request(op: string, outcome: string, ms: number): void {
    if (op !== 'reserve' && op !== 'reserveCart') return;
    if (outcome === 'ok') this.reserve.add(ms);
    else this.reserveErrors++;
  }

  private subscribed(): boolean {
    return this.app.numSubscribers(OPS_TOPIC_TEXT) > 0 || this.app.numSubscribers(OPS_TOPIC_BINARY) > 0;
  }

  private publish(message: unknown): void {
    publishToTopics(this.app, OPS_TOPIC_TEXT, OPS_TOPIC_BINARY, message);
  }

  private alert(notice: Alert, ms: number): void {
    this.alertLatency.add(ms);
    if (this.subscribed()) this.publish({ push: 'alert', alert: notice, publishMs: round(ms) });
  }

  /** The summary of the interval just ended (exposed for tests). */
  summary(now = Date.now()): OpsSummary {
    const intervalMs = Math.max(1, now - this.last);
    this.last = now;
    const reserve = this.reserve.drain();
    const wal = this.wal.drain();
    const alerts = this.alertLatency.drain();
    const deliveries = this.deliveryLatency.drain();
    const errors = this.reserveErrors;
    this.reserveErrors = 0;
    return {
      push: 'ops',
      at: now,
      intervalMs,
      reserve: { perSecond: Math.round((reserve.count * 1000) / intervalMs), p50Ms: reserve.p50, p99Ms: reserve.p99, maxMs: reserve.max, errors },
      walCommit: { p50Ms: wal.p50, p99Ms: wal.p99, maxMs: wal.max, commits: wal.count },
      shards: { ready: this.engine.ready, depths: this.engine.depths(), failed: this.engine.failedShards },
      streams: this.streams?.status() ?? null,
      alertPublish: { p50Ms: alerts.p50, p99Ms: alerts.p99, count: alerts.count },
      alertDelivery: { p50Ms: deliveries.p50, p99Ms: deliveries.p99, count: deliveries.count },
    };
  }

  private tick(): void {
    const summary = this.summary();
    if (this.subscribed()) this.publish(summary);
  }
}
