// Demand windows: per SKU, sliding windows over sales (committed reservations) and reservation
// attempts, reported by the engine after each durable turn. From them come the velocities per
// minute, hour, day and week, and two edge-triggered signals for the alert triggers:
//
//   high_demand            sales (or units) in a window reach `onAtLeast`; off below `offBelow`
//   lead_time_exhaustion   time to stock-out (available ÷ sales velocity) is at or under the
//                          SKU's supplier lead time; off above lead time × `offAboveRatio`
//
// The two levels of each signal are its hysteresis: a figure wobbling around one level turns the
// signal on once and off once, never on-off-on.
//
// Memory is bounded twice. Events are not kept: each window is a ring of count buckets (12 × 5 s,
// 60 × 1 min, 96 × 15 min, 168 × 1 h; at most 336 buckets of 40 bytes, ~13 KiB for a SKU that sells
// in every bucket of every window, far less for the rest since rings grow only as buckets fill),
// and at most `skusTrackedMax` SKUs are tracked, the least recently active evicted first.
//
// Time comes from an RxJS scheduler (asyncScheduler in production, a TestScheduler in tests):
// events are bucketed at the scheduler's `now()` when they arrive (milliseconds after the turn,
// since the engine reports after the flush), and a timer on the same scheduler re-evaluates
// every SKU so that signals also turn off when old sales leave a window with nothing new arriving.

import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { asyncScheduler, repeat, Subject, Subscription, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { DemandEvent } from '../actors/messages.js';
import type { DemandSignalCommand } from '../actors/types.js';
import { ConfigError } from '../config-error.js';
import { dropOldest, evictionBatch } from '../insertion-order.js';

export type WindowName = 'minute' | 'hour' | 'day' | 'week';
/** Demand events may carry the SKU's lead time, read from its thresholds in the same turn. */
type LeadTimeCarrying = DemandEvent & { leadTimeDays?: number | null };
export type DemandSignal = 'high_demand' | 'lead_time_exhaustion';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/**
 * The windows, finest first. A window is `bucketsMax` buckets of `bucketMs`; a sale leaves it
 * between `windowMs - bucketMs` and `windowMs` after it happened (exactly: at the start of the
 * bucket `bucketsMax` buckets after its own).
 */
export const WINDOWS: readonly { name: WindowName; windowMs: number; bucketMs: number }[] = Object.freeze([
  { name: 'minute', windowMs: MINUTE_MS, bucketMs: 5 * SECOND_MS },
  { name: 'hour', windowMs: HOUR_MS, bucketMs: MINUTE_MS },
  { name: 'day', windowMs: DAY_MS, bucketMs: 15 * MINUTE_MS },
  { name: 'week', windowMs: WEEK_MS, bucketMs: HOUR_MS },
]);
const WINDOW_NAMES = WINDOWS.map((w) => w.name);
const WINDOW_INDEX: Record<WindowName, number> = { minute: 0, hour: 1, day: 2, week: 3 };
const WEEK = WINDOW_INDEX.week;

// ---------------------------------------------------------------------------------------------
// Configuration

export interface DemandConfig {
  /** SKUs with windows in memory; the least recently active is evicted to make room. */
  skusTrackedMax: number;
  /** How often every tracked SKU is re-evaluated as its windows slide. */
  evaluateIntervalMs: number;
  highDemand: {
    window: WindowName;
    /** Count committed reservations ('sales') or the units they hold ('units'). */
    measure: 'sales' | 'units';
    /** On when the window holds at least this many. */
    onAtLeast: number;
    /** Off again when it holds fewer than this (≤ onAtLeast: the gap is the hysteresis). */
    offBelow: number;
  };
  leadTimeExhaustion: {
    /** The window whose sold units give the velocity (units per day) for time to stock-out. */
    velocityWindow: WindowName;
    /** Off again when time to stock-out exceeds lead time × this (≥ 1: the hysteresis). */
    offAboveRatio: number;
  };
}

export const DEFAULT_DEMAND_CONFIG: Readonly<DemandConfig> = Object.freeze({
  skusTrackedMax: 10_000,
  evaluateIntervalMs: MINUTE_MS,
  highDemand: Object.freeze({ window: 'week', measure: 'sales', onAtLeast: 3, offBelow: 2 }),
  leadTimeExhaustion: Object.freeze({ velocityWindow: 'week', offAboveRatio: 1.25 }),
} as const);

/** The JSON Schema of the `demand` configuration section (all keys optional, unknown keys refused). */
export const demandConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    skusTrackedMax: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'SKUs with windows in memory; at it the least recently active 1/64 are evicted at once.' },
    evaluateIntervalMs: { type: 'integer', minimum: 1000, maximum: HOUR_MS, description: 'How often every tracked SKU is re-evaluated as its windows slide.' },
    highDemand: {
      description: 'The high-demand signal.',
      type: 'object',
      additionalProperties: false,
      properties: {
        window: { enum: WINDOW_NAMES, description: 'The window it counts over.' },
        measure: { enum: ['sales', 'units'], description: 'Count committed reservations (sales) or their units.' },
        onAtLeast: { type: 'integer', minimum: 1, description: 'On when the window holds at least this many.' },
        offBelow: { type: 'integer', minimum: 1, description: 'Off again below this (the gap to onAtLeast is the hysteresis).' },
      },
    },
    leadTimeExhaustion: {
      description: "The lead-time-exhaustion signal: time to stock-out against the SKU's leadTimeDays.",
      type: 'object',
      additionalProperties: false,
      properties: {
        velocityWindow: { enum: WINDOW_NAMES, description: 'The window whose sold units give the velocity (units per day).' },
        offAboveRatio: { type: 'number', minimum: 1, maximum: 100, description: 'Off again when time to stock-out exceeds lead time × this (the hysteresis).' },
      },
    },
  },
} as const;

