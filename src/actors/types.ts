// Commands, events and replies of the SKU actor. These are plain data: they cross worker-thread
// boundaries by structured clone and are written to the WAL with msgpackr.

import type { Alert } from '../alerts/alert.js';
import type { ErrorBody } from '../errors.js';
import type { StockSeriesView } from './stock-series.js';

export type ReservationState = 'PENDING' | 'ACTIVE' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

/** Never changed in place: a reservation's list may be shared with others (shared-allocations.ts). */
export interface Allocation {
  readonly location: string;
  readonly quantity: number;
}

/** A reservation as held in memory while it is open (PENDING or ACTIVE). */
export interface Reservation {
  id: string;
  sku: string;
  orderId: string;
  customerId: string;
  channel: string;
  idempotencyKey: string;
  requested: number;
  /** Units held: the sum of `allocations`. Zero while PENDING. */
  quantity: number;
  allocations: readonly Allocation[];
  /** Higher first. */
  priority: number;
  /** The reservation's number within its SKU (the last part of its id), so its arrival order; breaks priority ties (earlier first). */
  arrival: number;
  allowPartial: boolean;
  /** Locations the caller restricted the reservation to, in its order; null = the SKU's order. */
  locations: string[] | null;
  holdTtlMs: number;
  state: ReservationState;
  createdAt: number;
  activatedAt: number;
  /** When the ACTIVE hold expires, or when a PENDING request stops waiting. */
  expiresAt: number;
  endedAt: number;
  /** Why a RELEASED reservation was released, as its caller said; null otherwise. */
  endReason: string | null;
  /**
   * Where the reservation's latest event is in its shard's WAL: record seq and index in the
   * record; walSeq 0 when not known (a reservation restored from a snapshot written before
   * these fields). Bookkeeping for the audit trail, never shown to callers (shard-store.ts).
   */
  walSeq: number;
  walIndex: number;
}

export interface Thresholds {
  /** Minimum total available before the SKU counts as low. */
  minAvailable?: number;
  /** Minimum available per location, overriding minAvailable there. */
  minAvailableByLocation?: Record<string, number>;
  /** Time-of-day minimums, local to `timeZone`; later entries win. */
  minAvailableByTimeOfDay?: { from: string; to: string; minAvailable: number }[];
  timeZone?: string;
  /** Percentage depletion: alert below this % of referenceLevel. */
  lowPercent?: number;
  referenceLevel?: number;
  /** Supplier lead time, used for time-to-stock-out comparisons. */
  leadTimeDays?: number;
  /** Region of each location, for regional minimums and alert routing. */
  regionByLocation?: Record<string, string>;
  /** Minimum available per location of a region (a location's own minimum wins). */
  minAvailableByRegion?: Record<string, number>;
  /** Units above a minimum (or above zero) before an episode ends; default 1. */
  hysteresisUnits?: number;
  /** Percentage points above lowPercent before a depletion episode ends; default 5. */
  hysteresisPercent?: number;
  /** Depletion by speed: available down this % from its highest level within dropWindowMs. */
  dropPercent?: number;
  dropWindowMs?: number;
}

// ---- commands -------------------------------------------------------------------------------

export interface ReserveCommand {
  type: 'reserve';
  sku: string;
  idempotencyKey: string;
  orderId: string;
  customerId: string;
  channel: string;
  quantity: number;
  locations?: string[];
  priority?: number;
  allowPartial?: boolean;
  /** Wait in the PENDING queue when stock is short instead of failing. */
  queueIfShort?: boolean;
  holdTtlMs?: number;
  /** How long a PENDING request waits before it EXPIRES. */
  queueTtlMs?: number;
}

/**
 * Set by the gateway from the caller's API key, never by the caller: a channel's key may only
 * see and change its own channel's reservations. Absent for admin callers and internal streams.
 */
interface ChannelScoped {
  asChannel?: string;
}

export interface ReleaseCommand extends ChannelScoped {
  type: 'release';
  reservationId: string;
  idempotencyKey?: string;
  reason?: string;
}

export interface CommitCommand extends ChannelScoped {
  type: 'commit';
  reservationId: string;
  idempotencyKey?: string;
}

