// The streams side of the process: the NATS connection and the consumers, started in the
// background so the gateway serves reserves while NATS is still being reached. Its status feeds
// /health/ready and /metrics.

import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Engine, EngineLogger } from '../actors/engine.js';
import type { NatsConfig } from '../config.js';
import type { OrderSink } from '../orders/canonical.js';
import { InventoryPoller, type InventoryPollerConfig, type InventoryPollerStatus } from './inventory-poller.js';
import type { OrderChannelsConfig } from './order-channels.js';
import { OrderIntakeConsumer, type OrderIntakeStatus } from './order-intake.js';
import type { Alert } from '../alerts/alert.js';
import { AlertPublisher, type AlertPublisherStatus } from './alert-publisher.js';
import { listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayOutcome } from './dead-letters.js';
import { connectNats } from './nats.js';
import { StockEventConsumer, type StockConsumerStatus } from './stock-consumer.js';

/** The fields of a notifier history record (src/notifier/history.ts) the live feed uses. */
export interface NotifierRecord {
  record: 'attempt' | 'ack';
  alertId: string;
  noticeId: string;
  receiver?: string;
  outcome?: string;
  latencyMs?: number;
  by?: string;
}

/** notifier.history.<type>.<sku>.<alert>.<record kind> */
const NOTIFIER_ATTEMPTS = 'notifier.history.*.*.*.attempt';
const NOTIFIER_ACKS = 'notifier.history.*.*.*.ack';

export interface StreamsStatus {
  connected: boolean;
  stock: StockConsumerStatus | null;
  orders: OrderIntakeStatus | null;
  poller: InventoryPollerStatus | null;
  alerts: AlertPublisherStatus;
}

/** What the streams side runs besides stock events and alerts, when the process has it. */
export interface StreamsOptions {
  /** Channel orders (orders.<channel>.created) into the order flow. */
  orders?: { sink: OrderSink; channels: OrderChannelsConfig } | null;
  /** The inventory-database poller. */
  poller?: Readonly<InventoryPollerConfig> | null;
}

export class StreamsService {
  private nc: NatsConnection | null = null;
  private jsm: JetStreamManager | null = null;
  private consumer: StockEventConsumer | null = null;
  private orderIntake: OrderIntakeConsumer | null = null;
  private poller: InventoryPoller | null = null;
  private connected = false;
  private stopped = false;
  private started: Promise<void> | null = null;
  /** Publishes the shards' alert outboxes; observes the engine from the start, publishes once connected. */
  readonly alerts: AlertPublisher;

  constructor(
    private readonly engine: Engine,
    private readonly config: NatsConfig,
    private readonly log: EngineLogger,
    private readonly options: StreamsOptions = {},
  ) {
    this.alerts = new AlertPublisher(engine, log);
    this.alerts.onPublished = (notice, ms) => {
      for (const listener of this.alertListeners) listener(notice, ms);
    };
  }

  private readonly alertListeners: ((notice: Alert, ms: number) => void)[] = [];
  private readonly deliveryListeners: ((record: NotifierRecord) => void)[] = [];

  /**
   * Hear what the notifiers record in their history (deliveries with their latency from the
   * alert's decision, acknowledgements): the live feed shows them to every operator.
   */
  onNotifierRecord(listener: (record: NotifierRecord) => void): void {
    this.deliveryListeners.push(listener);
  }

  /** Hear every alert notice JetStream stores, with the time from its decision (metrics, the live feed). */
  onAlert(listener: (notice: Alert, ms: number) => void): void {
    this.alertListeners.push(listener);
  }

  /** Connect (retrying until NATS answers), create streams and consumers, start consuming. */
  start(): void {
    this.started = this.run().catch((err: Error) => this.log.error({ err: err.message }, 'streams failed to start'));
  }

