// Delivery of one notification to one receiver, with the guarantees: the ledger claim before the
// first send, retries with exponential backoff and full jitter (never sooner than the vendor's
// retryAfterMs), `permanent` recorded dead at once, a circuit per receiver, the receiver's
// fallback while it keeps failing or its circuit is open, and every attempt in the history.

import { createHash } from 'node:crypto';
import type { Alert } from '../alerts/alert.js';
import { sleep, type Clock } from './clock.js';
import type { Connector, DeliveryOutcome, Notification, NotificationKind } from './connector.js';
import type { DeliveryConfig, ReceiverConfig } from './config.js';
import { Circuit } from './circuit.js';
import { historyRecordOf, type AlertHistory, type AttemptOutcome } from './history.js';
import type { DeliveryLedger } from './ledger.js';
import { CIRCUIT_STATE_VALUE, type NotifierMetrics } from './metrics.js';
import { renderNotification } from './templates.js';

export interface DeliveryItem {
  alert: Alert;
  kind: Exclude<NotificationKind, 'digest'>;
  /** Ledger key and, for a single notification, the connector's deliveryId. */
  deliveryId: string;
  /** Epoch ms the notification was decided (the alert's raisedAt/resolvedAt, a reminder's due time). */
  decidedAt: number;
}

export interface DeliveryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class DeliveryStopped extends Error {
  constructor() {
    super('the notifier is stopping');
    this.name = 'DeliveryStopped';
  }
}

interface ReceiverRuntime {
  config: ReceiverConfig;
  connector: Connector;
  circuit: Circuit;
}

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^n)). */
export function backoffMs(config: Pick<DeliveryConfig, 'backoffBaseMs' | 'backoffMaxMs'>, failure: number, random: () => number): number {
  const ceiling = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.max(0, failure - 1));
  return Math.floor(random() * ceiling);
}

/** The connector's deliveryId of a digest: stable for the same set of items. */
export function digestDeliveryId(receiverId: string, itemIds: string[]): string {
  const hash = createHash('sha256').update([...itemIds].sort().join('\n')).digest('base64url').slice(0, 22);
  return `digest:${receiverId}:${hash}`;
}

export class Deliverer {
  private readonly receivers = new Map<string, ReceiverRuntime>();
  private readonly stopController = new AbortController();
  /**
   * Deliveries being worked on in this process (a redelivery joins rather than repeats). Both maps
   * are bounded by the notices in flight (nats.maxAckPending) times their receivers.
   */
  private readonly active = new Map<string, Promise<void>>();
  /** Ledger keys this process holds a claim on, with the delivery that settles them. */
  private readonly claimedHere = new Map<string, Promise<void>>();

  constructor(
    receivers: readonly ReceiverConfig[],
    connectors: ReadonlyMap<string, Connector>,
    private readonly config: DeliveryConfig,
    private readonly ledger: DeliveryLedger,
    private readonly history: AlertHistory,
    private readonly metrics: NotifierMetrics,
    private readonly clock: Clock,
    private readonly instanceId: string,
    private readonly log: DeliveryLogger,
    private readonly random: () => number = Math.random,
  ) {
    for (const r of receivers) {
      const connector = connectors.get(r.id);
      if (!connector) throw new Error(`no connector for receiver ${r.id}`);
      const circuit = new Circuit(config.circuitFailuresMax, config.circuitCooldownMs, (state) => {
        metrics.circuit.set({ receiver: r.id }, CIRCUIT_STATE_VALUE[state]);
        log.warn({ receiver: r.id, circuit: state }, 'circuit changed');
      });
      metrics.circuit.set({ receiver: r.id }, 0);
      this.receivers.set(r.id, { config: r, connector, circuit });
    }
  }

  circuitState(receiverId: string): string {
    return this.receivers.get(receiverId)!.circuit.state(this.clock.now());
  }

  /** Abort every wait; deliveries not yet sent release their claims and reject with DeliveryStopped. */
  stop(): void {
    this.stopController.abort();
  }

  /**
   * Deliver `items` to `receiverId` as one notification (a digest when more than one). Resolves
   * once each item is settled — delivered, dead, uncertain, or found settled in the ledger.
   * Rejects (DeliveryStopped, or a NATS failure) when the items must be tried again later.
   */
  async deliver(receiverId: string, items: DeliveryItem[]): Promise<void> {
    const key = items.map((i) => i.deliveryId).join('\n');
    const running = this.active.get(key);
    if (running) return running;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const work = this.run(receiverId, items, settled).finally(() => {
      this.active.delete(key);
      settle();
    });
    this.active.set(key, work);
    return work;
  }

