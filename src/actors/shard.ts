// The shard runtime: the only place where SKU actors meet I/O. A shard owns a set of SKUs (by
// stable hash), runs each batch of commands to completion as one turn, appends the turn's events
// to its WAL in one transaction, and answers only after that transaction is flushed to disk.
//
// A broken invariant throws out of `execute`; the shard marks itself failed and answers nothing
// more. In a worker thread that ends the thread, and the engine restarts it: recovery replays the
// WAL, which never contains the transition that broke (it threw before the append).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { ShardConfig } from '../config.js';
import { errorBody } from '../errors.js';
import { snapshotOf, stateOf, type SkuSnapshot } from '../persistence/codec.js';
import { ShardStore, type WalPosition } from '../persistence/shard-store.js';
import { inPages, pagedSnapshotOf, pagesOf, type PageWrite } from '../persistence/snapshot-pages.js';
import type { Alert } from '../alerts/alert.js';
import { alertEvents, type AlertSignal } from './alerts.js';
import { ExpiryHeap } from './expiry-heap.js';
import { retireKeyArena } from './key-arena.js';
import { openCount, openReservation, openReservations as openReservationsOf } from './open-holds.js';
import { beginRecovery, endRecovery } from './recovery-pretenuring.js';
import { searchSkus, type SkuSearchPage, type SkuSearchQuery } from './sku-search.js';
import { availableAt } from './levels.js';
import { StockSeries } from './stock-series.js';
import type { AvailabilityChange, DemandEvent } from './messages.js';
import { shardOf } from './placement.js';
import { assertSharedAllocationsIntact } from './shared-allocations.js';
import {
  assertInvariants,
  assertInvariantsFull,
  decide,
  emptySku,
  evolve,
  foldHistory,
  forgetExpiredIdempotency,
  indexIdempotency,
  keysHeld,
  hiddenFrom,
  otherChannel,
  react,
  replayEvent,
  replayedAnswer,
  reservationOfEvent,
  skuView,
  totalAvailable,
  type IdempotentReplay,
  skuOfCommand,
  type Limits,
  type SkuState,
} from './sku.js';
import type {
  Command,
  ExpireCommand,
  CommitCommand,
  EvaluateAlertsCommand,
  GetReservationCommand,
  GetReservationHistoryCommand,
  ReleaseCommand,
  ReserveCommand,
  Reply,
  ReplyValue,
  SkuEvent,
} from './types.js';
import { oversizeBatch, validateCommand } from './validate.js';

export interface ShardOptions {
  shardId: number;
  shardCount: number;
  dataDir: string;
  limits: Limits;
  shard: ShardConfig;
  /** Epoch milliseconds; tests inject a fake clock. */
  clock?: () => number;
  /** Arm real timers for hold expiry and checkpoints (tests with a fake clock turn them off). */
  timers?: boolean;
  /** Told how far WAL replay has got (records replayed of those after the checkpoint). */
  onRecoveryProgress?: (done: number, total: number) => void;
}

/** WAL records replayed between two progress reports during recovery. */
const RECOVERY_PROGRESS_RECORDS = 50_000;

export interface RecoveryStats {
  shardId: number;
  checkpointSeq: number;
  skus: number;
  records: number;
  /** Events replayed: those of the records, less `eventsSkipped`. */
  events: number;
  /** Events of SKUs checkpointed on their own after the shard's checkpoint, which their snapshots hold already. */
  eventsSkipped: number;
  openReservations: number;
  /** Replay, invariant checks and expiry heap. */
  ms: number;
  /** The checkpoint of what replay changed, written before the first command (0: nothing replayed). */
  checkpointMs: number;
}

export interface ShardStats {
  shardId: number;
  skus: number;
  walSeq: number;
  /** Batches received (one per cross-thread message from the engine). */
  batches: number;
  /** Turns run: batches that waited for a flush share one. */
  turns: number;
  commands: number;
  checkpoints: number;
  /** Checkpoints of paged SKUs on their own (shard.checkpointSkuPagesMax), besides the shard's. */
  skuCheckpoints: number;
  lastCheckpointSeq: number;
  /** The shard worker's own heap; absent for a shard run in the caller's thread (tests, benchmarks). */
  heap?: ShardHeap;
}

export interface ShardHeap {
  /** V8 heap in use, garbage not yet collected included. */
  usedBytes: number;
  /** The young generation the worker was started with (shard.youngGenerationMb). */
  youngGenerationMb: number;
}

