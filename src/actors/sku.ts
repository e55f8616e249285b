// The SKU actor. These functions, and nothing else, touch a SKU's state:
//
//   decide(state, command, now)  -> events or an error        (pure: reads state, never writes)
//   evolve(state, event)         -> the reply value of that event (the only writer, live turns)
//   replayEvent(state, event)    -> the same change, from the WAL at recovery
//   react(state, now)            -> one follow-up event or null (bumps after a stock shortfall,
//                                   waiting requests served when units free up)
//
// evolve mutates in place rather than copying: a hot SKU may hold a million open reservations and
// copying them per command would cost more than the whole durable reserve path.
//
// Invariant checks are written `if (broken) assert.fail(message)` rather than
// `assert.ok(ok, message)`: a template-literal message is built on every call otherwise, on
// every command and every replayed event.

import assert from 'node:assert/strict';
import type { DomainLimits } from '../config.js';
import { applyAlertEvent, openAlerts, type AlertEpisode } from './alerts.js';
import { availableAt as available } from './levels.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { dropOldest, evictionBatch } from '../insertion-order.js';
import type { CheckpointPages } from './checkpoint-pages.js';
import { IdempotencyLog } from './idempotency-log.js';
import { IdempotencyTable } from './idempotency-table.js';
import type { CustomerCounts } from './customer-counts.js';
import type { SkuSeries } from './stock-series.js';
import { NO_ALLOCATIONS, singleAllocation } from './shared-allocations.js';
import { sharedChannel } from './shared-names.js';
import type { HoldsByNumber } from './holds-by-number.js';
import { addOpen, assertOpenFiled, customerAtLimit, customersOf, openCount, openReservation, openReservations, removeOpen } from './open-holds.js';
import { parseReservationId, reservationIdOf } from './reservation-id.js';
import type {
  Allocation,
  Command,
  CommitCommand,
  ReleaseCommand,
  ReserveCommand,
  ExpireCommand,
  HistoryEntry,
  Reply,
  ReplyValue,
  Reservation,
  ReservationActivated,
  ReservationBumped,
  ReservationCommitted,
  ReservationExpired,
  ReservationReleased,
  ReservationListView,
  ReservationView,
  EvaluateAlertsCommand,
  SkuEvent,
  SkuView,
  StockAppliedView,
  Thresholds,
} from './types.js';

export interface LocationStock {
  location: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  /** Newest source sequence applied by an absolute count; -1 before any. */
  sourceSeq: number;
}

/**
 * What an idempotency key remembers: which call used it, on which reservation. The first answer
 * itself is read back from the WAL on a retry (rare), so ended reservations are not kept alive in
 * memory for idempotencyTtlMs. Measured: keeping them held a 1.1 GiB heap through a replay with
 * only 4,000 reservations open, and recovery ran at 481k events/s.
 */
export interface IdempotencyEntry {
  kind: IdempotentKind;
  reservationId: string;
  at: number;
}

/**
 * What `idem` keeps for a key: the open reservation its reserve placed, which already says all an
 * entry would (kind reserve, its id, its creation time), or an entry. A hold thus costs no entry
 * object (and no boxed time) while it is open, which in a flash sale is most of its life; when it
 * ends, `end` swaps in an entry so the ended reservation is not kept alive.
 */
export type IdempotencyValue = IdempotencyEntry | Reservation;

export function idempotencyKindOf(value: IdempotencyValue): IdempotentKind {
  return 'kind' in value ? value.kind : 'reserve';
}

export function idempotencyReservationIdOf(value: IdempotencyValue): string {
  return 'kind' in value ? value.reservationId : value.id;
}

export function idempotencyAtOf(value: IdempotencyValue): number {
  return 'kind' in value ? value.at : value.createdAt;
}

/** A retry whose first answer the shard reads from the WAL once the turn is flushed. */
export interface IdempotentReplay {
  key: string;
  reservationId: string;
}

export type IdempotentKind = 'reserve' | 'release' | 'commit';

/** An idempotency key as a snapshot stores it, and as recovery keeps it until the SKU is used. */
export type IdempotencyRecord = [key: string, kind: IdempotentKind, reservationId: string, at: number];


export interface SkuState {
  sku: string;
  /** In allocation order. */
  locations: LocationStock[];
  locationOrder: string[] | null;
  /** The only open (PENDING or ACTIVE) reservation, when there is just one (open-holds.ts). */
  sole: Reservation | null;
  /** Open reservations by their number in this SKU, when there are two or more; null otherwise (open-holds.ts). */
  open: HoldsByNumber | null;
  /** PENDING reservations, priority descending then arrival ascending. */
  pending: Reservation[] | null;
  /** Open reservations per customer (anti-hoarding): made from `open` once the limit can bite, then kept with it (open-holds.ts). */
  customers: CustomerCounts | null;
  /** Idempotency keys of mutating calls, oldest first. */
  idem: IdempotencyTable<IdempotencyValue> | null;
  /**
   * Keys recovered from a snapshot and the WAL, oldest first, not yet in `idem`: a Map insert per
   * replayed event (a fresh string hash, an entry object, the table's growth) was 13–15 % of a
   * recovery's profile, and kept ~31 % more heap (docs/benchmarks.md), for SKUs that may never be
   * asked again. `indexIdempotency` moves them into `idem` before the SKU's first live command;
   * at most one of the two is set.
   */
  idemLog: IdempotencyLog | null;
  /** Stock event ids already applied, oldest first. */
  eventIds: Set<string> | null;
  thresholds: Thresholds | null;
  flag: { reason: string; flaggedBy: string; at: number } | null;
  category: string | null;
  tags: string[] | null;
  nextReservationNo: number;
  /** Sum of ACTIVE reservation quantities; equals the sum of locations' reserved. */
  activeQuantity: number;
  /** Alert episodes by key (see alerts.ts); null until the SKU first alerts. */
  episodes: Map<string, AlertEpisode> | null;
  /**
   * Idempotency keys this SKU has remembered in all, forgotten ones included: the keys held are
   * the last `idem.size` (or `idemLog.length`) of them, which is how a paged checkpoint finds the
   * pages of keys that changed (checkpoint-pages.ts).
   */
  keysRemembered: number;
  /** Set once the SKU's snapshot is kept in pages: what changed since its last checkpoint. */
  pages: CheckpointPages | null;
  /** Changed since the shard's last checkpoint, and in its list of SKUs to checkpoint (shard.ts). */
  dirty: boolean;
  /** Its recent stock over time, when the shard's series keeps it (stock-series.ts). Memory only. */
  series: SkuSeries | null;
}

