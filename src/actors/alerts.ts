// Alert triggers of the SKU actor: edge-triggered with hysteresis, one `firing` notice when an
// episode opens and one `resolved` notice when it ends. Pure: `alertEvents(state, now, cause)`
// reads the settled state and returns AlertRaised / AlertResolved events, which the shard applies
// and writes to the WAL (and the outbox) in the same transaction as the change that caused them.
//
// An episode is keyed by type and location; its number only grows, so an alert id
// (`<sku>/<type>/<location or *>/<n>`) names one episode forever, even across restarts: the
// episodes travel in the events and the snapshots.
//
// Cost on the hot path: one pass over the SKU's locations for SKUs with no thresholds and no
// open episode (the zero-stock check), which is what most reserves touch.

import type { Alert, AlertSeverity, AlertType } from '../alerts/alert.js';
import { availableAt, levelsOf } from './levels.js';
import type { SkuEvent, Thresholds } from './types.js';

/** What the alert evaluator keeps per SKU: per episode key, its number and the open notice. */
export interface AlertEpisode {
  no: number;
  /** The `firing` notice while the episode is open; null once resolved. */
  open: Alert | null;
}

/** The part of SKU state the evaluator reads (kept structural so sku.ts and this file stay apart). */
export interface AlertSubject {
  sku: string;
  locations: { location: string; onHand: number; reserved: number; safetyStock: number }[];
  pending: unknown[] | null;
  thresholds: Thresholds | null;
  flag: { reason: string; flaggedBy: string; at: number } | null;
  category: string | null;
  tags: string[] | null;
  episodes: Map<string, AlertEpisode> | null;
}

/** What happened in the turn besides the state itself. */
export interface AlertCause {
  /** Locations where a warehouse event left on hand below reserved (before bumps settled it). */
  shortfalls: string[] | null;
  /** A reservation of this SKU shipped: an open fulfilment-failure episode ends. */
  committed: boolean;
  /** A demand signal or fulfilment failure reported by a command. */
  signal: AlertSignal | null;
  /**
   * The highest available level within thresholds.dropWindowMs, from the shard's stock series
   * (memory: after a restart the window fills again); null when unknown or not asked for.
   */
  recentPeakAvailable?: number | null;
}

export type AlertSignal =
  | { kind: 'demand'; signal: 'high_demand' | 'lead_time_exhaustion'; on: boolean; observed: number; threshold: number }
  | { kind: 'fulfilmentFailed'; location: string | null; orderId: string; reason: string };

export const NO_CAUSE: AlertCause = { shortfalls: null, committed: false, signal: null };

const SEVERITY: Record<AlertType, AlertSeverity> = {
  zero_stock: 'critical',
  manual_out_of_stock: 'critical',
  reserved_threatened: 'critical',
  below_minimum: 'warning',
  depletion: 'warning',
  lead_time_exhaustion: 'warning',
  fulfilment_failed: 'warning',
  high_demand: 'info',
};

const SUGGESTED_ACTION: Record<AlertType, string> = {
  zero_stock: 'Restock or transfer stock from another location; held orders wait for it.',
  manual_out_of_stock: 'Check the shelf with the warehouse team, correct the count, then clear the flag.',
  reserved_threatened: 'Reserved units were sold elsewhere: restock, or contact the customers whose holds went back to waiting.',
  below_minimum: 'Reorder from the supplier or transfer stock to this location.',
  depletion: 'Stock is running down fast: review the reorder quantity and timing.',
  lead_time_exhaustion: 'Stock runs out before a new order could arrive: place a purchase order now.',
  fulfilment_failed: 'Investigate the failed fulfilment and re-route or cancel the order.',
  high_demand: 'Demand is high: consider raising stock levels and reviewing pricing or allocation.',
};

/** Default units above a minimum (or above zero) before an episode ends: no flapping at the edge. */
export const HYSTERESIS_UNITS_DEFAULT = 1;
/** Default percentage points above lowPercent before a depletion episode ends. */
export const HYSTERESIS_PERCENT_DEFAULT = 5;