  private async run(receiverId: string, items: DeliveryItem[], settled: Promise<void>): Promise<void> {
    const receiver = this.receivers.get(receiverId);
    if (!receiver) throw new Error(`unknown receiver ${receiverId}`);
    const claimed = await this.claimAll(receiver, items, settled);
    if (claimed.length === 0) return;
    const revisions = new Map(claimed.map((c) => [c.item.deliveryId, c.revision]));
    const mine = claimed.map((c) => c.item);
    const alerts = mine.map((i) => i.alert);
    const kind: NotificationKind = mine.length > 1 ? 'digest' : mine[0].kind;
    const deliveryId = mine.length > 1 ? digestDeliveryId(receiverId, mine.map((i) => i.deliveryId)) : mine[0].deliveryId;
    const decidedAt = Math.min(...mine.map((i) => i.decidedAt));

    let consecutiveFailures = 0;
    let lastReason = '';
    for (let attempt = 1; attempt <= this.config.attemptsMax; attempt++) {
      const target = this.pickTarget(receiver, consecutiveFailures);
      if (target === null) {
        // Circuit open and no usable fallback: this attempt waits for the half-open trial.
        await this.record(mine, receiverId, kind, deliveryId, 'circuit_open', 'circuit open, no fallback available', attempt);
        lastReason = 'circuit open';
        await this.pause(receiver.circuit.reopensAt() - this.clock.now(), mine, revisions);
        continue;
      }
      const viaFallback = target !== receiver;
      if (attempt > 1) await this.refreshClaims(mine, revisions);
      const rendered = renderNotification(target.config.templates, kind, alerts);
      const notification: Notification = { kind, alert: alerts[0], alerts, title: rendered.title, text: rendered.text, deliveryId };
      const outcome = await this.attempt(target, notification);
      const now = this.clock.now();
      const fallbackFor = viaFallback ? receiverId : undefined;
      if (outcome.kind === 'delivered') {
        target.circuit.success();
        this.metrics.latency.observe({ receiver: target.config.id }, Math.max(0, now - decidedAt) / 1000);
        // The ledger first: the crash window between the vendor's answer and this write is the one
        // that cannot be closed here (see ledger.ts).
        for (const item of mine) await this.ledger.settle(item.deliveryId, 'delivered', now, viaFallback ? { via: target.config.id } : {});
        await this.record(mine, target.config.id, kind, deliveryId, 'delivered', outcome.receipt ?? '', attempt, now - decidedAt, fallbackFor);
        return;
      }
      if (outcome.kind === 'permanent') {
        target.circuit.neutral();
        await this.record(mine, target.config.id, kind, deliveryId, 'permanent', outcome.reason, attempt, now - decidedAt, fallbackFor);
        await this.dead(mine, receiverId, kind, deliveryId, outcome.reason, attempt);
        return;
      }
      target.circuit.failure(now);
      if (!viaFallback) consecutiveFailures++;
      lastReason = outcome.reason;
      await this.record(mine, target.config.id, kind, deliveryId, 'retry', outcome.reason, attempt, now - decidedAt, fallbackFor);
      if (attempt === this.config.attemptsMax) break;
      // Wait out the backoff — and the vendor's hint — only when the next attempt goes to the
      // same receiver; a switch to the fallback goes at once.
      const next = this.pickTarget(receiver, consecutiveFailures, true);
      if (next === target || next === null) {
        const delay = Math.max(outcome.retryAfterMs ?? 0, backoffMs(this.config, attempt, this.random));
        await this.pause(delay, mine, revisions);
      }
    }
    await this.dead(mine, receiverId, kind, deliveryId, `attempts exhausted (${this.config.attemptsMax}): ${lastReason}`, this.config.attemptsMax);
  }

  /** The primary unless it keeps failing or its circuit is shut; else its fallback; null when neither may go. */
  private pickTarget(receiver: ReceiverRuntime, consecutiveFailures: number, peek = false): ReceiverRuntime | null {
    const now = this.clock.now();
    const fallback = receiver.config.fallback ? this.receivers.get(receiver.config.fallback)! : null;
    const primaryOpen = receiver.circuit.state(now) === 'open';
    const useFallback = fallback !== null && (primaryOpen || consecutiveFailures >= this.config.fallbackAfterFailures);
    // A peek must not take the half-open trial it asks about.
    const acquire = (c: Circuit) => (peek ? c.canAcquire(now) : c.tryAcquire(now));
    if (useFallback && acquire(fallback.circuit)) return fallback;
    if (acquire(receiver.circuit)) return receiver;
    return null;
  }

  private async attempt(target: ReceiverRuntime, notification: Notification): Promise<DeliveryOutcome> {
    // Not aborted by stop(): a send in flight finishes (within the timeout) and its answer is
    // recorded, rather than leaving an uncertain claim behind on every clean restart.
    const signal = AbortSignal.timeout(this.config.attemptTimeoutMs);
    try {
      return await target.connector.send(notification, { signal });
    } catch (err) {
      return { kind: 'retry', reason: `connector ${target.config.type} failed: ${(err as Error).message}` };
    }
  }