export type Limits = DomainLimits;

export type Decision =
  | { ok: true; events: SkuEvent[] }
  | { ok: true; cached: ReplyValue }
  | { ok: true; replay: IdempotentReplay }
  | { ok: false; error: ErrorBody };

export function emptySku(sku: string): SkuState {
  return {
    sku,
    locations: [],
    locationOrder: null,
    sole: null,
    open: null,
    pending: null,
    customers: null,
    idem: null,
    idemLog: null,
    eventIds: null,
    thresholds: null,
    flag: null,
    category: null,
    tags: null,
    nextReservationNo: 1,
    activeQuantity: 0,
    episodes: null,
    keysRemembered: 0,
    pages: null,
    dirty: false,
    series: null,
  };
}

/** The SKU a command is addressed to: the routing key for shard placement. */
export function skuOfCommand(command: Command | ExpireCommand | EvaluateAlertsCommand): string | null {
  if ('sku' in command) return typeof command.sku === 'string' ? command.sku : null;
  const id: unknown = (command as { reservationId?: unknown }).reservationId;
  return typeof id === 'string' ? (parseReservationId(id)?.sku ?? null) : null;
}

/** Units free to reserve across every location. */
export function totalAvailable(state: SkuState): number {
  let total = 0;
  for (const loc of state.locations) total += available(loc);
  return total;
}

function findLocation(state: SkuState, location: string): LocationStock | undefined {
  const locations = state.locations;
  for (let i = 0; i < locations.length; i++) if (locations[i].location === location) return locations[i];
  return undefined;
}

/** Greedy allocation in the SKU's (or the caller's) location order. */
function allocate(state: SkuState, wanted: number, only: string[] | null): { allocations: readonly Allocation[]; total: number } {
  // One location is the common case: its list is shared (shared-allocations.ts); a second
  // location makes a list of the reservation's own.
  let firstLocation: string | null = null;
  let firstTake = 0;
  let several: Allocation[] | null = null;
  let total = 0;
  const candidates = only ? only.map((name) => findLocation(state, name)!) : state.locations;
  for (let i = 0; i < candidates.length && total < wanted; i++) {
    const loc = candidates[i];
    const free = available(loc);
    if (free <= 0) continue;
    const take = Math.min(free, wanted - total);
    if (firstLocation === null) {
      firstLocation = loc.location;
      firstTake = take;
    } else {
      (several ??= [{ location: firstLocation, quantity: firstTake }]).push({ location: loc.location, quantity: take });
    }
    total += take;
  }
  const allocations = several ?? (firstLocation === null ? NO_ALLOCATIONS : singleAllocation(firstLocation, firstTake));
  return { allocations, total };
}

function availableIn(state: SkuState, only: string[] | null): number {
  let total = 0;
  if (only) for (const name of only) total += available(findLocation(state, name)!);
  else for (const loc of state.locations) total += available(loc);
  return total;
}

/**
 * A key used before: a replay to answer from the WAL when it was the same kind of call on the
 * same reservation, IDEMPOTENCY_KEY_REUSED when not. null when the key is new. A reserve's other
 * fields are compared with the first answer once it is read (replayedAnswer).
 */
function idempotencyHit(state: SkuState | undefined, key: string | undefined, command: ReserveCommand | ReleaseCommand | CommitCommand): Decision | null {
  if (!key || !state?.idem) return null;
  const value = state.idem.get(key);
  if (!value) return null;
  const reservationId = idempotencyReservationIdOf(value);
  const sameCall = idempotencyKindOf(value) === command.type && (command.type === 'reserve' || reservationId === command.reservationId);
  if (!sameCall) return { ok: false, error: errorBody('IDEMPOTENCY_KEY_REUSED', undefined, { idempotencyKey: key }) };
  return { ok: true, replay: { key, reservationId } };
}

/** The event an idempotent call leaves, and back: one table, read both ways. */
const FIRST_EVENT_OF: Record<IdempotentKind, SkuEvent['type']> = {
  reserve: 'ReservationPlaced',
  release: 'ReservationReleased',
  commit: 'ReservationCommitted',
};
const KIND_OF_EVENT = Object.fromEntries(Object.entries(FIRST_EVENT_OF).map(([kind, event]) => [event, kind])) as Partial<
  Record<SkuEvent['type'], IdempotentKind>