export interface SetStockCommand {
  type: 'setStock';
  sku: string;
  location: string;
  onHand: number;
  safetyStock?: number;
  /** The source's event id; a repeat is acknowledged and not applied again. */
  eventId: string;
  /** The source's sequence or timestamp; an older absolute count never overwrites a newer one. */
  sourceSeq?: number;
}

export interface AdjustStockCommand {
  type: 'adjustStock';
  sku: string;
  location: string;
  delta: number;
  eventId: string;
}

export interface DefineSkuCommand {
  type: 'defineSku';
  sku: string;
  /** Allocation order of locations for this SKU. */
  locationOrder?: string[];
  category?: string;
  tags?: string[];
}

export interface SetThresholdsCommand {
  type: 'setThresholds';
  sku: string;
  thresholds: Thresholds;
}

export interface FlagOutOfStockCommand {
  type: 'flagOutOfStock';
  sku: string;
  reason: string;
  flaggedBy: string;
}

export interface UnflagOutOfStockCommand {
  type: 'unflagOutOfStock';
  sku: string;
  unflaggedBy: string;
}

export interface GetSkuCommand {
  type: 'getSku';
  sku: string;
}

export interface GetReservationCommand extends ChannelScoped {
  type: 'getReservation';
  reservationId: string;
}

export interface GetReservationHistoryCommand extends ChannelScoped {
  type: 'getReservationHistory';
  reservationId: string;
}

/** From the demand windows (main thread): a signal turned on or off. Internal, admin only. */
export interface DemandSignalCommand {
  type: 'demandSignal';
  sku: string;
  signal: 'high_demand' | 'lead_time_exhaustion';
  on: boolean;
  observed: number;
  threshold: number;
}

/** A fulfilment attempt failed (picking, carrier, payment capture …): raises an alert. */
export interface ReportFulfilmentFailureCommand {
  type: 'reportFulfilmentFailure';
  sku: string;
  location?: string;
  orderId: string;
  reason: string;
}

export type MutatingCommand =
  | ReserveCommand
  | ReleaseCommand
  | CommitCommand
  | SetStockCommand
  | AdjustStockCommand
  | DefineSkuCommand
  | SetThresholdsCommand
  | FlagOutOfStockCommand
  | UnflagOutOfStockCommand
  | DemandSignalCommand
  | ReportFulfilmentFailureCommand;

/** The SKU's open reservations and its waiting queue, in queue order. */
export interface ListReservationsCommand {
  type: 'listReservations';
  sku: string;
  /** At most this many of each list. */
  limit?: number;
}

/** The SKU's stock over time since its shard started (the dashboard's chart). */
export interface GetStockSeriesCommand {
  type: 'getStockSeries';
  sku: string;
}

export type QueryCommand = GetSkuCommand | GetReservationCommand | GetReservationHistoryCommand | ListReservationsCommand | GetStockSeriesCommand;

export type Command = MutatingCommand | QueryCommand;

/** Emitted by the shard runtime itself when a hold or a wait times out. */
export interface ExpireCommand {
  type: 'expire';
  reservationId: string;
}

/** Emitted by the shard runtime's threshold check: time-of-day minimums change with the clock. */
export interface EvaluateAlertsCommand {
  type: 'evaluateAlerts';
  sku: string;
}

// ---- events (the WAL's content) -------------------------------------------------------------

interface EventBase {
  sku: string;
  /** Time of the transition, from the shard clock; replay uses it instead of the wall clock. */
  at: number;
  /** Idempotency key of the command that caused the event, if any. */
  idem?: string;
}