const validateDemandConfig = new Ajv({ allErrors: true, strict: true }).compile(demandConfigSchema);

/** Merge overrides onto the defaults, validate, freeze. Throws ConfigError naming the bad key. */
export function buildDemandConfig(overrides: unknown = {}): Readonly<DemandConfig> {
  if (!validateDemandConfig(overrides)) {
    const problems = (validateDemandConfig.errors ?? []).map((e) => {
      const where = `/demand${e.instancePath}`;
      if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      return `${where}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const o = overrides as Partial<DemandConfig>;
  const config: DemandConfig = {
    skusTrackedMax: o.skusTrackedMax ?? DEFAULT_DEMAND_CONFIG.skusTrackedMax,
    evaluateIntervalMs: o.evaluateIntervalMs ?? DEFAULT_DEMAND_CONFIG.evaluateIntervalMs,
    highDemand: { ...DEFAULT_DEMAND_CONFIG.highDemand, ...o.highDemand },
    leadTimeExhaustion: { ...DEFAULT_DEMAND_CONFIG.leadTimeExhaustion, ...o.leadTimeExhaustion },
  };
  if (config.highDemand.offBelow > config.highDemand.onAtLeast) {
    throw new ConfigError('invalid configuration: /demand/highDemand: offBelow exceeds onAtLeast');
  }
  Object.freeze(config.highDemand);
  Object.freeze(config.leadTimeExhaustion);
  return Object.freeze(config);
}

// ---------------------------------------------------------------------------------------------
// Bucket rings

/** Per bucket: its number (time ÷ bucketMs), sales, sold units, attempts, attempted units. */
const FIELDS = 5;
const F_INDEX = 0;
const F_SALES = 1;
const F_SALE_UNITS = 2;
const F_ATTEMPTS = 3;
const F_ATTEMPT_UNITS = 4;
const RING_BUCKETS_INITIAL = 2;

export interface WindowFigures {
  sales: number;
  saleUnits: number;
  attempts: number;
  attemptUnits: number;
}

/**
 * The non-empty buckets of one window, oldest first, with running totals so a window's figures
 * cost nothing to read. The ring starts small and doubles up to `bucketsMax`: most SKUs sell in a
 * few buckets only.
 */
class BucketRing {
  private data = new Float64Array(RING_BUCKETS_INITIAL * FIELDS);
  private capacity = RING_BUCKETS_INITIAL;
  private head = 0;
  private size = 0;
  readonly totals: WindowFigures = { sales: 0, saleUnits: 0, attempts: 0, attemptUnits: 0 };

  constructor(
    private readonly bucketMs: number,
    private readonly bucketsMax: number,
  ) {}

  get empty(): boolean {
    return this.size === 0;
  }

  /** `count` sales or attempts of `quantity` units in all. */
  add(now: number, kind: DemandEvent['kind'], quantity: number, count = 1): void {
    this.expire(now);
    let bucket = Math.floor(now / this.bucketMs);
    const tail = this.size > 0 ? (this.head + this.size - 1) % this.capacity : -1;
    // A clock that stepped back adds to the newest bucket rather than reorder the ring.
    if (tail >= 0 && this.data[tail * FIELDS + F_INDEX] >= bucket) bucket = this.data[tail * FIELDS + F_INDEX];
    let at: number;
    if (tail >= 0 && this.data[tail * FIELDS + F_INDEX] === bucket) {
      at = tail * FIELDS;
    } else {
      if (this.size === this.capacity) this.grow();
      at = ((this.head + this.size) % this.capacity) * FIELDS;
      this.data.fill(0, at, at + FIELDS);
      this.data[at + F_INDEX] = bucket;
      this.size++;
    }
    if (kind === 'sale') {
      this.data[at + F_SALES] += count;
      this.data[at + F_SALE_UNITS] += quantity;
      this.totals.sales += count;
      this.totals.saleUnits += quantity;
    } else {
      this.data[at + F_ATTEMPTS] += count;
      this.data[at + F_ATTEMPT_UNITS] += quantity;
      this.totals.attempts += count;
      this.totals.attemptUnits += quantity;
    }
  }

  /** Drop the buckets that slid out of the window by `now`. */
  expire(now: number): void {
    const oldestKept = Math.floor(now / this.bucketMs) - this.bucketsMax + 1;
    while (this.size > 0 && this.data[this.head * FIELDS + F_INDEX] < oldestKept) {
      const at = this.head * FIELDS;
      this.totals.sales -= this.data[at + F_SALES];
      this.totals.saleUnits -= this.data[at + F_SALE_UNITS];
      this.totals.attempts -= this.data[at + F_ATTEMPTS];
      this.totals.attemptUnits -= this.data[at + F_ATTEMPT_UNITS];
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
    if (this.size === 0) {
      // Whole numbers all along, but reset anyway: an empty window reads exactly zero.
      this.totals.sales = this.totals.saleUnits = this.totals.attempts = this.totals.attemptUnits = 0;
    }
  }

  private grow(): void {
    // Buckets in a ring are distinct and inside the window, so there are never more than bucketsMax.
    assert.ok(this.capacity < this.bucketsMax, 'bucket ring over its window');
    const capacity = Math.min(this.bucketsMax, this.capacity * 2);
    const data = new Float64Array(capacity * FIELDS);
    for (let i = 0; i < this.size; i++) {
      const from = ((this.head + i) % this.capacity) * FIELDS;
      data.set(this.data.subarray(from, from + FIELDS), i * FIELDS);
    }
    this.data = data;
    this.capacity = capacity;
    this.head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Signals and snapshots

interface SignalChangeBase {
  sku: string;
  signal: DemandSignal;
  /** Scheduler time, epoch milliseconds in production. */
  at: number;
}

/**
 * A signal turned on or off. `observed`: high_demand — sales (or units) in the window;
 * lead_time_exhaustion — days to stock-out, null when nothing sold in the velocity window (it
 * never runs out at this rate). `threshold`: the level crossed — onAtLeast or offBelow; the lead
 * time in days (on) or lead time × offAboveRatio (off), null when the lead time became unknown.
 */
export type DemandSignalChange =
  | (SignalChangeBase & { on: true; observed: number; threshold: number; cause: 'crossed' })
  | (SignalChangeBase & {
      on: false;
      observed: number | null;
      threshold: number | null;
      /** 'crossed' a level; 'evicted' from tracking to make room; 'lead_time_unknown' (no lead time any more). */
      cause: 'crossed' | 'evicted' | 'lead_time_unknown';
    });

type OffCause = Extract<DemandSignalChange, { on: false }>['cause'];

/**
 * The engine command that records a change as a durable alert episode. An "on" always carries
 * both figures; an "off" may not (nothing sells, no lead time), and the command wants numbers:
 * the alert layer reads only `on` to end an episode, so 0 stands in there.
 */
export function demandSignalCommand(change: DemandSignalChange): DemandSignalCommand {
  return { type: 'demandSignal', sku: change.sku, signal: change.signal, on: change.on, observed: change.observed ?? 0, threshold: change.threshold ?? 0 };
}

export interface DemandSnapshot {
  sku: string;
  /** False when nothing was recorded for the SKU in the last week (or it was evicted). */
  tracked: boolean;
  at: number;
  windows: Record<WindowName, WindowFigures>;
  /** Available units after the SKU's last reported turn; null when untracked. */
  available: number | null;
  /** Units sold per day over the velocity window. */
  salesVelocityPerDay: number;
  /** available ÷ salesVelocityPerDay; null when nothing sold (or untracked). */
  timeToStockOutDays: number | null;
  leadTimeDays: number | null;
  highDemand: boolean;
  leadTimeExhausted: boolean;
}

export interface DemandStatus {
  skusTracked: number;
  skusTrackedMax: number;
  eventsRecorded: number;
  /** SKUs pushed out by skusTrackedMax. */
  evicted: number;
  /** SKUs dropped because a week passed without demand. */
  idleDropped: number;
  highDemandOn: number;
  leadTimeExhaustedOn: number;
  /** A lead time (carried or from leadTimeDaysOf) that was not a non-negative number or null, or a callback that threw. */
  leadTimeLookupFailures: number;
}

interface SkuDemand {
  readonly rings: BucketRing[];
  available: number;
  /** As carried by the SKU's last demand event; undefined when its events carry none. */
  leadTimeDays: number | null | undefined;
  highDemand: boolean;
  exhausted: boolean;
}

export interface DemandWindowsOptions {
  /**
   * The SKU's supplier lead time in days, or null when it has none — for SKUs whose demand events
   * do not carry `leadTimeDays` (an event's own value, read in the turn, wins).
   */
  leadTimeDaysOf?: (sku: string) => number | null;
  scheduler?: SchedulerLike;
}

export class DemandWindows {
  /** Insertion order is activity order: a SKU is re-inserted on each event, so the first is the least recently active. */
  private readonly skus = new Map<string, SkuDemand>();
  private readonly changes = new Subject<DemandSignalChange>();
  private readonly scheduler: SchedulerLike;
  private subscription: Subscription | null = null;
  private readonly counters = { eventsRecorded: 0, evicted: 0, idleDropped: 0, highDemandOn: 0, leadTimeExhaustedOn: 0, leadTimeLookupFailures: 0 };

  /** Every signal change, as it happens (synchronously, inside the event or the evaluation). */
  readonly signals$: Observable<DemandSignalChange> = this.changes.asObservable();

  constructor(
    private readonly config: Readonly<DemandConfig>,
    private readonly options: DemandWindowsOptions,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
  }

  /** Consume the engine's demand reports and start the periodic re-evaluation. */
  start(demand$: Observable<readonly DemandEvent[]>): void {
    assert.equal(this.subscription, null, 'demand windows already started');
    const subscription = new Subscription();
    subscription.add(demand$.subscribe((events) => this.record(events)));
    // A timer re-armed by repeat() rather than interval(): on a virtual-time scheduler every
    // interval tick nests a new action inside the last, and a long run of them overflows the
    // stack on unsubscribe (a week at one tick a minute is 10 080 levels).
    subscription.add(
      timer(this.config.evaluateIntervalMs, this.scheduler)
        .pipe(repeat())
        .subscribe(() => this.evaluateAll()),
    );
    this.subscription = subscription;
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.changes.complete();
  }

  /**
   * A SKU's available units changed outside demand (a stock event, a release, an expiry): time to
   * stock-out is recomputed at once. Ignored for SKUs not tracked (no demand, no stock-out).
   */
  availableChanged(sku: string, available: number): void {
    const state = this.skus.get(sku);
    if (!state) return;
    state.available = available;
    this.evaluate(sku, state, this.scheduler.now());
  }

  snapshot(sku: string): DemandSnapshot {
    const now = this.scheduler.now();
    const state = this.skus.get(sku);
    if (state) for (const ring of state.rings) ring.expire(now);
    const figures = (w: number): WindowFigures => (state ? { ...state.rings[w].totals } : { sales: 0, saleUnits: 0, attempts: 0, attemptUnits: 0 });
    const velocity = state ? this.velocityPerDay(state) : 0;
    return {
      sku,
      tracked: state !== undefined,
      at: now,
      windows: { minute: figures(0), hour: figures(1), day: figures(2), week: figures(3) },
      available: state ? state.available : null,
      salesVelocityPerDay: velocity,
      timeToStockOutDays: state ? timeToStockOut(state.available, velocity) : null,
      leadTimeDays: this.leadTimeOf(sku, state),
      highDemand: state?.highDemand ?? false,
      leadTimeExhausted: state?.exhausted ?? false,
    };
  }

  status(): DemandStatus {
    return { skusTracked: this.skus.size, skusTrackedMax: this.config.skusTrackedMax, ...this.counters };
  }

  private record(events: readonly DemandEvent[]): void {
    const now = this.scheduler.now();
    // One evaluation per SKU per report: within a report figures only grow, so the end decides.
    const touched = new Map<string, SkuDemand>();
    for (const event of events) {
      const state = this.touch(event.sku, now);
      const count = event.count ?? 1;
      for (const ring of state.rings) ring.add(now, event.kind, event.quantity, count);
      state.available = event.available;
      const carried = (event as LeadTimeCarrying).leadTimeDays;
      if (carried !== undefined) state.leadTimeDays = carried;
      touched.set(event.sku, state);
      this.counters.eventsRecorded += count;
    }
    for (const [sku, state] of touched) {
      // A report with more new SKUs than skusTrackedMax evicts some of its own: skip those.
      if (this.skus.get(sku) === state) this.evaluate(sku, state, now);
    }
  }

  /** The SKU's state, now the most recently active; a new SKU may evict the least recently active. */
  private touch(sku: string, now: number): SkuDemand {
    const existing = this.skus.get(sku);
    if (existing) {
      this.skus.delete(sku);
      this.skus.set(sku, existing);
      return existing;
    }
    if (this.skus.size >= this.config.skusTrackedMax) {
      dropOldest(this.skus, this.skus.size - this.config.skusTrackedMax + evictionBatch(this.config.skusTrackedMax), (oldest, evicted) => {
        this.counters.evicted++;
        this.forget(oldest, evicted, now, 'evicted');
      });
    }
    const state: SkuDemand = {
      rings: WINDOWS.map((w) => new BucketRing(w.bucketMs, w.windowMs / w.bucketMs)),
      available: 0,
      leadTimeDays: undefined,
      highDemand: false,
      exhausted: false,
    };
    this.skus.set(sku, state);
    return state;
  }

  /** The windows slid: re-evaluate everything; drop SKUs without demand for a week. */
  private evaluateAll(): void {
    const now = this.scheduler.now();
    for (const [sku, state] of this.skus) {
      this.evaluate(sku, state, now);
      // Every window lies inside the week, so an empty week has already turned both signals off.
      if (state.rings[WEEK].empty) {
        this.skus.delete(sku);
        this.counters.idleDropped++;
      }
    }
  }

  private evaluate(sku: string, state: SkuDemand, now: number): void {
    for (const ring of state.rings) ring.expire(now);
    this.evaluateHighDemand(sku, state, now);
    this.evaluateExhaustion(sku, state, now);
  }

  private evaluateHighDemand(sku: string, state: SkuDemand, now: number): void {
    const { window, measure, onAtLeast, offBelow } = this.config.highDemand;
    const totals = state.rings[WINDOW_INDEX[window]].totals;
    const observed = measure === 'sales' ? totals.sales : totals.saleUnits;
    if (!state.highDemand && observed >= onAtLeast) this.setHighDemand(sku, state, true, observed, onAtLeast, now, 'crossed');
    else if (state.highDemand && observed < offBelow) this.setHighDemand(sku, state, false, observed, offBelow, now, 'crossed');
  }

  private evaluateExhaustion(sku: string, state: SkuDemand, now: number): void {
    const leadTime = this.leadTimeOf(sku, state);
    const daysLeft = timeToStockOut(state.available, this.velocityPerDay(state));
    if (!state.exhausted) {
      if (leadTime !== null && daysLeft !== null && daysLeft <= leadTime) this.setExhausted(sku, state, true, daysLeft, leadTime, now, 'crossed');
      return;
    }
    if (leadTime === null) {
      this.setExhausted(sku, state, false, daysLeft, null, now, 'lead_time_unknown');
      return;
    }
    const offAbove = leadTime * this.config.leadTimeExhaustion.offAboveRatio;
    if (daysLeft === null || daysLeft > offAbove) this.setExhausted(sku, state, false, daysLeft, offAbove, now, 'crossed');
  }

  /** A SKU leaves tracking: whatever it had on ends, so no alert episode is left open. */
  private forget(sku: string, state: SkuDemand, now: number, cause: OffCause): void {
    if (state.highDemand) {
      const totals = state.rings[WINDOW_INDEX[this.config.highDemand.window]].totals;
      const observed = this.config.highDemand.measure === 'sales' ? totals.sales : totals.saleUnits;
      this.setHighDemand(sku, state, false, observed, this.config.highDemand.offBelow, now, cause);
    }
    if (state.exhausted) this.setExhausted(sku, state, false, timeToStockOut(state.available, this.velocityPerDay(state)), null, now, cause);
  }

  private setHighDemand(sku: string, state: SkuDemand, on: boolean, observed: number, threshold: number, at: number, cause: OffCause): void {
    state.highDemand = on;
    this.counters.highDemandOn += on ? 1 : -1;
    this.emit(sku, 'high_demand', on, observed, threshold, at, cause);
  }

  private setExhausted(sku: string, state: SkuDemand, on: boolean, observed: number | null, threshold: number | null, at: number, cause: OffCause): void {
    state.exhausted = on;
    this.counters.leadTimeExhaustedOn += on ? 1 : -1;
    this.emit(sku, 'lead_time_exhaustion', on, observed, threshold, at, cause);
  }

  private emit(sku: string, signal: DemandSignal, on: boolean, observed: number | null, threshold: number | null, at: number, cause: OffCause): void {
    if (on) {
      // Turning on needs both figures: a count and its level, or days left and the lead time.
      assert.ok(observed !== null && threshold !== null && cause === 'crossed', 'a signal turned on without its figures');
      this.changes.next({ sku, signal, on, observed, threshold, at, cause });
    } else {
      this.changes.next({ sku, signal, on, observed, threshold, at, cause });
    }
  }

  private velocityPerDay(state: SkuDemand): number {
    const w = WINDOW_INDEX[this.config.leadTimeExhaustion.velocityWindow];
    return state.rings[w].totals.saleUnits * (DAY_MS / WINDOWS[w].windowMs);
  }

  /**
   * The event's lead time, else the callback's. Both come from elsewhere: a throw or a nonsense
   * answer counts as "no lead time", and is counted.
   */
  private leadTimeOf(sku: string, state: SkuDemand | undefined): number | null {
    let days: unknown;
    if (state?.leadTimeDays !== undefined) {
      days = state.leadTimeDays;
    } else {
      if (!this.options.leadTimeDaysOf) return null;
      try {
        days = this.options.leadTimeDaysOf(sku);
      } catch {
        this.counters.leadTimeLookupFailures++;
        return null;
      }
    }
    if (days === null) return null;
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
      this.counters.leadTimeLookupFailures++;
      return null;
    }
    return days;
  }
}

/** Days until the available units are sold at this velocity; null when nothing sells. */
function timeToStockOut(available: number, velocityPerDay: number): number | null {
  if (velocityPerDay <= 0) return null;
  return Math.max(0, available) / velocityPerDay;
}
