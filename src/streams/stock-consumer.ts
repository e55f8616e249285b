// The stock-event consumer: a durable JetStream pull consumer on STOCK_EVENTS. Each event becomes
// a setStock/adjustStock command carrying its event id; it is acknowledged only after the engine
// answers, which is after the WAL flush. A redelivery (a crash between flush and ack) finds the
// event id already applied and changes nothing.
//
// Events are submitted to the engine in stream order and each shard runs its commands in order,
// so events of one SKU apply in order. Failures: a message that can never apply (bad JSON, bad
// subject, a negative result) goes to the dead-letter stream at once; a transient failure
// (shard restarting, overloaded) is redelivered with backoff, then dead-lettered after maxDeliver.

import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Engine, EngineLogger } from '../actors/engine.js';
import type { Reply } from '../actors/types.js';
import type { NatsConfig } from '../config.js';
import type { ErrorBody, ErrorCode } from '../errors.js';
import { DEAD_LETTER_SUBJECT_PREFIX, ensureStreams, nanos, STOCK_STREAM } from './nats.js';
import { deadLetterMessage } from './dead-letters.js';
import { InProgressAcks } from './in-progress.js';
import { runPullLoop } from './pull-loop.js';
import { parseStockEvent } from './stock-events.js';

export const STOCK_CONSUMER = 'stockade-stock';
const DEAD_LETTER_SUBJECT = `${DEAD_LETTER_SUBJECT_PREFIX}stock`;
/** Errors a retry may cure; anything else will fail the same way every time. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['OVERLOADED', 'SHARD_UNAVAILABLE', 'INTERNAL']);
const REDELIVERY_DELAY_MS_MAX = 30_000;
const RESTART_DELAY_MS = 500;
/** Messages one pull asks for, at most. */
const PULL_MESSAGES_MAX = 1024;

export interface StockConsumerStatus {
  stream: string;
  consumer: string;
  running: boolean;
  /** Every stream sequence up to this one is settled: applied (or found applied) or dead-lettered. */
  lastAppliedSequence: number;
  applied: number;
  duplicates: number;
  deadLettered: number;
  redeliveries: number;
  inFlight: number;
  /** In-progress acks sent for messages held longer than a quarter of ack_wait (see in-progress.ts). */
  inProgressAcks: number;
  lastError: string | null;
}

export class StockEventConsumer {
  private stopped = false;
  private messages: ConsumerMessages | null = null;
  private inFlight = 0;
  private capacityWaiters: (() => void)[] = [];
  private appliedWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly status: StockConsumerStatus = {
    stream: STOCK_STREAM,
    consumer: STOCK_CONSUMER,
    running: false,
    lastAppliedSequence: 0,
    applied: 0,
    duplicates: 0,
    deadLettered: 0,
    redeliveries: 0,
    inFlight: 0,
    inProgressAcks: 0,
    lastError: null,
  };
  private loopDone: Promise<void> | null = null;
  /** Settled sequences above the floor, waiting for the gap below them to close. */
  private readonly settledAbove = new Set<number>();
  /** The last sequence JetStream had delivered when this consumer (re)attached (see `raiseFloor`). */
  private deliveredBefore = 0;
  /** A look at JetStream's ack floor, due until the floor passes `deliveredBefore`. */
  private ackFloorCheck: NodeJS.Timeout | null = null;
  /** Messages taken in and not yet settled: JetStream must not redeliver them meanwhile. */
  private readonly working: InProgressAcks;

  constructor(
    private readonly engine: Engine,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly config: NatsConfig,
    private readonly log: EngineLogger,
  ) {
    this.working = new InProgressAcks(config.ackWaitMs);
  }

  async start(): Promise<void> {
    await this.ensure();
    this.loopDone = this.loop();
  }

  snapshot(): StockConsumerStatus {
    return { ...this.status, inFlight: this.inFlight, inProgressAcks: this.working.sent };
  }

  /** Messages the consumer has not yet been delivered (JetStream's view), for lag metrics. */
  async pending(): Promise<number> {
    const info = await this.jsm.consumers.info(STOCK_STREAM, STOCK_CONSUMER);
    return info.num_pending + info.num_ack_pending;
  }

  /** Resolves once every stream sequence up to `seq` has been settled (applied or dead-lettered). */
  whenSettled(seq: number): Promise<void> {
    if (this.status.lastAppliedSequence >= seq) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ seq, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Not awaited: nats.js resolves close() only once an iterator drains, and the loop may not
    // be iterating yet. The loop's end is what we wait for.
    void this.messages?.close();
    await this.loopDone;
    this.working.stop();
    if (this.ackFloorCheck) clearTimeout(this.ackFloorCheck);
  }

