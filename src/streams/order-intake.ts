// The channel-order intake: a durable JetStream pull consumer on orders.*.created (ORDERS stream).
// Each message is adapted to a canonical order (src/streams/adapters/) and handed to the order
// flow through OrderSink.placeOrder; it is acknowledged only once the sink has answered, which is
// after the order's first state is durable. A redelivery (a crash between that answer and the ack,
// or a duplicate publish that escaped the duplicate window) reaches the sink again, which is
// idempotent on (channel, account, externalId): the order is placed once.
//
// What happens to a message, by the answer it gets:
//   adapter refuses it (bad payload, unknown channel or account) → dead letter at once, with the
//     reason code, the offending field and the original headers; it would fail the same way again.
//   sink answers ok (placed, held, backordered …), or refuses for stock
//     (business answers, BUSINESS_REFUSALS)            → ack; the order flow has decided.
//   sink fails transiently (TRANSIENT), or throws      → nak with exponential backoff, at most
//     maxDeliver deliveries, then dead letter.
//   sink refuses the order otherwise (e.g. SKU_NOT_FOUND, PREORDER_NOT_OFFERED: a catalogue or
//     configuration gap) → dead letter, replayable once fixed.
//
// Dead letters go to the DEAD_LETTERS stream on dlq.orders with the same headers the stock
// consumer writes (DEAD_LETTER_HEADERS), so listDeadLetters/replayDeadLetter serve both.

import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EngineLogger } from '../actors/engine.js';
import type { NatsConfig } from '../config.js';
import { errorBody, type ErrorBody, type ErrorCode } from '../errors.js';
import type { OrderSink, PlaceOrderResult } from '../orders/canonical.js';
import { adaptOrder, type AdaptResult } from './adapters/index.js';
import { deadLetterMessage } from './dead-letters.js';
import { InProgressAcks } from './in-progress.js';
import { runPullLoop } from './pull-loop.js';
import { CHANNEL_ORDER_SUBJECTS, DEAD_LETTER_SUBJECT_PREFIX, ensureStreams, nanos, ORDERS_STREAM } from './nats.js';
import type { OrderChannelsConfig } from './order-channels.js';

export const ORDER_CONSUMER = 'stockade-orders';
export const ORDER_DEAD_LETTER_SUBJECT = `${DEAD_LETTER_SUBJECT_PREFIX}orders`;
/** orders.events.created matches orders.*.created but is the order flow's own event, not an order. */
const ORDER_EVENTS_CHANNEL = 'events';

/** Sink failures a later delivery may cure. */
export const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'OVERLOADED',
  'SHARD_UNAVAILABLE',
  'INTERNAL',
  'STREAMS_UNAVAILABLE',
  'ORDER_LIMIT',
  'PENDING_QUEUE_FULL',
  'RESERVATIONS_PER_SKU_LIMIT',
]);

/** The order flow decided against the order (held, refused for stock or policy): settled, not failed. */
export const BUSINESS_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INSUFFICIENT_STOCK',
  'SKU_FLAGGED_OUT_OF_STOCK',
  'CART_REJECTED',
  'ORDER_ON_HOLD',
  'ORDER_LINES_UNAVAILABLE',
  'PREORDER_CAPACITY_EXHAUSTED',
  'CUSTOMER_RESERVATION_LIMIT',
]);

export const REDELIVERY_DELAY_MS_BASE = 250;
export const REDELIVERY_DELAY_MS_MAX = 30_000;
const RESTART_DELAY_MS = 500;
/** Messages pulled per request; JetStream's max_ack_pending (inFlightMax) bounds the rest. */
const PULL_MESSAGES_MAX = 256;

export interface OrderIntakeOptions {
  durableName: string;
  /** JetStream redelivers an unacknowledged order after this long. */
  ackWaitMs: number;
  /** Deliveries of one message before a transient failure is dead-lettered. */
  maxDeliver: number;
  /** Orders in the sink at once (also JetStream's max_ack_pending). */
  inFlightMax: number;
  /** First retry delay after a transient failure; doubles per delivery up to redeliveryDelayMsMax. */
  redeliveryDelayMsBase: number;
  redeliveryDelayMsMax: number;
}