function episodeKey(type: AlertType, location: string | null): string {
  return `${type}|${location ?? '*'}`;
}

function totals(subject: AlertSubject, location: string | null) {
  return levelsOf(subject.locations, location);
}

/** Minutes since local midnight in a time zone (Intl: no dependency, DST handled by the platform). */
function minutesOfDay(now: number, timeZone: string | undefined): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timeZone ?? 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')!.value);
  const minute = Number(parts.find((p) => p.type === 'minute')!.value);
  return hour * 60 + minute;
}

function parseTime(text: string): number {
  return Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
}

/** The SKU-wide minimum in force at `now`: minAvailable, raised by a time-of-day window (later entries win). */
export function minimumAt(thresholds: Thresholds, now: number): number | null {
  let minimum = thresholds.minAvailable ?? null;
  const windows = thresholds.minAvailableByTimeOfDay;
  if (windows && windows.length > 0) {
    const minute = minutesOfDay(now, thresholds.timeZone);
    for (const w of windows) {
      const from = parseTime(w.from);
      const to = parseTime(w.to);
      // A window may wrap midnight (22:00–06:00).
      const inside = from <= to ? minute >= from && minute < to : minute >= from || minute < to;
      if (inside) minimum = w.minAvailable;
    }
  }
  return minimum;
}

/** Region of a location, as the thresholds name it. */
function regionOf(thresholds: Thresholds | null, location: string | null): string | null {
  if (!thresholds?.regionByLocation || location === null) return null;
  return thresholds.regionByLocation[location] ?? null;
}

interface Condition {
  type: AlertType;
  location: string | null;
  threshold: { name: string; value: number; observed: number };
  summary: string;
}

/**
 * The conditions that hold now. `open(key)` tells whether an episode is already open, so a
 * condition can use its (looser) staying-open test: that is the hysteresis.
 */
