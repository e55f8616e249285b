// Open alerts: critical alerts waiting for an acknowledgement (escalation) and firing alerts with
// reminders, kept in a JetStream KV bucket (NOTIFIER_STATE) so the deadlines survive a restart and
// every notifier sees them. Each notifier watches the bucket and keeps one timer per open alert;
// when a deadline passes, the notifiers race with a compare-and-set update and the winner sends.
// The escalation's own delivery ids make a second sender (after a crash) a ledger duplicate.
//
// An escalation is leased before it is sent (its dueAt moved claimStaleMs ahead) and marked done
// after: a notifier that dies mid-escalation leaves a lease that expires, and another finishes it.

import { EventEmitter } from 'node:events';
import type { Alert } from '../alerts/alert.js';
import type { Clock, TimerHandle } from './clock.js';
import type { KvBucket, KvEntry } from './kv.js';
import type { Route } from './routing.js';

export interface ReminderState {
  receiver: string;
  everyMs: number;
  nextAt: number;
  count: number;
}

export interface OpenAlertState {
  alert: Alert;
  openedAt: number;
  escalation: { dueAt: number; receivers: string[]; done: boolean } | null;
  reminders: ReminderState[];
  ackedBy: string | null;
  ackedAt: number | null;
}

export interface OpenAlertActions {
  escalate(alert: Alert, receivers: string[], dueAt: number): Promise<void>;
  remind(alert: Alert, receiver: string, count: number, dueAt: number): void;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface Tracked {
  entry: KvEntry<OpenAlertState>;
  timer: TimerHandle | null;
}

/** Attempts at one compare-and-set before giving up on a hot key. */
const CAS_ATTEMPTS_MAX = 10;

export class OpenAlerts extends EventEmitter {
  private readonly tracked = new Map<string, Tracked>();
  private watcher: { ready: Promise<void>; stop: () => Promise<void> } | null = null;
  private stopped = false;

  constructor(
    private readonly kv: KvBucket<OpenAlertState>,
    private readonly clock: Clock,
    private readonly openAlertsMax: number,
    private readonly claimStaleMs: number,
    private readonly actions: OpenAlertActions,
    private readonly onCount: (n: number) => void = () => undefined,
  ) {
    super();
  }

  /** Load every open alert and follow changes made by any notifier. */
  async start(): Promise<void> {
    this.watcher = await this.kv.watch((key, entry) => this.apply(key, entry));
    await this.watcher.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tracked.values()) t.timer?.cancel();
    await this.watcher?.stop();
  }

  get size(): number {
    return this.tracked.size;
  }

  state(alertId: string): OpenAlertState | null {
    return this.tracked.get(alertId)?.entry.value ?? null;
  }

  /** A firing notice: open its state when it needs escalation or reminders (a redelivery finds it open). */
  async onFiring(alert: Alert, route: Route, reminderEveryMs: ReadonlyMap<string, number>): Promise<void> {
    const now = this.clock.now();
    const escalation = route.escalation ? { dueAt: now + route.escalation.afterMs, receivers: route.escalation.receivers, done: false } : null;
    const reminders: ReminderState[] = [];
    for (const receiver of route.receivers) {
      const everyMs = reminderEveryMs.get(receiver) ?? 0;
      if (everyMs > 0) reminders.push({ receiver, everyMs, nextAt: now + everyMs, count: 0 });
    }
    if (escalation === null && reminders.length === 0) return;
    if (this.tracked.size >= this.openAlertsMax && !this.tracked.has(alert.id)) {
      this.actions.log.error({ alertId: alert.id, openAlertsMax: this.openAlertsMax }, 'open alerts at openAlertsMax: no escalation or reminder for this alert');
      return;
    }
    const state: OpenAlertState = { alert, openedAt: now, escalation, reminders, ackedBy: null, ackedAt: null };
    const revision = await this.kv.create(alert.id, state);
    if (revision !== null) this.apply(alert.id, { key: alert.id, value: state, revision });
  }

  /** The recovery notice closes the alert: no escalation, no reminders. */
  async onResolved(alert: Alert): Promise<void> {
    if ((await this.kv.get(alert.id)) === null) return;
    await this.kv.delete(alert.id);
    this.apply(alert.id, null);
  }

