// Keeps JetStream from redelivering the messages a consumer is still working on.
//
// JetStream redelivers a message once ack_wait passes without an ack, and counts that delivery
// against max_deliver. A consumer that holds a message longer than ack_wait — the engine is busy
// or a shard is restarting, the dead-letter publish is slow — would receive a second copy while
// the first is still being applied, and each such timeout uses up a delivery the consumer does not
// see in the copy it holds: it could nak a message for a retry JetStream no longer grants,
// stranding it below the ack floor. So every message held across a tick gets an in-progress ack
// (`+WPI`), which restarts its ack_wait, until it is acknowledged, nak'ed or dead-lettered.
//
// Ticks come every quarter of ack_wait: a message is in-progress-acked within half an ack_wait of
// being taken in, and never for a message that settled within one tick (most of them).

import type { JsMsg } from '@nats-io/jetstream';

export class InProgressAcks {
  private readonly held = new Set<JsMsg>();
  /** What was held at the previous tick: the messages held across a whole tick since. */
  private heldAtLastTick: JsMsg[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly tickMs: number;
  /** In-progress acks sent, for the consumer's status. */
  sent = 0;

  constructor(ackWaitMs: number) {
    this.tickMs = Math.max(1, Math.floor(ackWaitMs / 4));
  }

  hold(m: JsMsg): void {
    this.held.add(m);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      // Never what keeps a process alive: stop() and the connection's close end the work.
      this.timer.unref();
    }
  }

  release(m: JsMsg): void {
    this.held.delete(m);
  }

  get holding(): number {
    return this.held.size;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.held.clear();
    this.heldAtLastTick = [];
  }

  private tick(): void {
    for (const m of this.heldAtLastTick) {
      if (!this.held.has(m)) continue;
      try {
        m.working();
        this.sent++;
      } catch {
        // The connection is closing or gone: JetStream will redeliver the message to the next run,
        // which is what a lost in-progress ack would lead to anyway.
      }
    }
    this.heldAtLastTick = [...this.held];
    if (this.held.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