  private async run(): Promise<void> {
    const { nc, jsm } = await connectNats(this.config, 'stockade');
    if (this.stopped) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.jsm = jsm;
    this.connected = true;
    void (async () => {
      for await (const event of nc.status()) {
        if (event.type === 'disconnect') this.connected = false;
        if (event.type === 'reconnect') {
          this.connected = true;
          // Publishes that failed while away are retried; the outboxes are read again too.
          this.alerts.connect(nc);
        }
        if (event.type === 'disconnect' || event.type === 'reconnect') this.log.info({ nats: event.type }, 'nats connection');
      }
    })();
    this.consumer = new StockEventConsumer(this.engine, nc, jsm, this.config, this.log);
    // The consumer creates every stream Stockade owns (ALERTS included) before it consumes.
    await this.consumer.start();
    this.alerts.connect(nc);
    this.followNotifierHistory(nc);
    const orders = this.options.orders;
    if (orders) {
      this.orderIntake = new OrderIntakeConsumer(orders.sink, orders.channels, nc, jsm, this.config, this.log);
      await this.orderIntake.start();
    }
    if (this.options.poller) {
      this.poller = new InventoryPoller({ config: this.options.poller, nc, log: this.log });
      this.poller.start();
    }
    this.log.info({ servers: this.config.servers }, 'streams consuming');
  }

  /** The NATS connection once made (the order flow publishes its events on it), else null. */
  get connection(): NatsConnection | null {
    return this.nc;
  }

  /** Core NATS, no consumer state: a dashboard may miss a record while disconnected, nothing more. */
  private followNotifierHistory(nc: NatsConnection): void {
    for (const subject of [NOTIFIER_ATTEMPTS, NOTIFIER_ACKS]) {
      const subscription = nc.subscribe(subject);
      void (async () => {
        for await (const m of subscription) {
          let record: NotifierRecord;
          try {
            record = m.json<NotifierRecord>();
          } catch (err) {
            // Not the notifier's JSON: nothing to show; logged so a misbehaving publisher is seen.
            this.log.error({ subject: m.subject, err: (err as Error).message }, 'notifier history record is not JSON; skipped');
            continue;
          }
          for (const listener of this.deliveryListeners) listener(record);
        }
      })();
    }
  }

  /** Resolves once connected, with every stream created and the consumers running. */
  async whenStarted(): Promise<void> {
    await this.started;
  }

  status(): StreamsStatus {
    return {
      connected: this.connected,
      stock: this.consumer?.snapshot() ?? null,
      orders: this.orderIntake?.snapshot() ?? null,
      poller: this.poller?.snapshot() ?? null,
      alerts: this.alerts.snapshot(),
    };
  }

  /** Messages not yet applied by the stock consumer, or null when unknown (not connected). */
  async stockLag(): Promise<number | null> {
    if (!this.consumer || !this.connected) return null;
    return this.consumer.pending().catch(() => null);
  }

  /** Resolves once the stock consumer has settled every stock-stream sequence up to `seq`. */
  whenStockSettled(seq: number): Promise<void> {
    if (!this.consumer) return Promise.reject(new Error('the stock consumer is not running'));
    return this.consumer.whenSettled(seq);
  }

  /** Resolves once the order consumer has settled every ORDERS sequence up to `seq`. */
  whenOrderSettled(seq: number): Promise<void> {
    if (!this.orderIntake) return Promise.reject(new Error('the order intake is not running'));
    return this.orderIntake.whenSettled(seq);
  }

  /** Channel orders not yet settled by the order consumer, or null when unknown. */
  async orderLag(): Promise<number | null> {
    if (!this.orderIntake || !this.connected) return null;
    return this.orderIntake.pending().catch(() => null);
  }

  /** Dead letters after a sequence; null while NATS has not been reached. */
  async deadLetters(after: number, limit: number): Promise<DeadLetter[] | null> {
    if (!this.jsm) return null;
    return listDeadLetters(this.jsm, after, limit);
  }

  /** Replay one dead letter to its original subject; null while NATS has not been reached. */
  async replay(seq: number): Promise<ReplayOutcome | null> {
    if (!this.nc || !this.jsm) return null;
    return replayDeadLetter(this.nc, this.jsm, seq);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.started;
    await this.poller?.stop();
    await this.orderIntake?.stop();
    await this.consumer?.stop();
    this.alerts.stop();
    await this.nc?.close();
  }
}