>;

/**
 * The answer to a retried call, from the reservation's history in the WAL: the first answer
 * (marked replayed) when it is the same request, IDEMPOTENCY_KEY_REUSED when the key was used for
 * another one, FORBIDDEN when another channel asks.
 */
export function replayedAnswer(command: ReserveCommand | ReleaseCommand | CommitCommand, replay: IdempotentReplay, history: HistoryEntry[]): Reply {
  const line = history.find((h) => h.event === FIRST_EVENT_OF[command.type]);
  // Only when walRetentionMs pruned the record, which config.ts forbids within idempotencyTtlMs.
  if (!line) return { ok: false, error: errorBody('INTERNAL', 'the first answer is no longer in the write-ahead log', { idempotencyKey: replay.key }) };
  const first = line.reservation;
  if (command.type === 'reserve') {
    const same =
      first.sku === command.sku &&
      first.orderId === command.orderId &&
      first.customerId === command.customerId &&
      first.channel === command.channel &&
      first.requested === command.quantity;
    if (!same) return { ok: false, error: errorBody('IDEMPOTENCY_KEY_REUSED', undefined, { idempotencyKey: replay.key }) };
  } else if (hiddenFrom(command.asChannel, first.channel)) {
    // A replay shows the reservation: only to its own channel.
    return otherChannel(first.reservationId);
  }
  return { ok: true, value: first, replayed: true };
}

function fail(code: Parameters<typeof errorBody>[0], details?: unknown): Decision {
  return { ok: false, error: errorBody(code, undefined, details) };
}

/** The channel rule: a caller acting for a channel (asChannel) sees only that channel's reservations. */
export function hiddenFrom(asChannel: string | undefined, reservationChannel: string): boolean {
  return asChannel !== undefined && reservationChannel !== asChannel;
}

export function otherChannel(reservationId: string): Decision & { ok: false } {
  return { ok: false, error: errorBody('FORBIDDEN', 'the reservation belongs to another channel', { reservationId }) };
}

/** Why a reservation id does not name an open reservation. */
function missingReservation(state: SkuState | undefined, reservationId: string): Decision {
  const parsed = parseReservationId(reservationId);
  if (state && parsed && parsed.no < state.nextReservationNo) {
    return fail('RESERVATION_NOT_ACTIVE', { reservationId, reason: 'the reservation has ended' });
  }
  return fail('RESERVATION_NOT_FOUND', { reservationId });
}

/**
 * Decide what a command does to a SKU. Shape validation happened at the boundary; this checks
 * the rules that need state. `now` is the shard clock in epoch milliseconds.
 */