  private async ensure(): Promise<void> {
    await ensureStreams(this.jsm, this.config);
    const consumer = {
      durable_name: STOCK_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.config.ackWaitMs),
      // A backstop only: the consumer dead-letters after maxDeliver itself.
      max_deliver: this.config.maxDeliver + 2,
      max_ack_pending: this.config.inFlightMax,
    };
    let ackFloor = 0;
    try {
      const info = await this.jsm.consumers.info(STOCK_STREAM, STOCK_CONSUMER);
      ackFloor = info.ack_floor.stream_seq;
      this.deliveredBefore = Math.max(this.deliveredBefore, info.delivered.stream_seq);
      await this.jsm.consumers.update(STOCK_STREAM, STOCK_CONSUMER, consumer);
    } catch (err) {
      if (!/consumer not found/i.test((err as Error).message)) throw err;
      await this.jsm.consumers.add(STOCK_STREAM, consumer);
    }
    // Everything at or below JetStream's ack floor was settled by an earlier run.
    this.raiseFloor(ackFloor);
  }

  private loop(): Promise<void> {
    return runPullLoop({
      nc: this.nc,
      stream: STOCK_STREAM,
      durable: STOCK_CONSUMER,
      pullMessagesMax: Math.min(this.config.inFlightMax, PULL_MESSAGES_MAX),
      restartDelayMs: RESTART_DELAY_MS,
      name: 'stock consumer',
      log: this.log,
      stopped: () => this.stopped,
      opened: (messages) => (this.messages = messages),
      running: (running) => (this.status.running = running),
      failed: (err) => (this.status.lastError = err.message),
      capacity: () => (this.inFlight < this.config.inFlightMax ? null : new Promise<void>((resolve) => this.capacityWaiters.push(resolve))),
      handle: (m) => this.handle(m),
      ensure: () => this.ensure(),
    });
  }

  private handle(m: JsMsg): void {
    if (m.info.deliveryCount > 1) this.status.redeliveries++;
    const parsed = parseStockEvent({
      subject: m.subject,
      data: m.data,
      msgId: m.headers?.get('Nats-Msg-Id') || undefined,
      stream: m.info.stream,
      streamSequence: m.seq,
    });
    if (!parsed.ok) {
      void this.deadLetter(m, parsed.error);
      return;
    }
    this.inFlight++;
    this.working.hold(m);
    void this.engine.execute(parsed.command).then((reply) => {
      this.inFlight--;
      this.capacityWaiters.shift()?.();
      this.working.release(m);
      this.settle(m, reply);
    });
  }

  private settle(m: JsMsg, reply: Reply): void {
    if (reply.ok) {
      if ('skipped' in reply.value && reply.value.skipped === 'DUPLICATE') this.status.duplicates++;
      m.ack();
      this.status.applied++;
      this.advance(m.seq);
      return;
    }
    if (TRANSIENT.has(reply.error.code) && m.info.deliveryCount < this.config.maxDeliver) {
      const delay = Math.min(REDELIVERY_DELAY_MS_MAX, 250 * 2 ** (m.info.deliveryCount - 1));
      m.nak(delay + Math.floor(Math.random() * (delay / 4)));
      return;
    }
    void this.deadLetter(m, reply.error);
  }

  private async deadLetter(m: JsMsg, error: ErrorBody): Promise<void> {
    this.working.hold(m);
    const failure = await deadLetterMessage(this.nc, DEAD_LETTER_SUBJECT, m, error, REDELIVERY_DELAY_MS_MAX);
    this.working.release(m);
    if (failure) {
      // The dead-letter stream is unreachable: the message waits for a later delivery.
      this.status.lastError = failure.message;
      return;
    }
    this.status.deadLettered++;
    this.advance(m.seq);
    this.log.error({ subject: m.subject, seq: m.seq, reason: error.code }, 'stock event dead-lettered');
  }

  private advance(seq: number): void {
    if (seq <= this.status.lastAppliedSequence) return;
    this.settledAbove.add(seq);
    this.raiseFloor(this.status.lastAppliedSequence);
  }

  /** Everything up to `floor` is settled: move the floor there and on over settled sequences. */
  private raiseFloor(floor: number): void {
    if (floor > this.status.lastAppliedSequence) {
      this.status.lastAppliedSequence = floor;
      for (const s of this.settledAbove) if (s <= floor) this.settledAbove.delete(s);
    }
    while (this.settledAbove.delete(this.status.lastAppliedSequence + 1)) this.status.lastAppliedSequence++;
    if (this.status.lastAppliedSequence < this.deliveredBefore) this.checkAckFloorLater();
    if (this.appliedWaiters.length === 0) return;
    const done = this.appliedWaiters.filter((w) => w.seq <= this.status.lastAppliedSequence);
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.seq > this.status.lastAppliedSequence);
    for (const w of done) w.resolve();
  }

  /**
   * Messages delivered before this consumer attached may never come to it: the consumer that
   * died (another process, or this one before a restart) acknowledged some of them out of order,
   * above the ack floor it left, and JetStream does not redeliver those. Seen in CI: the floor
   * stayed below two such messages for good, and `settledAbove` grew with every later one.
   * JetStream's ack floor passes them once the rest are acknowledged, so until our floor passes
   * what was delivered before, look at JetStream's every ack_wait.
   */
  private checkAckFloorLater(): void {
    if (this.ackFloorCheck || this.stopped) return;
    this.ackFloorCheck = setTimeout(() => void this.checkAckFloor(), this.config.ackWaitMs);
    this.ackFloorCheck.unref();
  }

  private async checkAckFloor(): Promise<void> {
    let ackFloor = 0;
    try {
      ackFloor = (await this.jsm.consumers.info(STOCK_STREAM, STOCK_CONSUMER)).ack_floor.stream_seq;
    } catch (err) {
      this.status.lastError = (err as Error).message;
    }
    this.ackFloorCheck = null;
    // Also schedules the next look while the floor is still below what was delivered before.
    this.raiseFloor(ackFloor);
  }
}
