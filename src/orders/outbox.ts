// The outbox relay: events written with their change (store.ts) are published to JetStream
// after the flush, with Nats-Msg-Id = the event id, and removed when JetStream confirms. A failed
// publish is retried after outboxRetryIntervalMs; on start everything left is published again
// (JetStream drops what it already holds within its duplicate window).
//
// Order: events are sent in the order they were written, on one connection, so the stream
// stores them in that order — unless a publish fails and is retried after later ones went
// through. Every event carries its order's `version`; a consumer that needs an order's events in
// sequence orders them by it (publishing one at a time would cost a round trip per event).

import type { EngineLogger } from '../actors/engine.js';
import { EVENT_SUBJECT_TOKEN } from './model.js';
import type { OrderEventPublisher } from './publisher.js';
import type { OrderChange, OrderStore, OutboxEntry } from './store.js';

export class OutboxRelay {
  /** Entries written and not yet confirmed. */
  private pending = 0;
  private readonly inFlight = new Set<string>();
  private emptyWaiters: (() => void)[] = [];
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly store: OrderStore,
    private readonly publisher: OrderEventPublisher,
    private readonly retryIntervalMs: number,
    private readonly log: EngineLogger,
  ) {}

  get size(): number {
    return this.pending;
  }

  /** Entries found in the store at recovery. */
  recovered(count: number): void {
    this.pending += count;
  }

  /** Entries queued in the transaction being written now. */
  written(count: number): void {
    this.pending += count;
  }

  publish(items: { key: string; entry: OutboxEntry }[]): void {
    if (this.closed) return;
    for (const { key, entry } of items) {
      if (this.inFlight.has(key)) continue;
      this.inFlight.add(key);
      this.publisher.publish(entry.subject, entry.payload, entry.id).then(
        () => {
          this.inFlight.delete(key);
          if (this.closed) return;
          this.store.confirmOutbox(key);
          this.pending--;
          if (this.pending === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
        },
        (err: Error) => {
          this.inFlight.delete(key);
          this.log.error({ eventId: entry.id, reason: err.message }, 'order event not published; retrying');
          this.scheduleRetry();
        },
      );
    }
  }

  /** Publish everything the outbox still holds (after a restart, after a failure). */
  drain(): void {
    this.publish([...this.store.pendingOutbox()]);
  }

  whenEmpty(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private scheduleRetry(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.drain();
    }, this.retryIntervalMs);
    this.retry.unref();
  }
}

/** The outbox entries of one change: one per event, its id `<orderId>.<version after it>`. */
export function outboxEntries(change: OrderChange): OutboxEntry[] {
  const order = change.order;
  let version = order.version - change.events.length;
  return change.events.map((event) => {
    version++;
    const token = EVENT_SUBJECT_TOKEN[event.type];
    const { type: _type, at, ...fields } = event;
    const payload = {
      id: `${order.id}.${version}`,
      event: token,
      orderId: order.id,
      version,
      at: new Date(at).toISOString(),
      channel: order.channel,
      account: order.account,
      externalId: order.externalId,
      customerId: order.customer.id,
      email: order.customer.email,
      ...fields,
    };
    return { id: payload.id, subject: `orders.events.${token}.${order.id}`, payload: JSON.stringify(payload) };
  });
}