export function decide(state: SkuState | undefined, command: Command | ExpireCommand | EvaluateAlertsCommand, now: number, limits: Limits): Decision {
  switch (command.type) {
    case 'reserve': {
      const hit = idempotencyHit(state, command.idempotencyKey, command);
      if (hit) return hit;
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      if (command.quantity > limits.quantityMax) return fail('INVALID_QUANTITY', { quantityMax: limits.quantityMax });
      if (state.flag) return fail('SKU_FLAGGED_OUT_OF_STOCK', { sku: state.sku, reason: state.flag.reason });
      const only = command.locations ?? null;
      if (only) {
        for (const name of only) if (!findLocation(state, name)) return fail('UNKNOWN_LOCATION', { location: name });
      }
      if (openCount(state) >= limits.reservationsPerSkuMax) {
        return fail('RESERVATIONS_PER_SKU_LIMIT', { reservationsPerSkuMax: limits.reservationsPerSkuMax });
      }
      if (customerAtLimit(state, command.customerId, limits.reservationsPerCustomerMax)) {
        return fail('CUSTOMER_RESERVATION_LIMIT', { customerId: command.customerId, reservationsPerCustomerMax: limits.reservationsPerCustomerMax });
      }
      const holdTtlMs = command.holdTtlMs ?? limits.holdTtlMsDefault;
      if (holdTtlMs > limits.holdTtlMsMax) return fail('VALIDATION_FAILED', { field: 'holdTtlMs', holdTtlMsMax: limits.holdTtlMsMax });
      const priority = command.priority ?? 0;
      // Waiting requests are served strictly in priority order: a newcomer takes units only when
      // it outranks every waiting request, otherwise it would starve the head of the queue.
      const head = state.pending?.[0];
      const mayTake = !head || priority > head.priority;
      const { allocations, total } = mayTake ? allocate(state, command.quantity, only) : { allocations: NO_ALLOCATIONS, total: 0 };
      const allowPartial = command.allowPartial ?? false;
      let granted: readonly Allocation[] | null = null;
      if (total === command.quantity || (allowPartial && total > 0)) granted = allocations;
      if (!granted && !command.queueIfShort) {
        return fail('INSUFFICIENT_STOCK', { sku: state.sku, requested: command.quantity, available: availableIn(state, only) });
      }
      if (!granted && (state.pending?.length ?? 0) >= limits.pendingPerSkuMax) {
        return fail('PENDING_QUEUE_FULL', { pendingPerSkuMax: limits.pendingPerSkuMax });
      }
      const no = state.nextReservationNo;
      const reservation: Reservation = {
        id: reservationIdOf(state.sku, no),
        sku: state.sku,
        orderId: command.orderId,
        customerId: command.customerId,
        channel: sharedChannel(command.channel),
        idempotencyKey: command.idempotencyKey,
        requested: command.quantity,
        quantity: granted ? total : 0,
        allocations: granted ?? NO_ALLOCATIONS,
        priority,
        arrival: no,
        allowPartial,
        locations: only,
        holdTtlMs,
        state: granted ? 'ACTIVE' : 'PENDING',
        createdAt: now,
        activatedAt: granted ? now : 0,
        expiresAt: now + (granted ? holdTtlMs : (command.queueTtlMs ?? limits.queueTtlMsDefault)),
        endedAt: 0,
        endReason: null,
        walSeq: 0,
        walIndex: 0,
      };
      return { ok: true, events: [{ type: 'ReservationPlaced', sku: state.sku, at: now, idem: command.idempotencyKey, reservation }] };
    }

    case 'release':
    case 'commit': {
      const hit = idempotencyHit(state, command.idempotencyKey, command);
      if (hit) return hit;
      const r = openReservation(state, command.reservationId);
      if (!state || !r) return missingReservation(state, command.reservationId);
      if (hiddenFrom(command.asChannel, r.channel)) return otherChannel(r.id);
      const base = { sku: state.sku, at: now, reservationId: r.id, idem: command.idempotencyKey };
      if (command.type === 'release') {
        return { ok: true, events: [{ type: 'ReservationReleased', ...base, reason: command.reason }] };
      }
      if (r.state !== 'ACTIVE') return fail('RESERVATION_NOT_ACTIVE', { reservationId: r.id, state: r.state });
      return { ok: true, events: [{ type: 'ReservationCommitted', ...base }] };
    }

    case 'expire': {
      const r = openReservation(state, command.reservationId);
      // A timer for a reservation that ended or was re-armed since is stale: nothing to do.
      if (!state || !r || r.expiresAt > now) return { ok: true, events: [] };
      return { ok: true, events: [{ type: 'ReservationExpired', sku: state.sku, at: now, reservationId: r.id }] };
    }

    case 'setStock':
    case 'adjustStock': {
      const loc = state ? findLocation(state, command.location) : undefined;
      if (state?.eventIds?.has(command.eventId)) {
        return { ok: true, cached: stockView(state, command.location, 'DUPLICATE') };
      }
      if (!loc && (state?.locations.length ?? 0) >= limits.locationsPerSkuMax) {
        return fail('LOCATIONS_PER_SKU_LIMIT', { locationsPerSkuMax: limits.locationsPerSkuMax });
      }
      const base = { sku: command.sku, at: now, location: command.location, eventId: command.eventId };
      if (command.type === 'setStock') {
        if (command.onHand > limits.quantityMax) return fail('INVALID_QUANTITY', { field: 'onHand', quantityMax: limits.quantityMax });
        if (loc && command.sourceSeq !== undefined && command.sourceSeq <= loc.sourceSeq) {
          return { ok: true, events: [{ type: 'StockEventSkipped', ...base, why: 'STALE' }] };
        }
        return {
          ok: true,
          events: [{ type: 'StockSet', ...base, onHand: command.onHand, safetyStock: command.safetyStock, sourceSeq: command.sourceSeq }],
        };
      }
      const onHand = (loc?.onHand ?? 0) + command.delta;
      if (onHand < 0) return fail('STOCK_WOULD_BE_NEGATIVE', { location: command.location, onHand: loc?.onHand ?? 0, delta: command.delta });
      if (onHand > limits.quantityMax) return fail('INVALID_QUANTITY', { field: 'delta', quantityMax: limits.quantityMax });
      return { ok: true, events: [{ type: 'StockAdjusted', ...base, delta: command.delta }] };
    }

    case 'defineSku':
      if ((command.locationOrder?.length ?? 0) > limits.locationsPerSkuMax) {
        return fail('LOCATIONS_PER_SKU_LIMIT', { locationsPerSkuMax: limits.locationsPerSkuMax });
      }
      return {
        ok: true,
        events: [{ type: 'SkuDefined', sku: command.sku, at: now, locationOrder: command.locationOrder, category: command.category, tags: command.tags }],
      };

    case 'setThresholds':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, events: [{ type: 'ThresholdsSet', sku: state.sku, at: now, thresholds: command.thresholds }] };

    case 'flagOutOfStock':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, events: [{ type: 'OutOfStockFlagged', sku: state.sku, at: now, reason: command.reason, flaggedBy: command.flaggedBy }] };

    case 'unflagOutOfStock':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, events: [{ type: 'OutOfStockUnflagged', sku: state.sku, at: now, unflaggedBy: command.unflaggedBy }] };

    case 'getSku':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, cached: skuView(state) };

    case 'getStockSeries':
      // Answered by the shard runtime, which keeps the series (stock-series.ts).
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, events: [] };

    case 'listReservations':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      return { ok: true, cached: reservationList(state, command.limit ?? RESERVATION_LIST_DEFAULT) };

    // Alert signals change no stock: the shard evaluates the SKU's alerts with the signal as cause.
    case 'demandSignal':
    case 'reportFulfilmentFailure':
      if (!state) return fail('SKU_NOT_FOUND', { sku: command.sku });
      if (command.type === 'reportFulfilmentFailure' && command.location !== undefined && !findLocation(state, command.location)) {
        return fail('UNKNOWN_LOCATION', { location: command.location });
      }
      return { ok: true, events: [] };

    case 'evaluateAlerts':
      return { ok: true, events: [] };

    case 'getReservation':
    case 'getReservationHistory': {
      // Open reservations answer from memory; ended ones from the history store (the runtime).
      const r = openReservation(state, command.reservationId);
      if (r && hiddenFrom(command.asChannel, r.channel)) return otherChannel(r.id);
      if (r && command.type === 'getReservation') return { ok: true, cached: reservationView(r) };
      return missingReservation(state, command.reservationId);
    }
  }
}