export function orderIntakeOptions(nats: NatsConfig, over: Partial<OrderIntakeOptions> = {}): OrderIntakeOptions {
  return {
    durableName: ORDER_CONSUMER,
    ackWaitMs: nats.ackWaitMs,
    maxDeliver: nats.maxDeliver,
    inFlightMax: Math.min(nats.inFlightMax, 1024),
    redeliveryDelayMsBase: REDELIVERY_DELAY_MS_BASE,
    redeliveryDelayMsMax: REDELIVERY_DELAY_MS_MAX,
    ...over,
  };
}

export interface OrderIntakeStatus {
  stream: string;
  consumer: string;
  running: boolean;
  /** Every stream sequence up to this one is settled: placed, refused by the order flow, dead-lettered or ignored. */
  lastAppliedSequence: number;
  /** Deliveries taken in, redeliveries included. */
  consumed: number;
  /** Orders the sink placed for the first time. */
  applied: number;
  /** Orders the sink had already placed (a redelivery or a republished order): answered, not placed again. */
  duplicates: number;
  /** Orders the order flow refused for stock or policy (acknowledged: a decision, not a failure). */
  rejected: number;
  deadLettered: number;
  deadLetteredByReason: Partial<Record<ErrorCode, number>>;
  /** Transient sink failures answered with a delayed redelivery. */
  retries: number;
  redeliveries: number;
  /** orders.events.created messages: the order flow's own, acknowledged untouched. */
  ignored: number;
  inFlight: number;
  /** In-progress acks sent for messages held longer than a quarter of ack_wait (see in-progress.ts). */
  inProgressAcks: number;
  lastError: string | null;
}

export class OrderIntakeConsumer {
  private stopped = false;
  private messages: ConsumerMessages | null = null;
  private inFlight = 0;
  private capacityWaiters: (() => void)[] = [];
  private settledWaiters: { seq: number; resolve: () => void }[] = [];
  private loopDone: Promise<void> | null = null;
  /** Delivered, not yet settled; at most inFlightMax (JetStream's max_ack_pending). */
  private readonly unsettled = new Set<number>();
  private oldestUnsettled = 0;
  private highestDelivered = 0;
  /** Deliveries a previous run left unacknowledged, between these sequences (see ensure). */
  private leftOutstanding = 0;
  private leftOutstandingAbove = 0;
  private leftOutstandingUpTo = 0;
  private readonly options: OrderIntakeOptions;
  private readonly status: OrderIntakeStatus;
  /** Orders taken in and not yet settled: JetStream must not redeliver them meanwhile. */
  private readonly working: InProgressAcks;

  constructor(
    private readonly sink: OrderSink,
    private readonly channels: OrderChannelsConfig,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly nats: NatsConfig,
    private readonly log: EngineLogger,
    options: Partial<OrderIntakeOptions> = {},
  ) {
    this.options = orderIntakeOptions(nats, options);
    this.status = {
      stream: ORDERS_STREAM,
      consumer: this.options.durableName,
      running: false,
      lastAppliedSequence: 0,
      consumed: 0,
      applied: 0,
      duplicates: 0,
      rejected: 0,
      deadLettered: 0,
      deadLetteredByReason: {},
      retries: 0,
      redeliveries: 0,
      ignored: 0,
      inFlight: 0,
      inProgressAcks: 0,
      lastError: null,
    };
    this.working = new InProgressAcks(this.options.ackWaitMs);
  }

  async start(): Promise<void> {
    await this.ensure();
    this.loopDone = this.loop();
  }

  /** For /metrics and /health/ready. */
  snapshot(): OrderIntakeStatus {
    return { ...this.status, deadLetteredByReason: { ...this.status.deadLetteredByReason }, inFlight: this.inFlight, inProgressAcks: this.working.sent };
  }

  /** Orders not yet settled in JetStream's view (undelivered plus awaiting ack): the lag. */
  async pending(): Promise<number> {
    const info = await this.jsm.consumers.info(ORDERS_STREAM, this.options.durableName);
    return info.num_pending + info.num_ack_pending;
  }

