// The delivery ledger: one entry per deliveryId (notice id + receiver id) in a JetStream KV
// bucket, shared by every notifier. A delivery is claimed with a compare-and-set create before
// anything is sent and marked delivered (or dead) after the connector answers, so a notice that
// JetStream redelivers — to this notifier or another — is not sent to that receiver again.
//
// The irreducible window: a crash after the vendor accepted a request but before `delivered` was
// written leaves the claim behind. Whoever meets that claim later (after claimStaleMs) cannot know
// whether the vendor got it. For receivers with `resendUncertain` it sends again with the same
// deliveryId, which vendors with an idempotency or dedup key drop; for the others it records the
// delivery as `uncertain` and does not resend (at most once, surfaced in history and metrics).

import type { KvBucket } from './kv.js';

export type LedgerState = 'claimed' | 'delivered' | 'dead' | 'uncertain';

export interface LedgerRecord {
  state: LedgerState;
  /** Notifier instance that wrote the record. */
  by: string;
  /** Epoch ms of the write (a claim is refreshed before each attempt). */
  at: number;
  /** The receiver that finally took it, when a fallback did. */
  via?: string;
  reason?: string;
}

export type ClaimResult =
  | { kind: 'claimed'; revision: number }
  /** Already settled by someone: nothing to send. */
  | { kind: 'settled'; record: LedgerRecord }
  /** Another notifier is working on it now. */
  | { kind: 'busy'; record: LedgerRecord }
  /** A claim left by a crash: outcome unknown. `revision` lets the caller take it over. */
  | { kind: 'stale'; record: LedgerRecord; revision: number };

export class DeliveryLedger {
  constructor(
    private readonly kv: KvBucket<LedgerRecord>,
    private readonly instanceId: string,
    private readonly claimStaleMs: number,
  ) {}

  async claim(deliveryId: string, now: number): Promise<ClaimResult> {
    const record: LedgerRecord = { state: 'claimed', by: this.instanceId, at: now };
    const revision = await this.kv.create(deliveryId, record);
    if (revision !== null) return { kind: 'claimed', revision };
    const existing = await this.kv.get(deliveryId);
    if (existing === null) {
      // Deleted between our create and get (never done by the notifier; a manual purge): retry once.
      const again = await this.kv.create(deliveryId, record);
      if (again !== null) return { kind: 'claimed', revision: again };
      throw new Error(`ledger entry ${deliveryId} changes under us`);
    }
    const found = existing.value;
    if (found.state !== 'claimed') return { kind: 'settled', record: found };
    if (found.by === this.instanceId) {
      // Our own earlier claim (this process redelivered to itself after a lost ack): still ours.
      return { kind: 'stale', record: found, revision: existing.revision };
    }
    if (now - found.at < this.claimStaleMs) return { kind: 'busy', record: found };
    return { kind: 'stale', record: found, revision: existing.revision };
  }

  /** Take over a stale claim; null when someone else changed it first. */
  async takeOver(deliveryId: string, revision: number, now: number): Promise<number | null> {
    return this.kv.update(deliveryId, { state: 'claimed', by: this.instanceId, at: now }, revision);
  }

  /** Refresh our claim before another attempt, so others keep seeing it as live. */
  async refresh(deliveryId: string, revision: number, now: number): Promise<number> {
    const next = await this.kv.update(deliveryId, { state: 'claimed', by: this.instanceId, at: now }, revision);
    if (next === null) throw new Error(`ledger claim on ${deliveryId} was taken by another notifier`);
    return next;
  }

  async settle(deliveryId: string, state: Exclude<LedgerState, 'claimed'>, now: number, extra: { via?: string; reason?: string } = {}): Promise<void> {
    await this.kv.put(deliveryId, { state, by: this.instanceId, at: now, ...extra });
  }

  /** Give back a claim nothing was sent under (a clean stop), so the next notifier sends at once. */
  async release(deliveryId: string, revision: number): Promise<void> {
    await this.kv.delete(deliveryId, revision);
  }

  async read(deliveryId: string): Promise<LedgerRecord | null> {
    return (await this.kv.get(deliveryId))?.value ?? null;
  }
}