/** One follow-up event the state calls for, or null when it is settled. */
export function react(state: SkuState, now: number): SkuEvent | null {
  // Stock fell below what is reserved somewhere: the lowest-priority, latest reservation holding
  // units there goes back to waiting. Rare (a warehouse count came in low), so a scan is fine.
  for (const loc of state.locations) {
    if (loc.reserved <= loc.onHand) continue;
    let victim: Reservation | null = null;
    for (const r of openReservations(state)) {
      if (r.state !== 'ACTIVE' || !r.allocations.some((a) => a.location === loc.location)) continue;
      if (!victim || r.priority < victim.priority || (r.priority === victim.priority && r.arrival > victim.arrival)) victim = r;
    }
    if (!victim) assert.fail(`reserved exceeds on hand at ${state.sku}/${loc.location} with no reservation there`);
    return { type: 'ReservationBumped', sku: state.sku, at: now, reservationId: victim.id, expiresAt: now + QUEUE_TTL_AFTER_BUMP_MS };
  }
  const head = state.pending?.[0];
  if (!head) return null;
  if (head.expiresAt <= now) return { type: 'ReservationExpired', sku: state.sku, at: now, reservationId: head.id };
  if (state.flag) return null;
  const { allocations, total } = allocate(state, head.requested, head.locations);
  if (total === head.requested || (head.allowPartial && total > 0)) {
    return { type: 'ReservationActivated', sku: state.sku, at: now, reservationId: head.id, allocations, expiresAt: now + head.holdTtlMs };
  }
  return null;
}

/** A bumped reservation had been promised stock: it waits as long as a fresh hold would. */
const QUEUE_TTL_AFTER_BUMP_MS = 10 * 60_000;

function insertPending(state: SkuState, r: Reservation): void {
  const pending = (state.pending ??= []);
  let lo = 0;
  let hi = pending.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const other = pending[mid];
    if (other.priority > r.priority || (other.priority === r.priority && other.arrival < r.arrival)) lo = mid + 1;
    else hi = mid;
  }
  pending.splice(lo, 0, r);
}

function removePending(state: SkuState, r: Reservation): void {
  const pending = state.pending!;
  const index = pending.indexOf(r);
  if (index < 0) assert.fail(`pending reservation ${r.id} missing from its queue`);
  pending.splice(index, 1);
}

/** Take the reservation's allocations off the shelf (they are already on `r`). */
function hold(state: SkuState, r: Reservation): void {
  // Indexed, as every loop over allocations: lists come in two array shapes (the shared empty
  // one and lists of objects), and `for…of` over both left an iterator result per step here.
  const allocations = r.allocations;
  for (let i = 0; i < allocations.length; i++) {
    const a = allocations[i];
    const loc = findLocation(state, a.location);
    if (!loc) assert.fail(`allocation at unknown location ${a.location}`);
    assert.ok(a.quantity > 0, 'allocation quantity must be positive');
    if (a.quantity > available(loc)) assert.fail(`reserve beyond available at ${state.sku}/${a.location}`);
    loc.reserved += a.quantity;
  }
  state.activeQuantity += r.quantity;
}

function unhold(state: SkuState, r: Reservation, shipped: boolean): void {
  const allocations = r.allocations;
  for (let i = 0; i < allocations.length; i++) {
    const a = allocations[i];
    const loc = findLocation(state, a.location)!;
    loc.reserved -= a.quantity;
    if (shipped) loc.onHand -= a.quantity;
  }
  state.activeQuantity -= r.quantity;
}

type ReservationChange = ReservationActivated | ReservationBumped | ReservationReleased | ReservationCommitted | ReservationExpired;

/**
 * A reservation's own fields after one of its events. Shared by `evolve` (which also keeps the
 * SKU's counters and queue) and `foldHistory` (which rebuilds the audit trail from the WAL).
 */
function transitionReservation(r: Reservation, event: ReservationChange): void {
  switch (event.type) {
    case 'ReservationActivated':
      r.state = 'ACTIVE';
      r.activatedAt = event.at;
      r.expiresAt = event.expiresAt;
      r.allocations = event.allocations;
      r.quantity = r.allocations.reduce((n, a) => n + a.quantity, 0);
      break;
    case 'ReservationBumped':
      r.state = 'PENDING';
      r.allocations = NO_ALLOCATIONS;
      r.quantity = 0;
      r.expiresAt = event.expiresAt;
      break;
    case 'ReservationReleased':
    case 'ReservationCommitted':
    case 'ReservationExpired':
      r.state = ENDED_STATE[event.type];
      r.endedAt = event.at;
      if (event.type === 'ReservationReleased') r.endReason = event.reason ?? null;
      break;
  }
}

const ENDED_STATE = {
  ReservationReleased: 'RELEASED',
  ReservationCommitted: 'COMMITTED',
  ReservationExpired: 'EXPIRED',
} as const;

function end(state: SkuState, event: ReservationReleased | ReservationCommitted | ReservationExpired): Reservation {
  const r = openReservation(state, event.reservationId)!;
  if (r.state === 'ACTIVE') unhold(state, r, event.type === 'ReservationCommitted');
  else removePending(state, r);
  transitionReservation(r, event);
  removeOpen(state, r);
  detachIdempotency(state, r);
  return r;
}