function conditions(subject: AlertSubject, now: number, cause: AlertCause, isOpen: (key: string) => boolean): Condition[] {
  const found: Condition[] = [];
  const t = subject.thresholds;
  const hysteresisUnits = t?.hysteresisUnits ?? HYSTERESIS_UNITS_DEFAULT;
  if (subject.locations.length === 0) return found;
  const all = totals(subject, null);
  const sku = subject.sku;

  // Zero: opens at 0 available, ends at hysteresisUnits available.
  const zeroOpen = isOpen(episodeKey('zero_stock', null));
  if (zeroOpen ? all.available < hysteresisUnits : all.available === 0) {
    found.push({ type: 'zero_stock', location: null, threshold: { name: 'available', value: 0, observed: all.available }, summary: `Out of stock: ${sku} – 0 units available.` });
  }

  if (subject.flag) {
    found.push({
      type: 'manual_out_of_stock',
      location: null,
      threshold: { name: 'outOfStockFlag', value: 1, observed: 1 },
      summary: `Flagged out of stock: ${sku} by ${subject.flag.flaggedBy} – ${subject.flag.reason}`,
    });
  }

  if (t) {
    const minimum = minimumAt(t, now);
    if (minimum !== null && minimum > 0) {
      const open = isOpen(episodeKey('below_minimum', null));
      if (open ? all.available < minimum + hysteresisUnits : all.available < minimum) {
        found.push({
          type: 'below_minimum',
          location: null,
          threshold: { name: 'minAvailable', value: minimum, observed: all.available },
          summary: `Low stock: ${sku} – just ${all.available} units left (minimum ${minimum}).`,
        });
      }
    }
    if (t.minAvailableByLocation || t.minAvailableByRegion) {
      for (const loc of subject.locations) {
        const region = regionOf(t, loc.location);
        const min = t.minAvailableByLocation?.[loc.location] ?? (region !== null ? t.minAvailableByRegion?.[region] : undefined);
        if (min === undefined || min <= 0) continue;
        const free = availableAt(loc);
        const open = isOpen(episodeKey('below_minimum', loc.location));
        if (open ? free < min + hysteresisUnits : free < min) {
          found.push({
            type: 'below_minimum',
            location: loc.location,
            threshold: { name: 'minAvailableByLocation', value: min, observed: free },
            summary: `Low stock: ${sku} at ${loc.location} – just ${free} units left (minimum ${min}).`,
          });
        }
      }
    }
    if (t.lowPercent !== undefined && t.referenceLevel !== undefined) {
      const percent = (all.available / t.referenceLevel) * 100;
      const open = isOpen(episodeKey('depletion', null));
      const hysteresisPercent = t.hysteresisPercent ?? HYSTERESIS_PERCENT_DEFAULT;
      if (open ? percent < t.lowPercent + hysteresisPercent : percent < t.lowPercent) {
        found.push({
          type: 'depletion',
          location: null,
          threshold: { name: 'lowPercent', value: t.lowPercent, observed: Math.round(percent * 10) / 10 },
          summary: `Depleting: ${sku} at ${Math.round(percent)}% of its reference level of ${t.referenceLevel}.`,
        });
      }
    }
  }

  // Depletion by speed: down dropPercent % from the highest level within the window.
  const peak = cause.recentPeakAvailable ?? null;
  if (t?.dropPercent !== undefined && peak !== null && peak > 0) {
    const downPercent = ((peak - all.available) / peak) * 100;
    const key = episodeKey('depletion', null);
    const alreadyBelow = found.some((c) => c.type === 'depletion');
    const hysteresisPercent = t.hysteresisPercent ?? HYSTERESIS_PERCENT_DEFAULT;
    if (!alreadyBelow && (isOpen(key) ? downPercent > t.dropPercent - hysteresisPercent : downPercent >= t.dropPercent)) {
      found.push({
        type: 'depletion',
        location: null,
        threshold: { name: 'dropPercent', value: t.dropPercent, observed: Math.round(downPercent * 10) / 10 },
        summary: `Depleting fast: ${sku} down ${Math.round(downPercent)}% to ${all.available} units within ${Math.round((t.dropWindowMs ?? 0) / 60_000)} minutes.`,
      });
    }
  }

  // Reserved stock taken by external sales: opens on the warehouse event that left on hand below
  // reserved; stays open while the bumped reservations still wait for units.
  for (const location of cause.shortfalls ?? []) {
    found.push({
      type: 'reserved_threatened',
      location,
      threshold: { name: 'reservedCovered', value: 0, observed: totals(subject, location).onHand },
      summary: `Reserved stock sold elsewhere: ${sku} at ${location} – holds went back to waiting.`,
    });
  }
  for (const [key, episode] of subject.episodes ?? []) {
    if (!episode.open || episode.open.type !== 'reserved_threatened') continue;
    if ((subject.pending?.length ?? 0) === 0) continue;
    if (found.some((c) => episodeKey(c.type, c.location) === key)) continue;
    found.push({ type: 'reserved_threatened', location: episode.open.location, threshold: episode.open.threshold, summary: episode.open.summary });
  }

  // Signals reported by commands stay open until their own end: the demand windows say `on:
  // false`; a fulfilment failure ends when a reservation of the SKU ships.
  for (const [key, episode] of subject.episodes ?? []) {
    const open = episode.open;
    if (!open) continue;
    if (open.type === 'fulfilment_failed' && cause.committed) continue;
    if (open.type === 'fulfilment_failed' || open.type === 'high_demand' || open.type === 'lead_time_exhaustion') {
      const signal = cause.signal;
      if (signal?.kind === 'demand' && signal.signal === open.type && !signal.on) continue;
      if (!found.some((c) => episodeKey(c.type, c.location) === key)) {
        found.push({ type: open.type, location: open.location, threshold: open.threshold, summary: open.summary });
      }
    }
  }
  const signal = cause.signal;
  if (signal?.kind === 'demand' && signal.on && !isOpen(episodeKey(signal.signal, null))) {
    found.push({
      type: signal.signal,
      location: null,
      threshold: { name: signal.signal === 'high_demand' ? 'salesPerWeek' : 'leadTimeDays', value: signal.threshold, observed: signal.observed },
      summary:
        signal.signal === 'high_demand'
          ? `High demand: ${sku} – ${signal.observed} sales in the last week.`
          : `Lead time exhausted: ${sku} runs out in ${signal.observed} days, supplier lead time ${signal.threshold} days.`,
    });
  }
  if (signal?.kind === 'fulfilmentFailed' && !isOpen(episodeKey('fulfilment_failed', signal.location))) {
    found.push({
      type: 'fulfilment_failed',
      location: signal.location,
      threshold: { name: 'fulfilmentFailures', value: 1, observed: 1 },
      summary: `Fulfilment failed: ${sku} for order ${signal.orderId} – ${signal.reason}`,
    });
  }
  return found;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The events that bring the SKU's episodes in line with its state: raises first, then resolves. */
export function alertEvents(subject: AlertSubject, now: number, cause: AlertCause): SkuEvent[] {
  const episodes = subject.episodes;
  // The common case, kept cheap: nothing configured, nothing open, nothing reported, stock left.
  if (!subject.thresholds && !subject.flag && !cause.shortfalls && !cause.signal && (!episodes || !anyOpen(episodes)) && hasAvailable(subject)) {
    return NO_EVENTS;
  }
  const isOpen = (key: string) => episodes?.get(key)?.open != null;
  const holding = conditions(subject, now, cause, isOpen);
  let events: SkuEvent[] | null = null;
  const live = new Set<string>();
  for (const c of holding) {
    const key = episodeKey(c.type, c.location);
    live.add(key);
    if (isOpen(key)) continue;
    const no = (episodes?.get(key)?.no ?? 0) + 1;
    const id = `${subject.sku}/${c.type}/${c.location ?? '*'}/${no}`;
    const alert: Alert = {
      id,
      noticeId: id,
      status: 'firing',
      type: c.type,
      severity: SEVERITY[c.type],
      sku: subject.sku,
      location: c.location,
      region: regionOf(subject.thresholds, c.location),
      category: subject.category,
      tags: subject.tags ?? [],
      levels: totals(subject, c.location),
      threshold: c.threshold,
      raisedAt: iso(now),
      resolvedAt: null,
      suggestedAction: SUGGESTED_ACTION[c.type],
      summary: c.summary,
    };
    (events ??= []).push({ type: 'AlertRaised', sku: subject.sku, at: now, key, no, alert });
  }
  if (episodes) {
    for (const [key, episode] of episodes) {
      if (!episode.open || live.has(key)) continue;
      const firing = episode.open;
      const alert: Alert = {
        ...firing,
        noticeId: `${firing.id}/resolved`,
        status: 'resolved',
        levels: totals(subject, firing.location),
        resolvedAt: iso(now),
        summary: `Recovered: ${firing.summary}`,
      };
      (events ??= []).push({ type: 'AlertResolved', sku: subject.sku, at: now, key, alert });
    }
  }
  return events ?? NO_EVENTS;
}

const NO_EVENTS: SkuEvent[] = [];

function anyOpen(episodes: Map<string, AlertEpisode>): boolean {
  for (const episode of episodes.values()) if (episode.open) return true;
  return false;
}

function hasAvailable(subject: AlertSubject): boolean {
  for (const loc of subject.locations) if (availableAt(loc) > 0) return true;
  // No location yet: nothing is stocked, so there is nothing to run out of.
  return subject.locations.length === 0;
}

/** Apply an alert event to the episodes (live and in replay). */
export function applyAlertEvent(subject: AlertSubject, event: SkuEvent & { type: 'AlertRaised' | 'AlertResolved' }): void {
  const episodes = (subject.episodes ??= new Map());
  if (event.type === 'AlertRaised') episodes.set(event.key, { no: event.no, open: event.alert });
  else {
    const episode = episodes.get(event.key);
    if (episode) episode.open = null;
  }
}

/** Episodes that are open now (for the SKU view and the dashboard). */
export function openAlerts(subject: AlertSubject): Alert[] {
  const open: Alert[] = [];
  for (const episode of subject.episodes?.values() ?? []) if (episode.open) open.push(episode.open);
  return open;
}