  /** Resolves once every stream sequence up to `seq` is settled. */
  whenSettled(seq: number): Promise<void> {
    if (this.status.lastAppliedSequence >= seq) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push({ seq, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Not awaited: nats.js resolves close() only once an iterator drains (see StockEventConsumer).
    void this.messages?.close();
    await this.loopDone;
    this.working.stop();
  }

  private async ensure(): Promise<void> {
    await ensureStreams(this.jsm, this.nats);
    const consumer = {
      durable_name: this.options.durableName,
      filter_subject: CHANNEL_ORDER_SUBJECTS,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.options.ackWaitMs),
      // A backstop only: the consumer dead-letters after maxDeliver itself.
      max_deliver: this.options.maxDeliver + 2,
      max_ack_pending: this.options.inFlightMax,
    };
    let ackFloor = 0;
    try {
      const info = await this.jsm.consumers.info(ORDERS_STREAM, this.options.durableName);
      ackFloor = info.ack_floor.stream_seq;
      // Deliveries an earlier run left unacknowledged come back only after ack_wait: until every
      // one of them is settled, the floor may not pass JetStream's ack floor.
      this.leftOutstanding = info.num_ack_pending;
      this.leftOutstandingAbove = ackFloor;
      this.leftOutstandingUpTo = info.delivered.stream_seq;
      await this.jsm.consumers.update(ORDERS_STREAM, this.options.durableName, consumer);
    } catch (err) {
      if (!/consumer not found/i.test((err as Error).message)) throw err;
      await this.jsm.consumers.add(ORDERS_STREAM, consumer);
    }
    // Everything at or below JetStream's ack floor was settled by an earlier run.
    if (ackFloor > this.highestDelivered) this.highestDelivered = ackFloor;
    if (this.unsettled.size === 0) this.advanceTo(ackFloor);
  }

  private loop(): Promise<void> {
    return runPullLoop({
      nc: this.nc,
      stream: ORDERS_STREAM,
      durable: this.options.durableName,
      pullMessagesMax: Math.min(this.options.inFlightMax, PULL_MESSAGES_MAX),
      restartDelayMs: RESTART_DELAY_MS,
      name: 'order intake',
      log: this.log,
      stopped: () => this.stopped,
      opened: (messages) => (this.messages = messages),
      running: (running) => (this.status.running = running),
      failed: (err) => (this.status.lastError = err.message),
      capacity: () => (this.inFlight < this.options.inFlightMax ? null : new Promise<void>((resolve) => this.capacityWaiters.push(resolve))),
      handle: (m) => this.handle(m),
      ensure: () => this.ensure(),
    });
  }

  private handle(m: JsMsg): void {
    this.status.consumed++;
    this.delivered(m.seq);
    if (m.info.deliveryCount > 1) this.status.redeliveries++;
    const channel = m.subject.split('.')[1] ?? '';
    if (channel === ORDER_EVENTS_CHANNEL) {
      void this.ack(m, 'ignored');
      return;
    }
    let adapted: AdaptResult;
    try {
      adapted = adaptOrder({ channel, data: m.data, header: (name) => m.headers?.get(name, 'insensitive') || undefined }, this.channels);
    } catch (err) {
      // An adapter bug, not a bad order: still never let one message stop the consumer or loop.
      adapted = { ok: false, error: errorBody('INTERNAL', `adapter failed: ${(err as Error).message}`) };
    }
    if (!adapted.ok) {
      void this.deadLetter(m, adapted.error);
      return;
    }
    this.inFlight++;
    this.working.hold(m);
    const order = adapted.order;
    // Through a promise even if placeOrder throws synchronously: a throw is a transient failure.
    Promise.resolve()
      .then(() => this.sink.placeOrder(order))
      .catch((err: Error): PlaceOrderResult => ({ ok: false, error: errorBody('INTERNAL', err.message) }))
      .then((result) => {
        this.inFlight--;
        this.capacityWaiters.shift()?.();
        this.working.release(m);
        if (this.stopped) return; // the connection is going away: JetStream redelivers it to the next run
        this.settle(m, result);
      });
  }

  private settle(m: JsMsg, result: PlaceOrderResult): void {
    if (result.ok) {
      void this.ack(m, result.replayed ? 'duplicates' : 'applied');
      return;
    }
    const code = result.error.code;
    if (BUSINESS_REFUSALS.has(code)) {
      void this.ack(m, 'rejected');
      return;
    }
    if (TRANSIENT.has(code) && m.info.deliveryCount < this.options.maxDeliver) {
      const delay = Math.min(this.options.redeliveryDelayMsMax, this.options.redeliveryDelayMsBase * 2 ** (m.info.deliveryCount - 1));
      // Jitter, so orders that failed together do not all return in the same instant.
      m.nak(delay + Math.floor(Math.random() * (delay / 4)));
      this.status.retries++;
      this.status.lastError = `${code}: ${result.error.message}`;
      return;
    }
    void this.deadLetter(m, result.error);
  }

  /**
   * Acknowledge and wait for JetStream to confirm, so "settled" means JetStream will not deliver
   * the order again (and the lag it reports agrees). A lost confirmation leaves the order
   * unsettled: its redelivery reaches the idempotent sink, which answers it as a replay.
   */
  private async ack(m: JsMsg, outcome: 'applied' | 'duplicates' | 'rejected' | 'ignored'): Promise<void> {
    try {
      await m.ackAck();
      this.status[outcome]++;
      this.settled(m.seq);
    } catch (err) {
      this.status.lastError = (err as Error).message;
    }
  }

  private async deadLetter(m: JsMsg, error: ErrorBody): Promise<void> {
    this.working.hold(m);
    const failure = await deadLetterMessage(this.nc, ORDER_DEAD_LETTER_SUBJECT, m, error, this.options.redeliveryDelayMsMax);
    this.working.release(m);
    if (failure) {
      // The dead-letter stream is unreachable: the order waits for a later delivery.
      this.status.lastError = failure.message;
      return;
    }
    this.status.deadLettered++;
    this.status.deadLetteredByReason[error.code] = (this.status.deadLetteredByReason[error.code] ?? 0) + 1;
    this.settled(m.seq);
    this.log.error({ subject: m.subject, seq: m.seq, reason: error.code, details: error.details }, 'channel order dead-lettered');
  }

  /**
   * The floor: every sequence at or below it is settled. Deliveries come in stream order (a
   * redelivery is of a sequence already seen), and the stream's other subjects (orders.events.>)
   * are never delivered here, so the floor is the highest delivered sequence when nothing is
   * outstanding, else just below the oldest outstanding one. After a restart, sequences left
   * outstanding by the previous run are known again only once redelivered: until as many of them
   * as JetStream counted (num_ack_pending) are settled, the floor stays at its ack floor.
   */
  private delivered(seq: number): void {
    this.unsettled.add(seq);
    if (this.oldestUnsettled === 0 || seq < this.oldestUnsettled) this.oldestUnsettled = seq;
    if (seq > this.highestDelivered) this.highestDelivered = seq;
  }

  private settled(seq: number): void {
    this.unsettled.delete(seq);
    if (this.leftOutstanding > 0 && seq > this.leftOutstandingAbove && seq <= this.leftOutstandingUpTo) this.leftOutstanding--;
    if (this.unsettled.size === 0) {
      this.oldestUnsettled = 0;
      this.advanceTo(this.highestDelivered);
      return;
    }
    if (seq === this.oldestUnsettled) {
      let oldest = Infinity;
      for (const s of this.unsettled) if (s < oldest) oldest = s;
      this.oldestUnsettled = oldest;
    }
    this.advanceTo(this.oldestUnsettled - 1);
  }

  private advanceTo(floor: number): void {
    if (this.leftOutstanding > 0) floor = Math.min(floor, this.leftOutstandingAbove);
    if (floor <= this.status.lastAppliedSequence) return;
    this.status.lastAppliedSequence = floor;
    if (this.settledWaiters.length === 0) return;
    const done = this.settledWaiters.filter((w) => w.seq <= floor);
    this.settledWaiters = this.settledWaiters.filter((w) => w.seq > floor);
    for (const w of done) w.resolve();
  }
}
