// One notifier process: consumes alert notices from the ALERTS stream through a durable pull
// consumer shared by every notifier (same durable name → notices split between them), routes each
// notice, hands it to the receivers' queues, and acknowledges it only once every receiver's
// delivery settled and was recorded. A poison message is recorded in the history and terminated.

import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiCodes, JetStreamApiError, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Alert } from '../alerts/alert.js';
import { sleep, systemClock, type Clock } from './clock.js';
import type { Connector, ConnectorFactory } from './connector.js';
import type { NotifierConfig } from './config.js';
import { Deliverer, DeliveryStopped, type DeliveryLogger } from './delivery.js';
import { AlertHistory, historyRecordOf, type HistoryQuery, type HistoryRecord } from './history.js';
import { NotifierHttpServer } from './http.js';
import { KvBucket } from './kv.js';
import { DeliveryLedger, type LedgerRecord } from './ledger.js';
import { NotifierMetrics } from './metrics.js';
import { decidedAtOf, parseNotice } from './notice.js';
import { OpenAlerts, type OpenAlertState } from './open-alerts.js';
import { ReceiverQueue } from './receiver-queue.js';
import { Router } from './routing.js';

const NANOS_PER_MS = 1_000_000;
/** Redelivery delay after a failed notice: doubled per delivery up to this. */
const REDELIVERY_DELAY_MS_MAX = 60_000;
const REDELIVERY_DELAY_MS = 1000;
/** Messages pulled per request; max_ack_pending bounds the total in flight. */
const PULL_BATCH_MAX = 256;

export interface NotifierLogger extends DeliveryLogger {
  debug(obj: object, msg: string): void;
}

export interface NotifierOptions {
  config: Readonly<NotifierConfig>;
  registry: ReadonlyMap<string, ConnectorFactory<any>>;
  log: NotifierLogger;
  /** Drives digest windows, budgets, quiet hours, backoff and escalation; tests inject their own. */
  clock?: Clock;
  random?: () => number;
  fetch?: typeof fetch;
  /** Where 'acked', 'poison' and 'held' (receiver, count) are emitted; pass one to listen from before the first notice. */
  events?: EventEmitter;
  /** Collect Node's default process metrics (off in tests that run several notifiers). */
  processMetrics?: boolean;
}

export class Notifier {
  readonly metrics: NotifierMetrics;
  /**
   * 'acked' (noticeId) once a notice is settled and acknowledged; 'poison' (stream sequence) once
   * terminated; 'held' (receiver id, count) when a receiver's held buffer changes; 'consuming';
   * 'stream-missing' each time the alert stream is looked for and is not there yet.
   */
  readonly events: EventEmitter;
  private nc!: NatsConnection;
  private jsm!: JetStreamManager;
  private history!: AlertHistory;
  private ledger!: DeliveryLedger;
  private openAlerts!: OpenAlerts;
  private deliverer!: Deliverer;
  private readonly queues = new Map<string, ReceiverQueue>();
  private readonly connectors = new Map<string, Connector>();
  private readonly router: Router;
  private readonly reminderEveryMs: Map<string, number>;
  private http!: NotifierHttpServer;
  private messages: ConsumerMessages | null = null;
  private loopDone: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  private inFlight = 0;
  private readonly inFlightWork = new Set<Promise<void>>();
  private capacityWaiters: (() => void)[] = [];
  private consuming = false;
  /** Times the consume loop found no alert stream and waited (see `streamMissingCount`). */
  private streamMissing = 0;
  private readonly clock: Clock;
  /** The HTTP address once listening. */
  port = 0;
  /**
   * This process in the ledger and history: the configured name plus a random suffix, so a
   * restarted notifier (or two configured alike) is never mistaken for the one that held a claim.
   */
  readonly instance: string;

