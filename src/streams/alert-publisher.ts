// Publishes the shards' alert outbox to JetStream: each notice goes to
// `alerts.<type>.<severity>.<sku>` with Nats-Msg-Id = its noticeId, and leaves the shard's outbox
// only once JetStream has stored it. A notice published twice (a crash after the store, before
// the outbox removal) is dropped by JetStream's duplicate window, and past it by the notifier's
// delivery ledger, which is keyed by the same id.
//
// Memory is bounded: past `pendingMax` queued notices the newest are dropped here (they stay in
// the outbox on disk) and the shards are asked to send their outbox again once the queue drains.

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Engine, EngineLogger } from '../actors/engine.js';
import { alertSubject, type Alert } from '../alerts/alert.js';
import { dropOldest, evictionBatch } from '../insertion-order.js';

/** Notices waiting to be published, in memory. */
export const ALERTS_PENDING_MAX = 50_000;
/** Publishes awaiting JetStream's answer at once. */
const PUBLISHES_IN_FLIGHT_MAX = 256;
const RETRY_DELAY_MS_MIN = 100;
const RETRY_DELAY_MS_MAX = 5_000;
/**
 * Notices remembered as published, so an outbox resend that crossed their confirmation is not
 * published again (JetStream would drop it as a duplicate anyway; this saves the round trip).
 */
const RECENTLY_PUBLISHED_MAX = 10_000;

interface Queued {
  shardId: number;
  notice: Alert;
}

export interface AlertPublisherStatus {
  published: number;
  /** Publishes JetStream dropped as duplicates of a stored notice (same Nats-Msg-Id). */
  duplicates: number;
  pending: number;
  inFlight: number;
  failures: number;
  dropped: number;
  lastError: string | null;
}

export class AlertPublisher {
  private js: JetStreamClient | null = null;
  private readonly queue: Queued[] = [];
  /** Notices queued or in flight, by noticeId: an outbox resend never queues one twice. */
  private readonly known = new Set<string>();
  /** Oldest first (insertion order); bounded by RECENTLY_PUBLISHED_MAX. */
  private readonly recentlyPublished = new Set<string>();
  private inFlight = 0;
  private retryDelayMs = RETRY_DELAY_MS_MIN;
  private retryTimer: NodeJS.Timeout | null = null;
  private overflowed = false;
  private stopped = false;
  private readonly status: AlertPublisherStatus = { published: 0, duplicates: 0, pending: 0, inFlight: 0, failures: 0, dropped: 0, lastError: null };
  /** Confirmed notices per shard, handed back to the shards once per event-loop turn. */
  private confirmed = new Map<number, string[]>();
  private confirmScheduled = false;
  private readonly idle: (() => void)[] = [];
  /** Called once per published notice with the time from its decision to JetStream's ack. */
  onPublished: (notice: Alert, ms: number) => void = () => {};

  constructor(
    private readonly engine: Engine,
    private readonly log: EngineLogger,
    private readonly pendingMax = ALERTS_PENDING_MAX,
  ) {
    engine.observe({ alerts: (shardId, notices) => this.enqueue(shardId, notices) });
  }

  /** Start publishing on a connection (and again after a reconnect). */
  connect(nc: NatsConnection): void {
    this.js = jetstream(nc);
    // Whatever failed while NATS was away is still in the outboxes.
    this.engine.resendOutbox();
    this.pump();
  }

  snapshot(): AlertPublisherStatus {
    return { ...this.status, pending: this.queue.length, inFlight: this.inFlight };
  }

  /** Resolves once nothing is queued or in flight (tests, shutdown). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private enqueue(shardId: number, notices: Alert[]): void {
    for (const notice of notices) {
      if (this.known.has(notice.noticeId)) continue;
      if (this.recentlyPublished.has(notice.noticeId)) {
        // Already stored; the shard's confirmation may have crossed this resend.
        this.confirm(shardId, notice.noticeId);
        continue;
      }
      if (this.queue.length >= this.pendingMax) {
        this.overflowed = true;
        this.status.dropped++;
        continue;
      }
      this.known.add(notice.noticeId);
      this.queue.push({ shardId, notice });
    }
    this.pump();
  }

  private pump(): void {
    const js = this.js;
    if (!js || this.stopped || this.retryTimer) return;
    while (this.inFlight < PUBLISHES_IN_FLIGHT_MAX && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.inFlight++;
      js.publish(alertSubject(item.notice), JSON.stringify(item.notice), { msgID: item.notice.noticeId }).then(
        (ack) => this.published(item, ack.duplicate),
        (err: Error) => this.failed(item, err),
      );
    }
    this.settleIfIdle();
  }

  private published(item: Queued, duplicate: boolean): void {
    const id = item.notice.noticeId;
    this.inFlight--;
    this.known.delete(id);
    this.retryDelayMs = RETRY_DELAY_MS_MIN;
    if (duplicate) this.status.duplicates++;
    else {
      this.status.published++;
      const decidedAt = Date.parse(item.notice.status === 'resolved' ? item.notice.resolvedAt! : item.notice.raisedAt);
      this.onPublished(item.notice, Date.now() - decidedAt);
    }
    this.recentlyPublished.add(id);
    if (this.recentlyPublished.size > RECENTLY_PUBLISHED_MAX) dropOldest(this.recentlyPublished, evictionBatch(RECENTLY_PUBLISHED_MAX));
    this.confirm(item.shardId, id);
    this.pump();
  }

  private confirm(shardId: number, noticeId: string): void {
    let ids = this.confirmed.get(shardId);
    if (!ids) this.confirmed.set(shardId, (ids = []));
    ids.push(noticeId);
    this.scheduleConfirm();
  }

  private failed(item: Queued, err: Error): void {
    this.inFlight--;
    this.status.failures++;
    this.status.lastError = err.message;
    // Back to the front: notices of one SKU keep their order as far as the retry allows.
    this.queue.unshift(item);
    if (!this.retryTimer && !this.stopped) {
      this.log.error({ err: err.message, retryInMs: this.retryDelayMs }, 'alert publish failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, this.retryDelayMs);
      this.retryTimer.unref();
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_DELAY_MS_MAX);
    }
  }

  private scheduleConfirm(): void {
    if (this.confirmScheduled) return;
    this.confirmScheduled = true;
    setImmediate(() => {
      this.confirmScheduled = false;
      const confirmed = this.confirmed;
      this.confirmed = new Map();
      for (const [shardId, ids] of confirmed) this.engine.alertsPublished(shardId, ids);
    });
  }

  private settleIfIdle(): void {
    if (this.queue.length > 0 || this.inFlight > 0) return;
    if (this.overflowed) {
      // What was dropped from memory is still on disk: fetch it now there is room.
      this.overflowed = false;
      this.engine.resendOutbox();
    }
    for (const resolve of this.idle.splice(0)) resolve();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