/** What one turn has decided so far: its events and where each reservation's events are. */
interface Turn {
  now: number;
  /** The WAL record the turn writes, if it decides any event. */
  seq: number;
  /** Events decided so far, each written to the turn's WAL record as it is decided (see `apply`). */
  eventCount: number;
  /** Commands in the turn: room for about as many events is made when the record starts. */
  commandCount: number;
  /** Reservations the turn ended, and which event of the turn's record ends each (the history index). */
  historyIds: string[];
  historyIndexes: number[];
  watchedChanged: Set<string> | null;
  /** Paged SKUs with shard.checkpointSkuPagesMax pages changed: checkpointed on their own in this turn. */
  pagesDue: SkuState[] | null;
  /** One event per SKU and kind: a flash sale's thousands of attempts on a SKU cross as one. */
  demand: DemandEvent[];
  /** Each demand event's SKU, so the turn's end reads its availability without a lookup by name. */
  demandStates: SkuState[];
  /** The turn's demand events by SKU, a Map per kind (a key of kind and SKU was a string made per reserve). */
  attemptsBySku: Map<string, DemandEvent> | null;
  salesBySku: Map<string, DemandEvent> | null;
  /** Alert notices decided this turn: they go to the outbox in the turn's transaction. */
  notices: Alert[];
}

/** Commands the runtime makes for itself; never accepted from callers. */
type InternalCommand = ExpireCommand | EvaluateAlertsCommand;

/** One caller's batch, waiting for its turn or in it. */
interface Batch {
  commands: readonly (Command | InternalCommand)[];
  /** The runtime's own commands, which skip caller validation. */
  internal: boolean;
  resolve?: (replies: Reply[]) => void;
  reject?: (err: Error) => void;
}

/** What a durable turn reports to the host. */
export interface DurableReport {
  /** Watched SKUs the turn changed. */
  changes: AvailabilityChange[];
  /** How long the turn's flush took; null when it wrote nothing. */
  flushMs: number | null;
  demand: DemandEvent[];
  /** Alert notices now in the outbox, to publish. */
  alerts: Alert[];
}

/** The alert signal a command carries, if any. */
function alertSignalOf(command: Command | InternalCommand): AlertSignal | null {
  if (command.type === 'demandSignal') {
    return { kind: 'demand', signal: command.signal, on: command.on, observed: command.observed, threshold: command.threshold };
  }
  if (command.type === 'reportFulfilmentFailure') {
    return { kind: 'fulfilmentFailed', location: command.location ?? null, orderId: command.orderId, reason: command.reason };
  }
  return null;
}

/** Count a sale or a reservation attempt into the turn's demand event for that SKU and kind. */
function addDemand(turn: Turn, state: SkuState, kind: DemandEvent['kind'], quantity: number, at: number): void {
  const sku = state.sku;
  const bySku = kind === 'sale' ? (turn.salesBySku ??= new Map()) : (turn.attemptsBySku ??= new Map());
  const found = bySku.get(sku);
  if (found) {
    found.quantity += quantity;
    found.count! += 1;
    return;
  }
  const event: DemandEvent = { sku, kind, quantity, count: 1, available: 0, leadTimeDays: null, at };
  bySku.set(sku, event);
  turn.demand.push(event);
  turn.demandStates.push(state);
}

/** Record the SKU's levels in its stock-over-time series (no allocation within an interval). */
function recordLevels(series: StockSeries, state: SkuState, at: number): void {
  // levelsOf's sums, without its object: this runs on every change.
  let onHand = 0;
  let reserved = 0;
  let available = 0;
  for (const loc of state.locations) {
    onHand += loc.onHand;
    reserved += loc.reserved;
    available += availableAt(loc);
  }
  series.record(state, at, onHand, reserved, available);
}

function availabilityOf(state: SkuState, at: number): AvailabilityChange {
  const view = skuView(state);
  return { sku: view.sku, onHand: view.onHand, reserved: view.reserved, available: view.available, pending: view.pending, at };
}

/**
 * A command answered from LMDB after the turn's flush (see `turn`). `latest`: where the
 * reservation's latest event was when the command ran, if it was open then; an ended one's is in
 * the history index.
 */
type StoreRead =
  | { read: 'history'; latest: WalPosition | null }
  | { read: 'ended' }
  | { read: 'replay'; replay: IdempotentReplay; latest: WalPosition | null };