  private constructor(private readonly options: NotifierOptions) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? new EventEmitter();
    this.instance = `${options.config.instanceId}-${randomBytes(4).toString('hex')}`;
    this.metrics = new NotifierMetrics(options.processMetrics ?? false);
    this.router = new Router(options.config);
    this.reminderEveryMs = new Map(options.config.receivers.map((r) => [r.id, r.repeatEveryMs]));
  }

  get config(): Readonly<NotifierConfig> {
    return this.options.config;
  }

  static async start(options: NotifierOptions): Promise<Notifier> {
    const notifier = new Notifier(options);
    await notifier.open();
    return notifier;
  }

  private async open(): Promise<void> {
    const { config, log } = this.options;
    this.nc = await connect({
      servers: config.nats.servers,
      user: config.nats.user,
      pass: config.nats.password,
      name: `stockade-notifier-${this.instance}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    this.jsm = await jetstreamManager(this.nc);
    this.history = await AlertHistory.open(this.nc, this.jsm, config.nats.historyStream, config.nats.historyMaxAgeMs);
    const ledgerKv = await KvBucket.open<LedgerRecord>(this.nc, this.jsm, config.nats.ledgerBucket, config.nats.ledgerMaxAgeMs);
    this.ledger = new DeliveryLedger(ledgerKv, this.instance, config.delivery.claimStaleMs);
    for (const r of config.receivers) {
      const factory = this.options.registry.get(r.type)!;
      this.connectors.set(r.id, factory.create(r.config, { fetch: this.options.fetch ?? globalThis.fetch, now: () => this.clock.now() }));
    }
    this.deliverer = new Deliverer(
      config.receivers,
      this.connectors,
      config.delivery,
      this.ledger,
      this.history,
      this.metrics,
      this.clock,
      this.instance,
      log,
      this.options.random,
    );
    for (const r of config.receivers) {
      this.queues.set(
        r.id,
        new ReceiverQueue(
          r,
          this.deliverer,
          this.clock,
          this.metrics,
          (err) => log.error({ receiver: r.id, err: (err as Error).message }, 'delivery failed'),
          (count) => this.events.emit('held', r.id, count),
        ),
      );
    }
    const stateKv = await KvBucket.open<OpenAlertState>(this.nc, this.jsm, config.nats.stateBucket, config.nats.historyMaxAgeMs);
    this.openAlerts = new OpenAlerts(
      stateKv,
      this.clock,
      config.openAlertsMax,
      config.delivery.claimStaleMs,
      {
        escalate: (alert, receivers, dueAt) => this.escalate(alert, receivers, dueAt),
        remind: (alert, receiver, count, dueAt) => this.remind(alert, receiver, count, dueAt),
        log,
      },
      (n) => this.metrics.openAlerts.set(n),
    );
    await this.openAlerts.start();
    this.http = new NotifierHttpServer(config.http, this.api(), log);
    this.port = (await this.http.listen()).port;
    this.loopDone = this.consumeLoop();
    log.info({ instance: this.instance, port: this.port, durable: config.nats.durable, receivers: config.receivers.length, rules: config.rules.length }, 'notifier started');
  }

  /** Resolves once the durable consumer is receiving (the stream exists). */
  async whenConsuming(): Promise<void> {
    while (!this.consuming && !this.stopController.signal.aborted) await once(this.events, 'consuming', { signal: this.stopController.signal }).catch(() => undefined);
  }

  /** How often the consume loop has found no alert stream and waited for it. */
  get streamMissingCount(): number {
    return this.streamMissing;
  }

  get openAlertsBook(): OpenAlerts {
    return this.openAlerts;
  }

  circuitState(receiverId: string): string {
    return this.deliverer.circuitState(receiverId);
  }

  heldCount(receiverId: string): number {
    return this.queues.get(receiverId)?.heldCount ?? 0;
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.consuming = false;
    void this.messages?.close();
    this.deliverer.stop();
    for (const q of this.queues.values()) q.stop();
    for (const w of this.capacityWaiters.splice(0)) w();
    await this.loopDone;
    await Promise.allSettled([...this.inFlightWork]);
    await this.openAlerts.stop();
    await this.http.close();
    for (const c of this.connectors.values()) await c.close?.().catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
  }

  private async consumeLoop(): Promise<void> {
    const { config, log } = this.options;
    const js = jetstream(this.nc);
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      try {
        if (!(await this.ensureConsumer())) {
          // Stockade creates the stream; until then there is nothing to consume.
          log.warn({ stream: config.nats.stream }, 'alert stream not found yet; waiting');
          this.streamMissing++;
          this.events.emit('stream-missing');
          await sleep(systemClock, config.nats.streamWaitMs, signal);
          continue;
        }
        const consumer = await js.consumers.get(config.nats.stream, config.nats.durable);
        this.messages = await consumer.consume({ max_messages: Math.min(config.nats.maxAckPending, PULL_BATCH_MAX) });
        if (signal.aborted) {
          void this.messages.close();
          break;
        }
        this.consuming = true;
        this.events.emit('consuming');
        for await (const m of this.messages) {
          while (this.inFlight >= config.nats.maxAckPending && !signal.aborted) await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
          if (signal.aborted) {
            m.nak();
            break;
          }
          this.handle(m);
        }
      } catch (err) {
        log.error({ err: (err as Error).message }, 'alert consumer interrupted; recreating');
      }
      this.consuming = false;
      if (signal.aborted) break;
      await sleep(systemClock, config.nats.streamWaitMs, signal);
    }
  }

  /** Create or update the shared durable consumer; false while the stream does not exist. */
  private async ensureConsumer(): Promise<boolean> {
    const { nats } = this.options.config;
    try {
      await this.jsm.streams.info(nats.stream);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
      throw err;
    }
    const consumer = {
      durable_name: nats.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nats.ackWaitMs * NANOS_PER_MS,
      max_ack_pending: nats.maxAckPending,
    };
    try {
      await this.jsm.consumers.info(nats.stream, nats.durable);
      await this.jsm.consumers.update(nats.stream, nats.durable, { ack_wait: consumer.ack_wait, max_ack_pending: consumer.max_ack_pending });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      try {
        await this.jsm.consumers.add(nats.stream, consumer);
      } catch (addErr) {
        // Another notifier created it a moment ago with the same configuration.
        if (!/already (exists|in use)/i.test((addErr as Error).message)) throw addErr;
      }
    }
    return true;
  }

  private handle(m: JsMsg): void {
    const { config, log } = this.options;
    const parsed = parseNotice(m.data);
    if (!parsed.ok) {
      this.track(this.poison(m, parsed.reason));
      return;
    }
    this.inFlight++;
    this.metrics.inFlight.set(this.inFlight);
    // Keep the message ours while its receivers hold or retry it (digest, quiet hours, backoff).
    const keepAlive = setInterval(() => m.working(), Math.max(500, Math.floor(config.nats.ackWaitMs / 3)));
    const work = this.process(parsed.alert)
      .then(
        async () => {
          // Confirmed by the server, so 'acked' means JetStream will not redeliver it.
          await m.ackAck().catch((err: Error) => log.warn({ noticeId: parsed.alert.noticeId, err: err.message }, 'ack not confirmed; the ledger absorbs a redelivery'));
          log.debug({ noticeId: parsed.alert.noticeId }, 'notice settled and acked');
          this.events.emit('acked', parsed.alert.noticeId);
        },
        (err: unknown) => {
          if (err instanceof DeliveryStopped || this.stopController.signal.aborted) {
            // Stopping: give it back at once so another notifier takes it.
            m.nak();
            return;
          }
          const delay = Math.min(REDELIVERY_DELAY_MS_MAX, REDELIVERY_DELAY_MS * 2 ** Math.min(16, m.info.deliveryCount - 1));
          log.error({ noticeId: parsed.alert.noticeId, err: (err as Error).message, redeliverInMs: delay }, 'notice failed; redelivering');
          m.nak(delay);
        },
      )
      .finally(() => {
        clearInterval(keepAlive);
        this.inFlight--;
        this.metrics.inFlight.set(this.inFlight);
        this.capacityWaiters.shift()?.();
      });
    this.track(work);
  }

  private track(work: Promise<void>): void {
    this.inFlightWork.add(work);
    void work.finally(() => this.inFlightWork.delete(work));
  }

  /** Not an alert: record it, terminate it (never redelivered), count it. */
  private async poison(m: JsMsg, reason: string): Promise<void> {
    const id = `poison:${m.info.stream}:${m.seq}`;
    this.metrics.notices.inc({ outcome: 'poison' });
    const record: HistoryRecord = {
      record: 'poison',
      recordedAt: this.clock.now(),
      instance: this.instance,
      alertId: id,
      noticeId: id,
      status: null,
      type: null,
      severity: null,
      sku: null,
      location: null,
      reason: `${reason} (subject ${m.subject})`,
    };
    try {
      await this.history.append(record, id);
      // No reason text: nats-server 2.9 ignores a "+TERM <reason>" it cannot parse; the history has it.
      m.term();
      this.events.emit('poison', m.seq);
      this.options.log.warn({ subject: m.subject, seq: m.seq, reason }, 'poison notice terminated');
    } catch (err) {
      this.options.log.error({ err: (err as Error).message }, 'poison notice not recorded; redelivering');
      m.nak(REDELIVERY_DELAY_MS);
    }
  }

  private async process(alert: Alert): Promise<void> {
    const route = this.router.route(alert);
    this.metrics.notices.inc({ outcome: route.receivers.length > 0 ? 'routed' : 'unrouted' });
    // The notice record and the open-alert state are written alongside the deliveries, not before
    // them: two JetStream round trips off the stock-out → channel latency. The ack waits for all.
    const kind = alert.status === 'resolved' ? 'recovery' : 'alert';
    const decidedAt = decidedAtOf(alert);
    const results = await Promise.allSettled([
      this.history.append(historyRecordOf(alert, 'notice', this.clock.now(), this.instance, { receivers: route.receivers, rules: route.rules }), `notice:${alert.noticeId}`),
      alert.status === 'firing' ? this.openAlerts.onFiring(alert, route, this.reminderEveryMs) : this.openAlerts.onResolved(alert),
      ...route.receivers.map((r) => this.queues.get(r)!.submit({ alert, kind, deliveryId: `${alert.noticeId}#${r}`, decidedAt })),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async escalate(alert: Alert, receivers: string[], dueAt: number): Promise<void> {
    this.metrics.escalations.inc();
    await this.history.append(historyRecordOf(alert, 'escalation', this.clock.now(), this.instance, { receivers }), `escalation:${alert.id}`);
    this.options.log.warn({ alertId: alert.id, receivers }, 'escalating unacknowledged critical alert');
    const results = await Promise.allSettled(
      receivers.map((r) => this.deliverer.deliver(r, [{ alert, kind: 'escalation', deliveryId: `${alert.id}#escalation#${r}`, decidedAt: dueAt }])),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private remind(alert: Alert, receiver: string, count: number, dueAt: number): void {
    this.queues
      .get(receiver)
      ?.submit({ alert, kind: 'reminder', deliveryId: `${alert.id}#reminder${count}#${receiver}`, decidedAt: dueAt })
      .catch((err: Error) => {
        if (!(err instanceof DeliveryStopped)) this.options.log.error({ alertId: alert.id, receiver, err: err.message }, 'reminder failed');
      });
  }

  private api() {
    return {
      acknowledge: async (alertId: string, by: string) => {
        const state = await this.openAlerts.acknowledge(alertId, by);
        if (state !== null) {
          await this.history.append(historyRecordOf(state.alert, 'ack', this.clock.now(), this.instance, { by }));
          this.options.log.info({ alertId, by }, 'alert acknowledged');
        }
        return state;
      },
      openAlert: (alertId: string) => this.openAlerts.state(alertId),
      history: (query: HistoryQuery) => this.history.query(query),
      metrics: async () => {
        try {
          const info = await this.jsm.consumers.info(this.options.config.nats.stream, this.options.config.nats.durable);
          this.metrics.streamPending.set(info.num_pending);
        } catch (err) {
          // The stream or consumer is not there yet: the gauge keeps its last value. Anything
          // else (a timeout, lost permissions) is worth a line in the log as well.
          const notThereYet =
            err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
          if (!notThereYet) this.options.log.warn({ err: (err as Error).message }, 'could not read the alert consumer for /metrics');
        }
        return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
      },
      health: () => ({ consuming: this.consuming, instance: this.instance }),
    };
  }
}
