// Prometheus metrics (prom-client): request rates and latency per transport and operation,
// shard queue depths and heaps, WAL commit (flush) latency, how long shards run turns, write
// checkpoints and pause for garbage collection, connections and readiness.

import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { freeBytesOf, type Engine } from '../actors/engine.js';
import type { GcPause } from '../actors/messages.js';
import type { DemandService } from '../streams/demand-service.js';
import type { StreamsService } from '../streams/service.js';
import { RequestMetrics } from './request-metrics.js';

// Reserve latencies live well under a millisecond: buckets start at 50 µs. Between 5 and 25 ms,
// where the p99 aim (≤ 5 ms) is won or lost under load, they are closer: with only 10 and 25 ms
// there, a p99 of 6 ms and one of 24 ms read the same (docs/benchmarks.md, "This machine, in the evening").
export const LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 1];
// A hot SKU's checkpoint grows with its open holds (docs/operations.md): up to seconds.
export const STALL_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Seconds per shard: a shard's WAL commits, turns and checkpoints. Each shard's child is made
 * once; prom-client still hashes its labels on each observation, which at a few hundred turns a
 * second is not worth the tallies `RequestMetrics` keeps for every request.
 */
class PerShardSeconds {
  private readonly histogram: Histogram<'shard'>;
  private readonly children: Histogram.Internal<'shard'>[] = [];

  constructor(registry: Registry, name: string, help: string, buckets: number[]) {
    this.histogram = new Histogram({ name, help, labelNames: ['shard'], buckets, registers: [registry] });
  }