/** Longest setTimeout delay Node accepts. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export class Shard {
  readonly skus = new Map<string, SkuState>();
  private readonly expiry = new ExpiryHeap();
  /**
   * SKUs changed since the last checkpoint, each once (`SkuState.dirty`): a list and a flag, where
   * a Set of names cost a hash lookup on every command, and a table that grows all at once as a
   * sale over many SKUs touches them (docs/benchmarks.md, "Customers counted only where the limit
   * can bite"). A SKU checkpointed on its own since is unflagged and skipped.
   */
  private dirty: SkuState[] = [];
  private readonly series: StockSeries;
  private readonly clock: () => number;
  private seq = 0;
  private lastFlush: Promise<void> = Promise.resolve();
  /** Turns written whose flush has not landed yet (see `unflushedTurnsMax`). */
  private unflushedTurns = 0;
  /** Batches that arrived while the disk was busy, in arrival order. */
  private waiting: Required<Batch>[] = [];
  private recordsSinceCheckpoint = 0;
  private lastCheckpointSeq = 0;
  private batches = 0;
  private turns = 0;
  private commands = 0;
  private checkpoints = 0;
  private skuCheckpoints = 0;
  private failure: Error | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryTimerAt = Infinity;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private thresholdTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** SKUs someone watches live; their changes are reported after each flush. */
  private readonly watched = new Set<string>();
  /** Set by the host: what each durable turn changed, decided and reported. */
  onDurable: (report: DurableReport) => void = () => {};
  /**
   * Set by the host: how long each turn ran on this thread (a checkpoint it wrote and garbage
   * collection inside it included): the shard answers nothing else meanwhile.
   */
  onTurn: (ms: number) => void = () => {};
  /** Set by the host: how long each checkpoint took to write, in a turn or on its timer. */
  onCheckpoint: (ms: number) => void = () => {};
  /**
   * Set by the host: when the batches that waited for a flush run. By default at once, inside the
   * flush's callback — before the flushed turn's own answers, which reach their callers a few
   * microtasks later, can leave: on a hot SKU that merged turn holds up to `turnCommandsMax`
   * commands, and every answer of the turn before waited for it. A worker's host runs them right
   * after it has posted those answers (shard-worker.ts), so they cross to the gateway while the
   * next turn runs.
   */
  scheduleWaiting: (run: () => void) => void = (run) => run();
  private readonly runWaitingTurns = () => this.runWaiting();

  private constructor(
    private readonly options: ShardOptions,
    private readonly store: ShardStore,
  ) {
    this.clock = options.clock ?? Date.now;
    this.series = new StockSeries(options.shard.stockSeriesSkusMax, options.shard.stockSeriesPointsMax, options.shard.stockSeriesIntervalMs, options.shard.stockSeriesPointsTotalMax);
  }

  static directoryOf(dataDir: string, shardId: number): string {
    return join(dataDir, `shard-${shardId}`);
  }

  /** Open the shard's store, recover its state and check every invariant before taking commands. */
  static open(options: ShardOptions): { shard: Shard; recovery: RecoveryStats } {
    const store = ShardStore.open(Shard.directoryOf(options.dataDir, options.shardId));
    const shard = new Shard(options, store);
    // In a worker, the engine has turned pretenuring off for every shard's recovery.
    if (isMainThread) beginRecovery();
    let recovery: RecoveryStats;
    try {
      recovery = shard.recover();
    } finally {
      if (isMainThread) endRecovery();
    }
    // Recovery marked every replayed SKU changed. Snapshot them now, before the first command, so
    // that work is not one long turn in serving time and a crash soon after does not replay it all
    // again. The write is queued, not awaited: the first turn's flush comes after it anyway.
    if (recovery.records > 0) {
      const started = performance.now();
      shard.checkpointIfDirty();
      recovery.checkpointMs = performance.now() - started;
    }
    if (options.timers !== false) {
      shard.checkpointTimer = setInterval(() => shard.checkpointIfDirty(), options.shard.checkpointIntervalMs);
      shard.checkpointTimer.unref();
      if (options.shard.thresholdCheckIntervalMs > 0) {
        shard.thresholdTimer = setInterval(() => void shard.checkThresholds(), options.shard.thresholdCheckIntervalMs);
        shard.thresholdTimer.unref();
      }
      shard.armExpiryTimer();
    }
    return { shard, recovery };
  }

  private recover(): RecoveryStats {
    const started = performance.now();
    const { limits } = this.options;
    const checkpoint = this.store.readCheckpoint();
    for (const snapshot of this.store.snapshots()) this.skus.set(snapshot.sku, stateOf(snapshot));
    this.seq = checkpoint.seq;
    let records = 0;
    let events = 0;
    let eventsSkipped = 0;
    const progress = this.options.onRecoveryProgress;
    const total = progress ? Math.max(0, this.store.lastSeq() - checkpoint.seq) : 0;
    for (const record of this.store.recordsAfter(checkpoint.seq)) {
      if (record.seq !== this.seq + 1) assert.fail(`WAL gap before record ${record.seq}`);
      const list = record.events;
      for (let i = 0; i < list.length; i++) {
        const event = list[i];
        let state = this.skus.get(event.sku);
        // A SKU checkpointed on its own since the shard's checkpoint has this event already.
        if (state !== undefined && state.pages !== null && state.pages.seq >= record.seq) {
          eventsSkipped++;
          continue;
        }
        if (!state) this.skus.set(event.sku, (state = emptySku(event.sku)));
        const r = reservationOfEvent(state, event);
        replayEvent(state, event, limits);
        if (r) {
          r.walSeq = record.seq;
          r.walIndex = i;
          if (state.pages !== null) state.pages.holdChanged(r.arrival);
        }
        this.markDirty(state);
      }
      this.seq = record.seq;
      records++;
      events += list.length;
      if (progress && records % RECOVERY_PROGRESS_RECORDS === 0) progress(records, total);
    }
    progress?.(records, total);
    // Recovery's keys are only read from now on; logs made later start an arena of their own.
    retireKeyArena();
    let openReservations = 0;
    for (const state of this.skus.values()) {
      if (shardOf(state.sku, this.options.shardCount) !== this.options.shardId) assert.fail(`SKU ${state.sku} recovered on the wrong shard`);
      assertInvariantsFull(state);
      for (const r of openReservationsOf(state)) this.expiry.push(r.expiresAt, r.id);
      openReservations += openCount(state);
    }
    assertSharedAllocationsIntact();
    this.lastCheckpointSeq = checkpoint.seq;
    return {
      shardId: this.options.shardId,
      checkpointSeq: checkpoint.seq,
      skus: this.skus.size,
      records,
      events: events - eventsSkipped,
      eventsSkipped,
      openReservations,
      ms: performance.now() - started,
      checkpointMs: 0,
    };
  }

  /**
   * Run a batch as one turn. The returned promise resolves with one reply per command, in order,
   * once every change the turn made is durable. Queries wait for earlier writes to be durable too,
   * so nothing a caller reads can be lost in a crash.
   */
  execute(commands: readonly Command[]): Promise<Reply[]> {
    return this.run(commands, false);
  }

  /** `internal`: the runtime's own commands (expiry, threshold checks), which callers may not send. */
  private run(commands: readonly (Command | InternalCommand)[], internal = true): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    assert.ok(!this.closed, 'shard is closed');
    // Refused whole, before anything is decided: no partial batch is ever applied.
    const oversize = oversizeBatch(commands.length, this.options.shard.batchCommandsMax);
    if (oversize) return Promise.resolve(commands.map(() => ({ ok: false, error: oversize }) as Reply));
    this.batches++;
    // Each LMDB transaction is one fsync, and fsyncs do not overlap: a batch that arrives while
    // the disk is busy waits, and joins the others that wait, in the next turn.
    if (this.unflushedTurns >= this.options.shard.unflushedTurnsMax || this.waiting.length > 0) {
      return new Promise<Reply[]>((resolve, reject) => this.waiting.push({ commands, internal, resolve, reject }));
    }
    try {
      return this.turn([{ commands, internal }])[0];
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  /** The shard is broken: it stops its timers and refuses every batch still waiting. */
  private fail(err: Error): void {
    this.failure ??= err;
    this.stopTimers();
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.reject(this.failure);
  }

  /** A turn reached the disk: batches that waited for it get their turn, when the host says (`scheduleWaiting`). */
  private turnFlushed(): void {
    this.unflushedTurns--;
    if (this.waiting.length > 0) this.scheduleWaiting(this.runWaitingTurns);
  }

  /** Batches that waited run, merged into turns, while the disk has room for them; a no-op when none wait. */
  private runWaiting(): void {
    const { unflushedTurnsMax, turnCommandsMax } = this.options.shard;
    // A merged turn that writes nothing (queries only) leaves the disk idle: take the next ones too.
    while (!this.failure && this.waiting.length > 0 && this.unflushedTurns < unflushedTurnsMax) {
      let take = 1;
      let total = this.waiting[0].commands.length;
      while (take < this.waiting.length && total + this.waiting[take].commands.length <= turnCommandsMax) total += this.waiting[take++].commands.length;
      const batches = this.waiting.splice(0, take);
      let replies: Promise<Reply[]>[];
      try {
        replies = this.turn(batches);
      } catch (err) {
        // Its callers learn of it here; the batches still waiting, in `fail`.
        for (const b of batches) b.reject(err as Error);
        this.fail(err as Error);
        return;
      }
      for (let i = 0; i < batches.length; i++) replies[i].then(batches[i].resolve, batches[i].reject);
    }
  }

  watch(sku: string, on: boolean): void {
    if (on) this.watched.add(sku);
    else this.watched.delete(sku);
  }

  /** Run batches as one turn: one WAL record, one flush. Returns each batch's replies. */
  private turn(batches: readonly Batch[]): Promise<Reply[]>[] {
    const began = performance.now();
    try {
      return this.runTurn(batches);
    } finally {
      this.onTurn(performance.now() - began);
    }
  }

  private runTurn(batches: readonly Batch[]): Promise<Reply[]>[] {
    const now = this.clock();
    const seq = this.seq + 1;
    let commandCount = 0;
    for (const batch of batches) commandCount += batch.commands.length;
    const turn: Turn = { now, seq, eventCount: 0, commandCount, historyIds: [], historyIndexes: [], watchedChanged: null, pagesDue: null, demand: [], demandStates: [], attemptsBySku: null, salesBySku: null, notices: [] };
    const replies: Reply[][] = [];
    let storeReads: { batch: number; index: number; read: StoreRead }[] | null = null;
    this.expireDue(turn);
    for (let b = 0; b < batches.length; b++) {
      const { commands, internal } = batches[b];
      const out: Reply[] = new Array(commands.length);
      for (let i = 0; i < commands.length; i++) {
        const reply = this.one(commands[i], turn, internal);
        if ('ok' in reply) out[i] = reply;
        else (storeReads ??= []).push({ batch: b, index: i, read: reply });
      }
      replies.push(out);
    }
    // Available and lead time after the turn, filled in once rather than per event.
    for (let i = 0; i < turn.demand.length; i++) {
      const d = turn.demand[i];
      const state = turn.demandStates[i];
      d.available = totalAvailable(state);
      d.leadTimeDays = state.thresholds?.leadTimeDays ?? null;
    }
    this.turns++;
    this.commands += commandCount;
    let flushed = this.lastFlush;
    if (turn.eventCount > 0) {
      this.seq = seq;
      this.store.appendTurn(seq, this.store.codec.records.finish(), turn.historyIds, turn.historyIndexes);
      if (turn.notices.length > 0) this.store.putOutbox(turn.notices);
      this.recordsSinceCheckpoint++;
      if (this.recordsSinceCheckpoint >= this.options.shard.checkpointWalRecordsMax) this.checkpoint(now);
      else if (turn.pagesDue !== null) this.checkpointOnTheirOwn(turn.pagesDue, now);
      flushed = this.lastFlush = this.store.whenFlushed();
      this.unflushedTurns++;
      flushed.then(
        () => this.turnFlushed(),
        (err: Error) => this.fail(err),
      );
      this.armExpiryTimer();
      const started = performance.now();
      // Read now: by the time the flush lands, a later turn may have changed these SKUs.
      const changes: AvailabilityChange[] = [];
      if (turn.watchedChanged) for (const sku of turn.watchedChanged) changes.push(availabilityOf(this.skus.get(sku)!, now));
      const { demand, notices } = turn;
      void flushed.then(() => this.onDurable({ changes, flushMs: performance.now() - started, demand, alerts: notices }));
    } else if (turn.demand.length > 0) {
      // Refused attempts only: nothing to write, but they are demand all the same.
      const demand = turn.demand;
      void flushed.then(() => this.onDurable({ changes: [], flushMs: null, demand, alerts: [] }));
    }
    if (!storeReads) return replies.map((out) => flushed.then(() => out));
    // Reads of ended reservations, histories and first answers go to LMDB, which shows only
    // committed transactions: run them once this turn (and every earlier one) is flushed.
    const reads = storeReads;
    const afterReads = flushed.then(() => {
      for (const { batch, index, read } of reads) replies[batch][index] = this.readFromStore(batches[batch].commands[index] as Command, read);
    });
    return replies.map((out) => afterReads.then(() => out));
  }

  private one(command: Command | InternalCommand, turn: Turn, internal: boolean): Reply | StoreRead {
    const now = turn.now;
    if (!internal) {
      const invalid = validateCommand(command);
      if (invalid) return { ok: false, error: invalid };
    }
    const sku = skuOfCommand(command)!;
    if (shardOf(sku, this.options.shardCount) !== this.options.shardId) assert.fail(`command for ${sku} routed to the wrong shard`);
    if (command.type === 'getReservationHistory') return { read: 'history', latest: this.latestEventOf(sku, command.reservationId) };
    if (command.type === 'getStockSeries') {
      const state = this.skus.get(sku);
      return state ? { ok: true, value: this.series.view(state) } : { ok: false, error: errorBody('SKU_NOT_FOUND', undefined, { sku }) };
    }
    let state = this.skus.get(sku);
    if (state?.idemLog) indexIdempotency(state, this.options.limits);
    const decision = decide(state, command, now, this.options.limits);
    if (command.type === 'reserve' && state) addDemand(turn, state, 'attempt', command.quantity, now);
    if (!decision.ok) {
      if (command.type === 'getReservation' && decision.error.code === 'RESERVATION_NOT_ACTIVE') return { read: 'ended' };
      return decision;
    }
    if ('replay' in decision) return { read: 'replay', replay: decision.replay, latest: this.latestEventOf(sku, decision.replay.reservationId) };
    if ('cached' in decision) return { ok: true, value: decision.cached };
    const produced = decision.events;
    const signal = alertSignalOf(command);
    const evaluateOnly = signal !== null || command.type === 'evaluateAlerts';
    if (produced.length === 0 && (!evaluateOnly || !state)) return { ok: true, value: { sku, ok: true } };
    if (!state) this.skus.set(sku, (state = emptySku(sku)));
    const first: ReplyValue | null = produced.length > 0 ? this.apply(state, produced[0], turn) : null;
    for (let i = 1; i < produced.length; i++) this.apply(state, produced[i], turn);
    // A warehouse count below what is reserved: reserved stock went to sales elsewhere (alert).
    let shortfalls: string[] | null = null;
    if (command.type === 'setStock' || command.type === 'adjustStock') {
      for (const loc of state.locations) if (loc.reserved > loc.onHand) (shortfalls ??= []).push(loc.location);
    }
    // Settle: bump reservations a low count left uncovered, serve waiting requests freed units.
    let guard = openCount(state) * 2 + 16;
    for (let next = react(state, now); next; next = react(state, now)) {
      if (--guard <= 0) assert.fail(`SKU ${sku} does not settle`);
      this.apply(state, next, turn);
    }
    // Alerts see the settled state: one notice per episode edge, in this turn's transaction.
    const dropWindowMs = state.thresholds?.dropPercent !== undefined ? state.thresholds.dropWindowMs : undefined;
    const recentPeakAvailable = dropWindowMs !== undefined ? this.series.peakAvailableSince(state, now - dropWindowMs) : null;
    const alerting = alertEvents(state, now, { shortfalls, committed: command.type === 'commit', signal, recentPeakAvailable });
    for (let i = 0; i < alerting.length; i++) this.apply(state, alerting[i], turn);
    assertInvariants(state, true);
    if (this.options.shard.invariantsFullEveryTransition) {
      assertInvariantsFull(state);
      assertSharedAllocationsIntact();
    }
    this.markDirty(state);
    if (inPages(state, this.options.shard.checkpointPageEntries)) this.notePagesChanged(state, turn);
    recordLevels(this.series, state, now);
    if (this.watched.size > 0 && this.watched.has(sku)) (turn.watchedChanged ??= new Set()).add(sku);
    return { ok: true, value: first ?? { sku, ok: true } };
  }

  private apply(state: SkuState, event: SkuEvent, turn: Turn) {
    // Written to the WAL record first: evolve hands a placed reservation to the SKU, where it
    // changes later, and moves the reservation's latest event on from the one this event links
    // back to.
    const r = reservationOfEvent(state, event);
    const record = this.store.codec.records;
    if (turn.eventCount === 0) record.begin(turn.seq, turn.now, turn.commandCount);
    record.add(event, r ? r.walSeq : 0, r ? r.walIndex : 0);
    const reply = evolve(state, event, this.options.limits);
    assertInvariants(state, false);
    if (r) {
      r.walSeq = turn.seq;
      r.walIndex = turn.eventCount;
      // Its page of a paged snapshot changed (a placed hold's too: reservationOfEvent gives it).
      if (state.pages !== null) state.pages.holdChanged(r.arrival);
      if (r.state === 'ACTIVE' || r.state === 'PENDING') {
        this.expiry.push(r.expiresAt, r.id);
      } else {
        // Ended: from now on only the history index knows where its trail ends. An open
        // reservation needs no entry (its position is in memory and in its snapshot), so a
        // reserve writes no index key: one per event cost up to 38 % of the in-process shard's
        // time with many SKUs (docs/benchmarks.md, "History index only at a reservation's end").
        turn.historyIds.push(r.id);
        turn.historyIndexes.push(r.walIndex);
      }
    }
    if (event.type === 'AlertRaised' || event.type === 'AlertResolved') turn.notices.push(event.alert);
    if (event.type === 'ReservationCommitted') addDemand(turn, state, 'sale', r!.quantity, event.at);
    turn.eventCount++;
    return reply;
  }

  /** Holds and waits that ran out join the turn before its commands: expiry is never late. */
  private expireDue(turn: Turn): void {
    while (this.expiry.peekTime() <= turn.now) {
      const reservationId = this.expiry.pop();
      this.one({ type: 'expire', reservationId }, turn, true);
    }
  }

  /** A reservation's history, an ended reservation as its last line left it, or a first answer. */
  private readFromStore(command: Command, read: StoreRead): Reply {
    const reservationId = read.read === 'replay' ? read.replay.reservationId : (command as GetReservationCommand | GetReservationHistoryCommand).reservationId;
    let lines: ReturnType<ShardStore['eventsOf']>;
    try {
      lines = this.store.eventsOf(reservationId, read.read === 'ended' ? null : read.latest);
    } catch (err) {
      // Damage in the stored trail answers this command only, not the whole turn.
      return { ok: false, error: errorBody('INTERNAL', (err as Error).message, { reservationId }) };
    }
    const entries = foldHistory(lines);
    if (read.read === 'replay') return replayedAnswer(command as ReserveCommand | ReleaseCommand | CommitCommand, read.replay, entries);
    const query = command as GetReservationCommand | GetReservationHistoryCommand;
    if (entries.length === 0) return { ok: false, error: errorBody('RESERVATION_NOT_FOUND', undefined, { reservationId }) };
    if (hiddenFrom(query.asChannel, entries[0].reservation.channel)) return otherChannel(reservationId);
    if (read.read === 'history') return { ok: true, value: entries };
    return { ok: true, value: entries[entries.length - 1].reservation };
  }

  /** Where an open reservation's latest event is; null when it is not open (or not ours). */
  private latestEventOf(sku: string, reservationId: string): WalPosition | null {
    const r = openReservation(this.skus.get(sku), reservationId);
    return r && r.walSeq > 0 ? { seq: r.walSeq, index: r.walIndex } : null;
  }

  private armExpiryTimer(): void {
    if (this.options.timers === false || this.closed) return;
    const at = this.expiry.peekTime();
    if (at === Infinity || at >= this.expiryTimerAt) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimerAt = at;
    const delay = Math.min(Math.max(0, at - this.clock()), TIMER_DELAY_MS_MAX);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.expiryTimerAt = Infinity;
      if (this.failure || this.closed) return;
      // An empty turn: expiries only. Its replies are none; failures surface like any turn's.
      this.execute([]).catch((err: Error) => this.onBackgroundFailure(err));
      this.armExpiryTimer();
    }, delay);
    this.expiryTimer.unref();
  }

  /**
   * The scheduled batch check: evaluate every SKU with thresholds or alert episodes, a bounded
   * number per turn, because time-of-day minimums change with the clock and not with commands.
   */
  checkThresholds(): Promise<void> {
    if (this.failure || this.closed) return Promise.resolve();
    const skus: string[] = [];
    for (const state of this.skus.values()) if (state.thresholds || state.episodes) skus.push(state.sku);
    const perTurn = this.options.shard.thresholdCheckSkusPerTurnMax;
    let next = 0;
    return new Promise<void>((resolve) => {
      const step = () => {
        if (this.failure || this.closed || next >= skus.length) return resolve();
        const commands: EvaluateAlertsCommand[] = [];
        for (const end = Math.min(next + perTurn, skus.length); next < end; next++) commands.push({ type: 'evaluateAlerts', sku: skus[next] });
        const done = this.run(commands).catch((err: Error) => this.onBackgroundFailure(err));
        // The rest in later event-loop turns, so callers' commands get in between.
        if (next < skus.length) setImmediate(step);
        else void done.then(() => resolve());
      };
      step();
    });
  }

  /** This shard's part of a catalogue search (a read between turns: it sees every applied turn). */
  search(query: SkuSearchQuery): SkuSearchPage {
    return searchSkus(this.skus.values(), query);
  }

  /** Alert notices not yet confirmed by the publisher (after a restart: published again). */
  unconfirmedAlerts(): Alert[] {
    return this.store.outboxEntries(this.options.shard.outboxResendMax);
  }

  /** JetStream stored these notices: they leave the outbox. */
  alertsPublished(noticeIds: string[]): void {
    if (this.closed) return;
    this.store.removeOutbox(noticeIds);
  }

  /** Set by the host (the worker) to learn about failures outside of a caller's turn. */
  onBackgroundFailure: (err: Error) => void = (err) => {
    throw err;
  };

  /** Checkpoint every SKU changed since the last checkpoint: the timer's job (public for benchmarks). */
  checkpointIfDirty(): void {
    if (this.failure || this.closed || !this.changedSinceCheckpoint()) return;
    try {
      this.checkpoint(this.clock());
      this.lastFlush = this.store.whenFlushed();
    } catch (err) {
      this.failure = err as Error;
      this.onBackgroundFailure(err as Error);
    }
  }

  private markDirty(state: SkuState): void {
    if (state.dirty) return;
    state.dirty = true;
    this.dirty.push(state);
  }

  /**
   * Whether a checkpoint has anything to do: SKUs changed since the last one, or WAL records
   * written since, which SKUs checkpointed on their own already cover. The position must move on
   * for those too, or recovery would read (and skip) an ever longer WAL, and none of it be pruned.
   */
  private changedSinceCheckpoint(): boolean {
    return this.dirty.length > 0 || this.seq > this.lastCheckpointSeq;
  }

  /**
   * Snapshot every SKU changed since the last checkpoint, in the same transaction as the turn's
   * WAL record (same event-loop turn), then prune old WAL records the checkpoint covers.
   */
  private checkpoint(now: number): void {
    const began = performance.now();
    const pageWrites: PageWrite[] = [];
    const snapshots: SkuSnapshot[] = [];
    for (const state of this.dirty) if (state.dirty) snapshots.push(this.snapshotNow(state, now, pageWrites));
    this.store.writeCheckpoint({ seq: this.seq, at: now }, snapshots, pageWrites);
    const { walRetentionMs, walPruneRecordsPerCheckpointMax } = this.options.shard;
    if (walRetentionMs > 0) this.store.pruneWal(this.lastCheckpointSeq, now - walRetentionMs, walPruneRecordsPerCheckpointMax);
    this.dirty = [];
    this.recordsSinceCheckpoint = 0;
    this.lastCheckpointSeq = this.seq;
    this.checkpoints++;
    this.onCheckpoint(performance.now() - began);
  }

  /**
   * A paged SKU, or one that just outgrew a page, with shard.checkpointSkuPagesMax pages changed
   * is checkpointed on its own at the end of this turn: a SKU that outgrows a page is written in
   * pages at once, and from then on a few pages at a time, however fast it grows.
   */
  private notePagesChanged(state: SkuState, turn: Turn): void {
    const pages = pagesOf(state, this.options.shard.checkpointPageEntries);
    if (pages.due || pages.pagesChanged(state.keysRemembered, openCount(state), keysHeld(state)) < this.options.shard.checkpointSkuPagesMax) return;
    pages.due = true;
    (turn.pagesDue ??= []).push(state);
  }

  /**
   * Checkpoint paged SKUs on their own, as of the turn just written (in its transaction), so that
   * a hot SKU's checkpoint writes about shard.checkpointSkuPagesMax pages, not all it changed since
   * the shard's; the shard's checkpoint position stays where it is, and recovery skips these
   * SKUs' events up to this turn.
   */
  private checkpointOnTheirOwn(states: SkuState[], now: number): void {
    const began = performance.now();
    const pageWrites: PageWrite[] = [];
    const snapshots = states.map((state) => this.snapshotNow(state, now, pageWrites));
    this.store.writeSnapshots(snapshots, pageWrites);
    this.skuCheckpoints++;
    this.onCheckpoint(performance.now() - began);
  }

  /**
   * The SKU's snapshot as of the turn just written, its keys past their TTL forgotten first; a
   * paged SKU's changed pages go to `pageWrites`, and it is no longer due on its own. The SKU is
   * no longer changed since a checkpoint: the shard's next one skips it unless it changes again.
   */
  private snapshotNow(state: SkuState, now: number, pageWrites: PageWrite[]): SkuSnapshot {
    state.dirty = false;
    forgetExpiredIdempotency(state, now, this.options.limits);
    const entries = this.options.shard.checkpointPageEntries;
    if (!inPages(state, entries)) return snapshotOf(state);
    if (state.pages !== null) state.pages.due = false;
    return pagedSnapshotOf(state, entries, this.seq, pageWrites);
  }

  stats(): ShardStats {
    return {
      shardId: this.options.shardId,
      skus: this.skus.size,
      walSeq: this.seq,
      batches: this.batches,
      turns: this.turns,
      commands: this.commands,
      checkpoints: this.checkpoints,
      skuCheckpoints: this.skuCheckpoints,
      lastCheckpointSeq: this.lastCheckpointSeq,
    };
  }

  private stopTimers(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.thresholdTimer) clearInterval(this.thresholdTimer);
    this.expiryTimer = null;
    this.checkpointTimer = null;
    this.thresholdTimer = null;
  }

  /**
   * Resolves once every write queued so far is on disk, or could not be: what a process that stops
   * here leaves behind (tests simulating a crash in one process).
   */
  settled(): Promise<void> {
    return this.store.whenFlushed().catch(() => undefined);
  }

  /** Checkpoint (when healthy), flush and close. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Batches waiting for a flush are callers' work: they run (and reach the disk) first, here
    // if the host has not yet run them (`scheduleWaiting`).
    while (!this.failure && (this.waiting.length > 0 || this.unflushedTurns > 0)) {
      if (this.unflushedTurns === 0) this.runWaiting();
      await this.lastFlush;
    }
    this.stopTimers();
    if (!this.failure && this.changedSinceCheckpoint()) this.checkpoint(this.clock());
    this.closed = true;
    await this.store.close();
  }
}