  /** Claim every item; keep those that are ours to send. Busy claims of a live notifier are waited out. */
  private async claimAll(receiver: ReceiverRuntime, items: DeliveryItem[], settled: Promise<void>): Promise<{ item: DeliveryItem; revision: number }[]> {
    const out: { item: DeliveryItem; revision: number }[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(item.deliveryId)) continue; // the same notice twice in one digest (a redelivery)
      seen.add(item.deliveryId);
      for (;;) {
        // Claimed by another delivery of this process (a redelivery held into a digest while the
        // first copy is being sent): wait for it, then the ledger tells what happened.
        const other = this.claimedHere.get(item.deliveryId);
        if (other) {
          await other;
          continue;
        }
        const now = this.clock.now();
        const result = await this.ledger.claim(item.deliveryId, now);
        if (result.kind === 'claimed') {
          this.holdClaim(item.deliveryId, settled);
          out.push({ item, revision: result.revision });
          break;
        }
        if (result.kind === 'settled') {
          await this.record([item], receiver.config.id, item.kind, item.deliveryId, 'duplicate', `ledger: already ${result.record.state} by ${result.record.by}`, 0);
          break;
        }
        if (result.kind === 'busy') {
          await this.pause(this.config.claimStaleMs - (now - result.record.at), [], new Map());
          continue;
        }
        // A claim left by a crash: the vendor may or may not have the notification.
        if (receiver.config.resendUncertain) {
          const revision = await this.ledger.takeOver(item.deliveryId, result.revision, now);
          if (revision === null) continue;
          this.holdClaim(item.deliveryId, settled);
          out.push({ item, revision });
          break;
        }
        const reason = `claimed by ${result.record.by} at ${new Date(result.record.at).toISOString()} and never settled: the vendor may have it; not resent`;
        await this.ledger.settle(item.deliveryId, 'uncertain', now, { reason });
        await this.record([item], receiver.config.id, item.kind, item.deliveryId, 'uncertain', reason, 0);
        this.log.warn({ receiver: receiver.config.id, deliveryId: item.deliveryId }, 'delivery outcome uncertain after a crash; not resent');
        break;
      }
    }
    return out;
  }

  private holdClaim(deliveryId: string, settled: Promise<void>): void {
    this.claimedHere.set(deliveryId, settled);
    void settled.then(() => {
      if (this.claimedHere.get(deliveryId) === settled) this.claimedHere.delete(deliveryId);
    });
  }

  private async refreshClaims(items: DeliveryItem[], revisions: Map<string, number>): Promise<void> {
    const now = this.clock.now();
    for (const item of items) revisions.set(item.deliveryId, await this.ledger.refresh(item.deliveryId, revisions.get(item.deliveryId)!, now));
  }

  /**
   * Wait on the clock between attempts. On stop, give the claims back and reject, so the notice is
   * redelivered and the next notifier makes the next attempt at once: the same resend a retry here
   * would have made, so releasing adds no duplicate risk.
   */
  private async pause(ms: number, items: DeliveryItem[], revisions: Map<string, number>): Promise<void> {
    await sleep(this.clock, Math.max(0, ms), this.stopController.signal);
    if (!this.stopController.signal.aborted) return;
    for (const item of items) await this.ledger.release(item.deliveryId, revisions.get(item.deliveryId)!).catch(() => undefined);
    throw new DeliveryStopped();
  }

  private async dead(items: DeliveryItem[], receiverId: string, kind: NotificationKind, deliveryId: string, reason: string, attempt: number): Promise<void> {
    const now = this.clock.now();
    for (const item of items) await this.ledger.settle(item.deliveryId, 'dead', now, { reason });
    await this.record(items, receiverId, kind, deliveryId, 'dead', reason, attempt);
    this.log.error({ receiver: receiverId, deliveryId, reason }, 'delivery dead');
  }

  /** One history record per item and attempt, durable before the delivery settles; one metric. */
  private async record(
    items: DeliveryItem[],
    receiverId: string,
    kind: NotificationKind,
    deliveryId: string,
    outcome: AttemptOutcome,
    reason: string,
    attempt: number,
    latencyMs?: number,
    fallbackFor?: string,
  ): Promise<void> {
    this.metrics.deliveries.inc({ receiver: receiverId, outcome });
    const now = this.clock.now();
    for (const item of items) {
      const record = historyRecordOf(item.alert, 'attempt', now, this.instanceId, {
        receiver: receiverId,
        notificationKind: kind,
        deliveryId,
        outcome,
        reason,
        attempt,
        ...(latencyMs !== undefined ? { latencyMs } : {}),
        ...(fallbackFor ? { fallbackFor } : {}),
      });
      await this.history.append(record);
    }
  }
}