function locationFor(state: SkuState, location: string): LocationStock {
  let loc = findLocation(state, location);
  if (!loc) {
    loc = { location, onHand: 0, reserved: 0, safetyStock: 0, sourceSeq: -1 };
    state.locations.push(loc);
    sortLocations(state);
  }
  return loc;
}

function sortLocations(state: SkuState): void {
  const order = state.locationOrder;
  if (!order) return;
  const rank = (name: string) => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  // Array.prototype.sort is stable: unranked locations keep their creation order.
  state.locations.sort((a, b) => rank(a.location) - rank(b.location));
}

function rememberEventId(state: SkuState, eventId: string, limits: Limits): void {
  const ids = (state.eventIds ??= new Set());
  ids.add(eventId);
  if (ids.size > limits.stockEventIdsPerSkuMax) dropOldest(ids, ids.size - limits.stockEventIdsPerSkuMax + evictionBatch(limits.stockEventIdsPerSkuMax) - 1);
}

function rememberIdempotency(state: SkuState, event: SkuEvent, limits: Limits): void {
  if (state.idemLog) indexIdempotency(state, limits);
  const idem = (state.idem ??= new IdempotencyTable());
  // Oldest first (insertion order): at the cap, forget the oldest (a batch of them: see
  // insertion-order.ts). Age is swept separately (forgetExpiredIdempotency).
  if (idem.size >= limits.idempotencyKeysPerSkuMax) idem.dropOldest(idem.size - limits.idempotencyKeysPerSkuMax + evictionBatch(limits.idempotencyKeysPerSkuMax));
  const before = idem.size;
  if (event.type === 'ReservationPlaced') idem.set(event.idem!, event.reservation);
  else idem.set(event.idem!, { kind: KIND_OF_EVENT[event.type]!, reservationId: reservationIdOfEvent(event)!, at: event.at });
  // A key is remembered once (`decide` answers a known one from its first answer): the keys held
  // stay one run of those counted, which paged checkpoints rely on.
  if (idem.size !== before + 1) assert.fail(`idempotency key ${event.idem} of ${state.sku} remembered twice`);
  state.keysRemembered++;
}

/** How many idempotency keys the SKU holds, in whichever of its two forms. */
export function keysHeld(state: SkuState): number {
  return state.idemLog !== null ? state.idemLog.length : state.idem !== null ? state.idem.size : 0;
}

/** An ended reservation's key keeps an entry of its own, not the reservation (see IdempotencyValue). */
function detachIdempotency(state: SkuState, r: Reservation): void {
  const idem = state.idem;
  if (idem !== null && idem.get(r.idempotencyKey) === r) idem.set(r.idempotencyKey, { kind: 'reserve', reservationId: r.id, at: r.createdAt });
}

/** Replay's `rememberIdempotency`: the key joins the SKU's log, trimmed to the same cap. */
function logIdempotency(state: SkuState, event: SkuEvent, limits: Limits): void {
  const log = (state.idemLog ??= new IdempotencyLog(state.sku));
  log.push(event.idem!, KIND_OF_EVENT[event.type]!, reservationIdOfEvent(event)!, event.at);
  state.keysRemembered++;
  // Trimmed a batch at a time (as dropOldest is), so a hot SKU's replay copies the log rarely.
  const cap = limits.idempotencyKeysPerSkuMax;
  if (log.length > cap + evictionBatch(cap)) log.dropOldest(log.length - cap);
}

/**
 * Move the keys recovery logged into the SKU's Map, the newest idempotencyKeysPerSkuMax of them.
 * The shard calls this before a SKU's first live command; it changes how the keys are held, not
 * which keys are remembered.
 */
export function indexIdempotency(state: SkuState, limits: Limits): void {
  const log = state.idemLog;
  if (!log) return;
  state.idemLog = null;
  const idem = (state.idem ??= new IdempotencyTable());
  log.forEach(Math.max(0, log.length - limits.idempotencyKeysPerSkuMax), (key, kind, reservationId, at) => idem.set(key, { kind, reservationId, at }));
  if (idem.size === 0) state.idem = null;
}

/**
 * Forget idempotency keys older than idempotencyTtlMs. Run when a SKU is checkpointed; a key
 * may be remembered longer than its TTL (never shorter), which only means a late retry still
 * gets its first answer.
 */
export function forgetExpiredIdempotency(state: SkuState, now: number, limits: Limits): void {
  const oldest = now - limits.idempotencyTtlMs;
  const log = state.idemLog;
  if (log) {
    log.dropOldest(log.countBefore(oldest));
    if (log.length === 0) state.idemLog = null;
  }
  const idem = state.idem;
  if (!idem) return;
  idem.dropOldest(idem.countOldest((value) => idempotencyAtOf(value) < oldest));
  if (idem.size === 0) state.idem = null;
}

/**
 * Apply one event to the state (a live turn); returns what the event answers to the caller.
 * A ReservationPlaced event's reservation becomes the state's own and changes with it.
 */
export function evolve(state: SkuState, event: SkuEvent, limits: Limits): ReplyValue {
  return applyEvent(state, event, limits, false)!;
}

/**
 * Apply one event read back from the WAL (recovery). The decoded event is the caller's to give
 * away, so its objects become the state's, and no answer is built: measured on 300k replayed
 * reserves, the copies and answers were a third of replay.
 */