  /** Record an acknowledgement; false when no such open alert. */
  async acknowledge(alertId: string, by: string): Promise<OpenAlertState | null> {
    for (let i = 0; i < CAS_ATTEMPTS_MAX; i++) {
      const entry = await this.kv.get(alertId);
      if (entry === null) return null;
      if (entry.value.ackedBy !== null) return entry.value;
      const value: OpenAlertState = { ...entry.value, ackedBy: by, ackedAt: this.clock.now() };
      const revision = await this.kv.update(alertId, value, entry.revision);
      if (revision !== null) {
        this.apply(alertId, { key: alertId, value, revision });
        return value;
      }
    }
    throw new Error(`acknowledgement of ${alertId} kept conflicting`);
  }

  private apply(alertId: string, entry: KvEntry<OpenAlertState> | null): void {
    const current = this.tracked.get(alertId);
    if (entry !== null && current && current.entry.revision >= entry.revision) return;
    current?.timer?.cancel();
    if (entry === null) {
      this.tracked.delete(alertId);
    } else if (!current && this.tracked.size >= this.openAlertsMax) {
      // The bound: the notifier that opened it (or any with room) keeps its deadline.
      this.actions.log.error({ alertId, openAlertsMax: this.openAlertsMax }, 'open alerts at openAlertsMax: not tracking this one here');
      return;
    } else {
      const t: Tracked = { entry, timer: null };
      this.tracked.set(alertId, t);
      const due = nextDue(entry.value);
      if (due !== null && !this.stopped) t.timer = this.clock.after(due - this.clock.now(), () => void this.fire(alertId));
    }
    this.onCount(this.tracked.size);
    this.emit('change', alertId, entry?.value ?? null);
  }

  private async fire(alertId: string): Promise<void> {
    try {
      await this.fireOnce(alertId);
    } catch (err) {
      this.actions.log.error({ alertId, err: (err as Error).message }, 'open alert deadline failed; retrying after claimStaleMs');
      const t = this.tracked.get(alertId);
      if (t && !this.stopped) t.timer = this.clock.after(this.claimStaleMs, () => void this.fire(alertId));
    }
  }

  private async fireOnce(alertId: string): Promise<void> {
    const entry = await this.kv.get(alertId);
    if (entry === null || this.stopped) return this.apply(alertId, null);
    const now = this.clock.now();
    const state = entry.value;
    const value: OpenAlertState = { ...state, reminders: state.reminders.map((r) => ({ ...r })) };
    const dueReminders = state.ackedBy === null ? value.reminders.filter((r) => r.nextAt <= now) : [];
    for (const r of dueReminders) {
      r.count++;
      r.nextAt = now + r.everyMs;
    }
    const escalating = state.escalation !== null && !state.escalation.done && state.ackedBy === null && state.escalation.dueAt <= now;
    // A lease: if this notifier dies while sending, another takes over when it expires.
    if (escalating) value.escalation = { ...state.escalation!, dueAt: now + this.claimStaleMs };
    if (!escalating && dueReminders.length === 0) return this.apply(alertId, entry);
    const revision = await this.kv.update(alertId, value, entry.revision);
    if (revision === null) return; // another notifier won; its write reaches us through the watch
    this.apply(alertId, { key: alertId, value, revision });
    for (const r of dueReminders) this.actions.remind(state.alert, r.receiver, r.count, now);
    if (!escalating) return;
    await this.actions.escalate(state.alert, state.escalation!.receivers, state.escalation!.dueAt);
    for (let i = 0; i < CAS_ATTEMPTS_MAX; i++) {
      const latest = await this.kv.get(alertId);
      if (latest === null || latest.value.escalation === null) return;
      const done: OpenAlertState = { ...latest.value, escalation: { ...latest.value.escalation, done: true } };
      const r = await this.kv.update(alertId, done, latest.revision);
      if (r !== null) return this.apply(alertId, { key: alertId, value: done, revision: r });
    }
  }
}

/** The next deadline of an open alert, or null when nothing is left to do. */
export function nextDue(state: OpenAlertState): number | null {
  if (state.ackedBy !== null) return null;
  let due = Infinity;
  if (state.escalation && !state.escalation.done) due = state.escalation.dueAt;
  for (const r of state.reminders) due = Math.min(due, r.nextAt);
  return due === Infinity ? null : due;
}