  observe(shardId: number, ms: number): void {
    (this.children[shardId] ??= this.histogram.labels({ shard: String(shardId) })).observe(ms / 1000);
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: RequestMetrics;
  private readonly walFlush: PerShardSeconds;
  private readonly turn: PerShardSeconds;
  private readonly checkpoint: PerShardSeconds;
  private readonly gc: Histogram<'shard' | 'kind'>;
  readonly connections: Gauge;

  constructor(engine: Engine) {
    collectDefaultMetrics({ register: this.registry, prefix: 'stockade_process_' });
    this.requests = new RequestMetrics(
      this.registry,
      {
        counter: { name: 'stockade_requests_total', help: 'Requests answered, by transport, operation and outcome (ok or the error code)' },
        histogram: { name: 'stockade_request_duration_seconds', help: 'Time from a request entering the gateway to its answer, durable writes included' },
      },
      LATENCY_BUCKETS_S,
    );
    this.walFlush = new PerShardSeconds(
      this.registry,
      'stockade_wal_commit_seconds',
      'Time from a shard turn queuing its WAL transaction to that transaction being on disk',
      LATENCY_BUCKETS_S,
    );
    // A shard answers nothing else while it runs a turn or writes a checkpoint: these are its
    // own pauses, the part of a request's wait that more disk or network would not shorten.
    this.turn = new PerShardSeconds(
      this.registry,
      'stockade_shard_turn_seconds',
      'Time a shard spent running one turn of commands (a checkpoint written in it and garbage collection included), answering nothing else',
      STALL_BUCKETS_S,
    );
    this.checkpoint = new PerShardSeconds(
      this.registry,
      'stockade_shard_checkpoint_seconds',
      'Time a shard spent writing one checkpoint (snapshots of the SKUs changed since the last), answering nothing else',
      STALL_BUCKETS_S,
    );
    this.gc = new Histogram({
      name: 'stockade_shard_gc_seconds',
      help: "Garbage-collection pauses of each shard worker's thread, by kind (minor, major, incremental, weakcb)",
      labelNames: ['shard', 'kind'],
      buckets: STALL_BUCKETS_S,
      registers: [this.registry],
    });
    this.connections = new Gauge({ name: 'stockade_ws_connections', help: 'Open WebSocket connections', registers: [this.registry] });
    new Gauge({
      name: 'stockade_shard_queue_depth',
      help: 'Commands queued for or in flight at each shard',
      labelNames: ['shard'],
      registers: [this.registry],
      collect() {
        engine.depths().forEach((depth, shard) => this.set({ shard: String(shard) }, depth));
      },
    });
    new Gauge({
      name: 'stockade_shard_heap_used_bytes',
      help: 'V8 heap in use in each shard worker, garbage not yet collected included',
      labelNames: ['shard'],
      registers: [this.registry],
      async collect() {
        // A shard that is restarting answers null and is left out of this scrape, not shown stale.
        const all = await engine.stats();
        this.reset();
        all.forEach((stats, shard) => {
          if (stats?.heap) this.set({ shard: String(shard) }, stats.heap.usedBytes);
        });
      },
    });
    new Gauge({
      name: 'stockade_data_dir_free_bytes',
      help: 'Free space on the filesystem of the data directory: a shard stops when a WAL commit finds the disk full',
      registers: [this.registry],
      collect() {
        this.set(freeBytesOf(engine.config.dataDir));
      },
    });
    new Gauge({
      name: 'stockade_ready',
      help: '1 once every shard has recovered and takes commands',
      registers: [this.registry],
      collect() {
        this.set(engine.ready ? 1 : 0);
      },
    });
  }

  /** Stream consumer gauges: lag, last applied sequence, dead letters, connection. */
  observeStreams(streams: StreamsService): void {
    new Gauge({
      name: 'stockade_nats_connected',
      help: '1 while the NATS connection is up',
      registers: [this.registry],
      collect() {
        this.set(streams.status().connected ? 1 : 0);
      },
    });
    const stockStatus = () => streams.status().stock;
    // Figures both consumers (stock events, channel orders) report, one series per consumer.
    for (const [name, help, field] of [
      ['stockade_stream_last_applied_sequence', 'Every stream sequence up to this one is applied (or dead-lettered)', 'lastAppliedSequence'],
      [
        'stockade_stream_in_progress_acks_total',
        'In-progress acks sent for messages a consumer held longer than a quarter of ack_wait (a slow engine or dead-letter publish)',
        'inProgressAcks',
      ],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['consumer'],
        registers: [this.registry],
        collect() {
          const { stock, orders } = streams.status();
          if (stock) this.set({ consumer: stock.consumer }, stock[field]);
          if (orders) this.set({ consumer: orders.consumer }, orders[field]);
        },
      });
    }
    new Gauge({
      name: 'stockade_stream_lag_messages',
      help: 'Messages of the stream not yet acknowledged by the consumer',
      labelNames: ['consumer'],
      registers: [this.registry],
      async collect() {
        const { stock, orders } = streams.status();
        const [stockLag, orderLag] = await Promise.all([streams.stockLag(), streams.orderLag()]);
        if (stock && stockLag !== null) this.set({ consumer: stock.consumer }, stockLag);
        if (orders && orderLag !== null) this.set({ consumer: orders.consumer }, orderLag);
      },
    });
    new Gauge({
      name: 'stockade_order_intake_total',
      help: 'Channel orders by outcome at the order consumer',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        const orders = streams.status().orders;
        if (!orders) return;
        for (const outcome of ['consumed', 'applied', 'duplicates', 'rejected', 'deadLettered', 'retries', 'redeliveries', 'ignored'] as const) {
          const value = (orders as unknown as Record<string, unknown>)[outcome];
          if (typeof value === 'number') this.set({ outcome }, value);
        }
      },
    });
    new Gauge({
      name: 'stockade_inventory_poll',
      help: 'The inventory-database poller by figure: polls, lastPollAt (epoch ms), lastPollMs, lastRows, changesSent, errors, missingRows, invalidRows …',
      labelNames: ['figure'],
      registers: [this.registry],
      collect() {
        const poller = streams.status().poller as unknown as Record<string, unknown> | null;
        if (!poller) return;
        for (const [figure, value] of Object.entries(poller)) if (typeof value === 'number') this.set({ figure }, value);
      },
    });
    const alertLatency = new Histogram({
      name: 'stockade_alert_publish_seconds',
      help: 'Time from the turn that decided an alert notice to JetStream storing it',
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
    streams.onAlert((_notice, ms) => alertLatency.observe(ms / 1000));
    for (const [name, help, field] of [
      ['stockade_alerts_published_total', 'Alert notices stored in the ALERTS stream', 'published'],
      ['stockade_alerts_pending', 'Alert notices waiting to be published (in memory; all are in the outboxes)', 'pending'],
      ['stockade_alert_publish_failures_total', 'Alert publishes that failed and were retried', 'failures'],
    ] as const) {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const status = streams.status().alerts;
          if (status) this.set(status[field]);
        },
      });
    }
    for (const [name, help, field] of [
      ['stockade_stream_applied_total', 'Stream messages applied', 'applied'],
      ['stockade_stream_duplicates_total', 'Stream messages found already applied (redeliveries, repeats)', 'duplicates'],
      ['stockade_stream_dead_letters_total', 'Stream messages moved to the dead-letter stream', 'deadLettered'],
      ['stockade_stream_redeliveries_total', 'Stream messages delivered more than once', 'redeliveries'],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['consumer'],
        registers: [this.registry],
        collect() {
          const status = stockStatus();
          if (status) this.set({ consumer: status.consumer }, status[field]);
        },
      });
    }
  }

  /** Demand windows: SKUs tracked, evictions, signals on. */
  observeDemand(demand: DemandService): void {
    new Gauge({
      name: 'stockade_demand',
      help: 'Demand windows by figure: skusTracked, evicted, idleDropped, highDemandOn, leadTimeExhaustedOn, signalFailures …',
      labelNames: ['figure'],
      registers: [this.registry],
      collect() {
        for (const [figure, value] of Object.entries(demand.status())) if (typeof value === 'number') this.set({ figure }, value);
      },
    });
  }

  /** Set by the live feed: every answered request. */
  onRequest: (op: string, outcome: string, ms: number) => void = () => {};

  request(transport: string, op: string, outcome: string, ms: number): void {
    this.requests.record(transport, op, outcome, ms / 1000);
    this.onRequest(op, outcome, ms);
  }

  walFlushed(shardId: number, ms: number): void {
    this.walFlush.observe(shardId, ms);
  }

  turnRan(shardId: number, ms: number): void {
    this.turn.observe(shardId, ms);
  }

  checkpointWritten(shardId: number, ms: number): void {
    this.checkpoint.observe(shardId, ms);
  }

  gcPaused(shardId: number, pause: GcPause): void {
    this.gc.observe({ shard: String(shardId), kind: pause.kind }, pause.ms / 1000);
  }
}