export function replayEvent(state: SkuState, event: SkuEvent, limits: Limits): void {
  applyEvent(state, event, limits, true);
}

function applyEvent(state: SkuState, event: SkuEvent, limits: Limits, replaying: boolean): ReplyValue | undefined {
  assert.equal(event.sku, state.sku, 'event routed to the wrong SKU');
  let reply: ReplyValue | undefined;
  switch (event.type) {
    case 'SkuDefined':
      if (event.locationOrder) state.locationOrder = event.locationOrder;
      if (event.category !== undefined) state.category = event.category;
      if (event.tags !== undefined) state.tags = event.tags;
      sortLocations(state);
      reply = { sku: state.sku, ok: true };
      break;
    case 'StockSet': {
      const loc = locationFor(state, event.location);
      loc.onHand = event.onHand;
      if (event.safetyStock !== undefined) loc.safetyStock = event.safetyStock;
      if (event.sourceSeq !== undefined) loc.sourceSeq = event.sourceSeq;
      rememberEventId(state, event.eventId, limits);
      reply = stockView(state, event.location);
      break;
    }
    case 'StockAdjusted': {
      const loc = locationFor(state, event.location);
      loc.onHand += event.delta;
      rememberEventId(state, event.eventId, limits);
      reply = stockView(state, event.location);
      break;
    }
    case 'StockEventSkipped':
      rememberEventId(state, event.eventId, limits);
      reply = stockView(state, event.location, event.why);
      break;
    case 'ReservationPlaced': {
      // The SKU adopts the event's reservation: it was made for this event by `decide` (live) or
      // by the decoder (replay). A caller that keeps the event takes what it needs first, as
      // Shard.apply takes the WAL form.
      const r: Reservation = event.reservation;
      addOpen(state, r);
      if (r.state === 'ACTIVE') hold(state, r);
      else insertPending(state, r);
      state.nextReservationNo = Math.max(state.nextReservationNo, r.arrival + 1);
      if (!replaying) reply = reservationView(r);
      break;
    }
    case 'ReservationActivated': {
      const r = openReservation(state, event.reservationId)!;
      assert.equal(r.state, 'PENDING', 'only a waiting reservation can be activated');
      removePending(state, r);
      transitionReservation(r, event);
      hold(state, r);
      if (!replaying) reply = reservationView(r);
      break;
    }
    case 'ReservationBumped': {
      const r = openReservation(state, event.reservationId)!;
      assert.equal(r.state, 'ACTIVE', 'only an active reservation can be bumped');
      unhold(state, r, false);
      transitionReservation(r, event);
      insertPending(state, r);
      if (!replaying) reply = reservationView(r);
      break;
    }
    case 'ReservationReleased':
    case 'ReservationCommitted':
    case 'ReservationExpired': {
      const r = end(state, event);
      if (!replaying) reply = reservationView(r);
      break;
    }
    case 'ThresholdsSet':
      state.thresholds = event.thresholds;
      reply = { sku: state.sku, ok: true };
      break;
    case 'OutOfStockFlagged':
      state.flag = { reason: event.reason, flaggedBy: event.flaggedBy, at: event.at };
      reply = { sku: state.sku, ok: true };
      break;
    case 'OutOfStockUnflagged':
      state.flag = null;
      reply = { sku: state.sku, ok: true };
      break;
    case 'AlertRaised':
    case 'AlertResolved':
      applyAlertEvent(state, event);
      reply = { sku: state.sku, ok: true };
      break;
  }
  if (event.idem) {
    if (replaying) logIdempotency(state, event, limits);
    else rememberIdempotency(state, event, limits);
  }
  return reply;
}

/**
 * Cheap invariants, after every transition: per location 0 ≤ reserved, 0 ≤ on hand, and the sum
 * of reserved equals the ACTIVE quantity. `reserved ≤ on hand` is checked once `react` has settled
 * the SKU (a low count arriving from a warehouse is resolved by bumping reservations).
 */
export function assertInvariants(state: SkuState, settled: boolean): void {
  let reserved = 0;
  for (const loc of state.locations) {
    if (loc.onHand < 0) assert.fail(`on hand below zero at ${state.sku}/${loc.location}`);
    if (loc.reserved < 0) assert.fail(`reserved below zero at ${state.sku}/${loc.location}`);
    if (settled && loc.reserved > loc.onHand) assert.fail(`reserved above on hand at ${state.sku}/${loc.location}`);
    reserved += loc.reserved;
  }
  if (reserved !== state.activeQuantity) assert.fail(`reserved total differs from ACTIVE quantity for ${state.sku}`);
}

/**
 * O(open reservations): reserved per location equals the ACTIVE allocations there, and the
 * per-customer counts, where kept, equal the open reservations' customers.
 */