export interface SkuDefined extends EventBase {
  type: 'SkuDefined';
  locationOrder?: string[];
  category?: string;
  tags?: string[];
}
export interface StockSet extends EventBase {
  type: 'StockSet';
  location: string;
  onHand: number;
  safetyStock?: number;
  eventId: string;
  sourceSeq?: number;
}
export interface StockAdjusted extends EventBase {
  type: 'StockAdjusted';
  location: string;
  delta: number;
  eventId: string;
}
/** A stock event whose id was seen before or whose sourceSeq is older: recorded, not applied. */
export interface StockEventSkipped extends EventBase {
  type: 'StockEventSkipped';
  location: string;
  eventId: string;
  why: 'DUPLICATE' | 'STALE';
}
export interface ReservationPlaced extends EventBase {
  type: 'ReservationPlaced';
  reservation: Reservation;
}
export interface ReservationActivated extends EventBase {
  type: 'ReservationActivated';
  reservationId: string;
  allocations: readonly Allocation[];
  expiresAt: number;
}
export interface ReservationReleased extends EventBase {
  type: 'ReservationReleased';
  reservationId: string;
  reason?: string;
}
export interface ReservationCommitted extends EventBase {
  type: 'ReservationCommitted';
  reservationId: string;
}
export interface ReservationExpired extends EventBase {
  type: 'ReservationExpired';
  reservationId: string;
}
/** Stock fell below what was reserved at a location: the reservation goes back to waiting. */
export interface ReservationBumped extends EventBase {
  type: 'ReservationBumped';
  reservationId: string;
  expiresAt: number;
}
export interface ThresholdsSet extends EventBase {
  type: 'ThresholdsSet';
  thresholds: Thresholds;
}
export interface OutOfStockFlagged extends EventBase {
  type: 'OutOfStockFlagged';
  reason: string;
  flaggedBy: string;
}
export interface OutOfStockUnflagged extends EventBase {
  type: 'OutOfStockUnflagged';
  unflaggedBy: string;
}

/** An alert episode opened; `alert` is its `firing` notice (also in the outbox until published). */
export interface AlertRaised extends EventBase {
  type: 'AlertRaised';
  key: string;
  no: number;
  alert: Alert;
}
/** An alert episode ended; `alert` is its `resolved` notice. */
export interface AlertResolved extends EventBase {
  type: 'AlertResolved';
  key: string;
  alert: Alert;
}

export type SkuEvent =
  | SkuDefined
  | StockSet
  | StockAdjusted
  | StockEventSkipped
  | ReservationPlaced
  | ReservationActivated
  | ReservationReleased
  | ReservationCommitted
  | ReservationExpired
  | ReservationBumped
  | ThresholdsSet
  | OutOfStockFlagged
  | OutOfStockUnflagged
  | AlertRaised
  | AlertResolved;

// ---- replies --------------------------------------------------------------------------------

export interface ReservationView {
  reservationId: string;
  sku: string;
  state: ReservationState;
  orderId: string;
  customerId: string;
  channel: string;
  requested: number;
  quantity: number;
  allocations: readonly Allocation[];
  priority: number;
  createdAt: number;
  expiresAt: number;
  endedAt: number;
  endReason: string | null;
}

export interface LocationView {
  location: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
}

export interface SkuView {
  sku: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
  locations: LocationView[];
  pending: number;
  openReservations: number;
  outOfStockFlag: { reason: string; flaggedBy: string; at: number } | null;
  thresholds: Thresholds;
  category: string | null;
  tags: string[];
  /** Alert episodes open now (their firing notices). */
  alerts: Alert[];
}

export interface ReservationListView {
  sku: string;
  /** ACTIVE reservations, oldest first. */
  reservations: ReservationView[];
  /** PENDING reservations in queue order (priority, then arrival). */
  pending: ReservationView[];
  /** True when a list was cut at `limit`. */
  truncated: boolean;
}

export interface StockAppliedView {
  sku: string;
  location: string;
  applied: boolean;
  skipped?: 'DUPLICATE' | 'STALE';
  onHand: number;
  available: number;
}

/** One line of a reservation's audit trail: the event and the reservation as it left it. */
export interface HistoryEntry {
  /** WAL record sequence of the transaction that wrote it. */
  seq: number;
  at: number;
  event: SkuEvent['type'];
  reservation: ReservationView;
}

export type ReplyValue =
  | ReservationView
  | SkuView
  | StockAppliedView
  | HistoryEntry[]
  | ReservationListView
  | StockSeriesView
  | { sku: string; ok: true };

/** `replayed`: the first answer to an idempotency key, returned again without changing anything. */
export type Reply = { ok: true; value: ReplyValue; replayed?: true } | { ok: false; error: ErrorBody };
