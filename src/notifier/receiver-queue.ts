// What happens between routing and delivery for one receiver: a digest window, quiet hours and a
// rate budget. Notifications waiting for any of them sit in one bounded buffer and leave together
// as one digest; nothing is dropped — when the buffer reaches heldNotificationsMax it is sent at
// once, quiet hours and budget notwithstanding.
//
// The JetStream message of a notice stays unacknowledged (kept alive with `working`) until every
// receiver's delivery of it settled, so a notifier that stops or crashes while holding a notice
// loses nothing: JetStream redelivers it and the ledger skips what was already sent.

import type { Clock, TimerHandle } from './clock.js';
import type { ReceiverConfig } from './config.js';
import type { Deliverer, DeliveryItem } from './delivery.js';
import { DeliveryStopped } from './delivery.js';
import type { NotifierMetrics } from './metrics.js';
import { quietMsLeft } from './quiet-hours.js';

interface Held {
  item: DeliveryItem;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Send times within the budget window, oldest first; at most notificationsMax of them. */
class RateBudgetLog {
  private readonly sentAt: number[] = [];
  constructor(
    private readonly notificationsMax: number,
    private readonly windowMs: number,
  ) {}

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.sentAt.length && this.sentAt[drop] <= now - this.windowMs) drop++;
    if (drop > 0) this.sentAt.splice(0, drop);
  }

  /** 0 when a notification may go now; else ms until one may. */
  waitMs(now: number): number {
    this.prune(now);
    if (this.sentAt.length < this.notificationsMax) return 0;
    return this.sentAt[0] + this.windowMs - now;
  }

  record(now: number): void {
    this.prune(now);
    this.sentAt.push(now);
    if (this.sentAt.length > this.notificationsMax) this.sentAt.shift();
  }
}

export class ReceiverQueue {
  private held: Held[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private readonly budget: RateBudgetLog | null;
  private stopped = false;

  constructor(
    private readonly receiver: ReceiverConfig,
    private readonly deliverer: Deliverer,
    private readonly clock: Clock,
    private readonly metrics: NotifierMetrics,
    private readonly onError: (err: unknown) => void,
    private readonly onHeld: (count: number) => void = () => undefined,
  ) {
    this.budget = receiver.rateBudget ? new RateBudgetLog(receiver.rateBudget.notificationsMax, receiver.rateBudget.windowMs) : null;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Resolves once the item is settled (sent alone or in a digest, dead, or found sent before). */
  submit(item: DeliveryItem): Promise<void> {
    if (this.stopped) return Promise.reject(new DeliveryStopped());
    const now = this.clock.now();
    const quietLeft = this.quietLeft(item, now);
    // Straight through when nothing applies; whatever is held then waits for quiet hours only
    // (over-budget items would make the budget check below fail).
    if (quietLeft === 0 && this.receiver.digestWindowMs === 0) {
      const budgetWait = this.budget?.waitMs(now) ?? 0;
      if (budgetWait === 0) {
        this.budget?.record(now);
        return this.deliverer.deliver(this.receiver.id, [item]);
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.held.push({ item, resolve, reject });
      this.heldChanged();
      if (this.held.length >= this.receiver.heldNotificationsMax) {
        // Never drop: a full buffer goes out now, whatever the quiet hours or the budget say.
        this.flush(true);
        return;
      }
      // The first held item sets the wake-up (digest window, quiet hours, budget); later ones
      // ride along, since the wake-up re-checks everything held.
      if (this.held.length === 1 || this.timer === null) {
        this.arm(now + Math.max(this.receiver.digestWindowMs, quietLeft, this.budget?.waitMs(now) ?? 0));
      } else if (quietLeft === 0 && this.receiver.digestWindowMs === 0) {
        this.arm(now + (this.budget?.waitMs(now) ?? 0));
      }
    });
  }

  /** Reject what is held (the notices are redelivered later) and stop taking more. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    for (const h of this.held.splice(0)) h.reject(new DeliveryStopped());
    this.heldChanged();
  }

  private heldChanged(): void {
    this.metrics.held.set({ receiver: this.receiver.id }, this.held.length);
    this.onHeld(this.held.length);
  }

  private quietLeft(item: DeliveryItem, now: number): number {
    const quiet = this.receiver.quietHours;
    if (!quiet) return 0;
    if (quiet.criticalPasses && item.alert.severity === 'critical') return 0;
    return quietMsLeft(quiet, now);
  }

  /** Keep the earliest wake-up only. */
  private arm(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.after(at - this.clock.now(), () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.flush(false);
    });
  }

  private flush(force: boolean): void {
    if (this.held.length === 0) return;
    const now = this.clock.now();
    let batch: Held[];
    if (force) {
      batch = this.held.splice(0);
    } else {
      const budgetWait = this.budget?.waitMs(now) ?? 0;
      if (budgetWait > 0) {
        this.arm(now + budgetWait);
        return;
      }
      // Quiet hours hold back what they apply to; critical items with criticalPasses go now.
      batch = this.held.filter((h) => this.quietLeft(h.item, now) === 0);
      this.held = this.held.filter((h) => this.quietLeft(h.item, now) > 0);
    }
    this.heldChanged();
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    if (this.held.length > 0) this.arm(now + Math.min(...this.held.map((h) => this.quietLeft(h.item, now))));
    if (batch.length === 0) return;
    this.budget?.record(now);
    this.deliverer.deliver(this.receiver.id, batch.map((h) => h.item)).then(
      () => batch.forEach((h) => h.resolve()),
      (err) => {
        if (!(err instanceof DeliveryStopped)) this.onError(err);
        batch.forEach((h) => h.reject(err));
      },
    );
  }
}