export function assertInvariantsFull(state: SkuState): void {
  assertInvariants(state, true);
  const byLocation = new Map<string, number>();
  let pending = 0;
  for (const r of openReservations(state)) {
    if (r.state !== 'ACTIVE' && r.state !== 'PENDING') assert.fail(`ended reservation ${r.id} still open`);
    if (r.state === 'PENDING') {
      pending++;
      if (r.quantity !== 0) assert.fail(`pending reservation ${r.id} holds units`);
      continue;
    }
    let sum = 0;
    const allocations = r.allocations;
    for (let i = 0; i < allocations.length; i++) {
      const a = allocations[i];
      byLocation.set(a.location, (byLocation.get(a.location) ?? 0) + a.quantity);
      sum += a.quantity;
    }
    if (sum !== r.quantity) assert.fail(`reservation ${r.id} quantity differs from its allocations`);
    if (r.quantity > r.requested) assert.fail(`reservation ${r.id} holds more than requested`);
  }
  if (pending !== (state.pending?.length ?? 0)) assert.fail(`pending queue of ${state.sku} out of step`);
  // One hold is `sole`, two or more are in `open`; customers are counted only beside `open` (open-holds.ts).
  const { open, customers } = state;
  if (open !== null ? state.sole !== null || open.size < 2 : customers !== null) {
    assert.fail(`open reservations of ${state.sku} not kept as one sole hold or two or more by number`);
  }
  assertOpenFiled(state);
  if (open !== null && customers !== null) {
    const counted = customersOf(open.values());
    if (counted.size !== customers.size) assert.fail(`customers with open reservations of ${state.sku} out of step`);
    for (const [customer, count] of counted) {
      if (customers.get(customer) !== count) assert.fail(`open reservations of customer ${customer} on ${state.sku} out of step`);
    }
  }
  assertLocationsReserved(state, byLocation);
}

function assertLocationsReserved(state: SkuState, activeByLocation: Map<string, number>): void {
  for (const loc of state.locations) {
    if (loc.reserved !== (activeByLocation.get(loc.location) ?? 0)) assert.fail(`reserved at ${state.sku}/${loc.location} differs from ACTIVE allocations`);
  }
}

export function reservationView(r: Reservation): ReservationView {
  return {
    reservationId: r.id,
    sku: r.sku,
    state: r.state,
    orderId: r.orderId,
    customerId: r.customerId,
    channel: r.channel,
    requested: r.requested,
    quantity: r.quantity,
    allocations: r.allocations,
    priority: r.priority,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    endedAt: r.endedAt,
    // ?? null: reservations written before endReason existed have none.
    endReason: r.endReason ?? null,
  };
}

export function skuView(state: SkuState): SkuView {
  let onHand = 0;
  let reserved = 0;
  let safetyStock = 0;
  let free = 0;
  const locations = state.locations.map((loc) => {
    onHand += loc.onHand;
    reserved += loc.reserved;
    safetyStock += loc.safetyStock;
    free += available(loc);
    return { location: loc.location, onHand: loc.onHand, reserved: loc.reserved, safetyStock: loc.safetyStock, available: available(loc) };
  });
  return {
    sku: state.sku,
    onHand,
    reserved,
    safetyStock,
    available: free,
    locations,
    pending: state.pending?.length ?? 0,
    openReservations: openCount(state),
    outOfStockFlag: state.flag,
    thresholds: state.thresholds ?? {},
    category: state.category,
    tags: state.tags ?? [],
    alerts: openAlerts(state),
  };
}

/** Reservations listed per list when the caller names no limit (validate.ts caps the limit). */
const RESERVATION_LIST_DEFAULT = 100;

function reservationList(state: SkuState, limit: number): ReservationListView {
  const reservations: ReservationView[] = [];
  const pending: ReservationView[] = [];
  let truncated = false;
  for (const r of openReservations(state)) {
    if (r.state !== 'ACTIVE') continue;
    if (reservations.length >= limit) {
      truncated = true;
      break;
    }
    reservations.push(reservationView(r));
  }
  for (const r of state.pending ?? []) {
    if (pending.length >= limit) {
      truncated = true;
      break;
    }
    pending.push(reservationView(r));
  }
  return { sku: state.sku, reservations, pending, truncated };
}

function stockView(state: SkuState, location: string, skipped?: 'DUPLICATE' | 'STALE'): StockAppliedView {
  const loc = findLocation(state, location);
  const view: StockAppliedView = {
    sku: state.sku,
    location,
    applied: skipped === undefined,
    onHand: loc?.onHand ?? 0,
    available: loc ? available(loc) : 0,
  };
  if (skipped) view.skipped = skipped;
  return view;
}

/** The reservation an event concerns, or null. */
export function reservationIdOfEvent(event: SkuEvent): string | null {
  switch (event.type) {
    case 'ReservationPlaced':
      return event.reservation.id;
    case 'ReservationActivated':
    case 'ReservationBumped':
    case 'ReservationReleased':
    case 'ReservationCommitted':
    case 'ReservationExpired':
      return event.reservationId;
    default:
      return null;
  }
}

/**
 * The reservation an event concerns, looked up before the event is applied (an ending event takes
 * it out of the open Map): a placed one's own, otherwise the open one it changes; null for others.
 */
export function reservationOfEvent(state: SkuState, event: SkuEvent): Reservation | null {
  if (event.type === 'ReservationPlaced') return event.reservation;
  const id = reservationIdOfEvent(event);
  return id === null ? null : (openReservation(state, id) ?? null);
}

/** A reservation's audit trail from its events in WAL order: each event and the reservation after it. */
export function foldHistory(lines: { seq: number; event: SkuEvent }[]): HistoryEntry[] {
  let r: Reservation | null = null;
  const entries: HistoryEntry[] = [];
  for (const { seq, event } of lines) {
    if (event.type === 'ReservationPlaced') r = { ...event.reservation };
    else if (r && reservationIdOfEvent(event) === r.id) transitionReservation(r, event as ReservationChange);
    else continue;
    entries.push({ seq, at: event.at, event: event.type, reservation: reservationView(r) });
  }
  return entries;
}
