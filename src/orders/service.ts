// The order flow: a single writer on the main thread. Every change is decided by the pure
// lifecycle (lifecycle.ts) against the order as it is in memory at that instant, written to the
// order WAL with its outbox events in one LMDB transaction, and answered only once flushed.
//
// Effects on stock (reserve, commit, release) go to the engine first, with idempotency keys
// derived from the order, so a retry or a restart repeats them safely; a per-order lock keeps two
// calls on one order from interleaving their effects.
//
// Backorders wait in this service's own queue, not in the shard's PENDING queue: a backorder may
// wait weeks (the shard's queueTtlMs stops at 7 days), an order's lines on several SKUs must be
// filled all-or-nothing (a per-SKU PENDING line would sit on units while another line waits), and
// the queue must survive in this service's WAL next to the order it belongs to. The price: stock
// that returns is offered to the queue when the engine reports it, and a checkout arriving in
// that instant may take it first.

import type { Engine, EngineLogger } from '../actors/engine.js';
import type { AvailabilityChange } from '../actors/messages.js';
import type { ReservationView, SkuView } from '../actors/types.js';
import { errorBody, type ErrorBody } from '../errors.js';
import type { CanonicalOrder, OrderSink, PlaceOrderResult } from './canonical.js';
import { buildOrdersConfig, DAY_MS, type OrdersConfig } from './config.js';
import { decide, evolve, type OrderCommand } from './lifecycle.js';
import { filledText, reminderText, unavailableText } from './messages.js';
import { isClosed, newOrder, type Estimate, type Order, type OrderEvent } from './model.js';
import { availableAtFor, estimateFrom, expectedAvailability, mergeShipments, type PreorderSettings, type Shipment, type SkuOrderSettings } from './preorders.js';
import type { OrderEventPublisher } from './publisher.js';
import { accuracyReport, type AccuracyReport } from './accuracy.js';
import { Availability } from './availability.js';
import { OutboxRelay, outboxEntries } from './outbox.js';
import { SkuQueue } from './queue.js';
import { checkOrder, holdsPreorderCapacity, OrderRecoveryError } from './recovery.js';
import { OrderStore, outboxKey, type OrderChange } from './store.js';
import { checkCanonicalOrder, checkPreorderBody, checkSubstitutesBody, ORDER_ID_PATTERN } from './validation.js';

const SILENT: EngineLogger = { info() {}, error() {} };

/** Engine priority (0-9, higher first) of each customer tier. */
const TIER_PRIORITY = { vip: 9, standard: 1 } as const;

/** Reserve failures that mean "no stock for this line", as opposed to "try again". */
const STOCK_FAILURES = new Set(['INSUFFICIENT_STOCK', 'SKU_FLAGGED_OUT_OF_STOCK', 'SKU_NOT_FOUND', 'RESERVATION_LOST']);

const ROLLBACK_REASON = 'stockade:order-rollback';
const CANCEL_REASON = 'stockade:order-cancelled';

export interface OrderServiceOptions {
  engine: Engine;
  dataDir: string;
  config?: Readonly<OrdersConfig>;
  /** Null when NATS is off: events stay in the WAL only. */
  publisher?: OrderEventPublisher | null;
  clock?: () => number;
  log?: EngineLogger;
  /** Run the reminder check on a timer; tests turn it off and call checkReminders. */
  timers?: boolean;
}

export interface OrderView extends Order {
  /** Position in each SKU's queue (1 = next), while the order waits. */
  queuePositions: Record<string, number> | null;
  /** The worst of queuePositions. */
  queuePosition: number | null;
  /** The shipment a pre-order ships in, merged with the customer's others where they can. */
  shipmentId: string | null;
}

export type OrderAnswer = { ok: true; order: OrderView; replayed?: true } | { ok: false; error: ErrorBody };

export interface PreorderQueueEntry {
  orderId: string;
  channel: string;
  customerId: string;
  position: number;
  quantity: number;
  paused: boolean;
  estimate: Estimate | null;
}


type FillOutcome = { ok: true; reservationIds: string[] } | { ok: false; failures: { line: number; code: string }[]; transient: ErrorBody | null };

export class OrderService implements OrderSink {
  private readonly open = new Map<string, Order>();
  private readonly settings = new Map<string, SkuOrderSettings>();
  /** Orders waiting (backorder or pre-order) per SKU; a SKU is watched in the engine while it has one. */
  private readonly queued = new Map<string, SkuQueue>();
  /** Open pre-orders per customer id, for the merge rules. */
  private readonly preordersByCustomer = new Map<string, Set<string>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** SKUs whose stock returned, with the last reported available units, waiting for a fill pass. */
  private readonly fillDue = new Map<string, number>();
  /** SKUs that blocked the last fill attempt of a waiting order; it is retried when one of them returns. */
  private readonly blockedOn = new Map<string, Set<string>>();
  private filling = false;
  private readonly listeners: ((order: Order, events: readonly OrderEvent[]) => void)[] = [];
  private orderNo: number;
  private queueSeq: number;
  /** Null when there is no publisher: events then stay in the WAL only, and no outbox is kept. */
  private readonly relay: OutboxRelay | null;
  private reminderTimer: NodeJS.Timeout | null = null;
  /** Prefixes every engine idempotency key this store derives (see OrderStore.instanceId). */
  private readonly keyPrefix: string;
  /** Makes fill-attempt idempotency keys unique to this process run. */
  private readonly bootId: string;
  private fillAttempts = 0;
  private closed = false;
  private readonly engine: Engine;
  private readonly config: Readonly<OrdersConfig>;
  private readonly publisher: OrderEventPublisher | null;
  private readonly now: () => number;
  private readonly log: EngineLogger;
  private readonly availability: Availability;

  private constructor(
    private readonly store: OrderStore,
    options: OrderServiceOptions,
  ) {
    this.engine = options.engine;
    this.config = options.config ?? buildOrdersConfig();
    this.publisher = options.publisher ?? null;
    this.now = options.clock ?? Date.now;
    this.log = options.log ?? SILENT;
    this.orderNo = store.counter('orderNo');
    this.queueSeq = store.counter('queueSeq');
    this.keyPrefix = store.instanceId();
    this.relay = this.publisher ? new OutboxRelay(store, this.publisher, this.config.outboxRetryIntervalMs, this.log) : null;
    this.bootId = Date.now().toString(36);
    this.availability = new Availability(this.engine, this.config, (sku) => this.settings.get(sku));
  }

  /** Open the store, check its invariants, resume what a crash interrupted, publish the outbox. */
  static async open(options: OrderServiceOptions): Promise<OrderService> {
    const store = OrderStore.open(options.dataDir);
    const service = new OrderService(store, options);
    try {
      service.recover();
    } catch (err) {
      await store.close();
      throw err;
    }
    service.engine.observe({ availabilityChanged: (changes) => service.onAvailability(changes) });
    // Placements that crashed between RECEIVED and their outcome: the same keys replay the engine's answers.
    const interrupted = [...service.open.values()].filter((o) => o.state === 'RECEIVED' && o.hold === null && !o.preOrder);
    await Promise.all(interrupted.map((o) => service.locked(o.id, () => service.reserveAtPlacement(o.id))));
    service.relay?.drain();
    for (const sku of service.queued.keys()) void service.offerStockIfAvailable(sku);
    if (options.timers !== false) {
      service.reminderTimer = setInterval(() => void service.checkReminders(), service.config.reminderCheckIntervalMs);
      service.reminderTimer.unref();
    }
    return service;
  }

  // ---- recovery ---------------------------------------------------------------------------

  private recover(): void {
    const units = new Map<string, number>();
    const seqs = new Set<number>();
    let maxNo = 0;
    for (const order of this.store.allOrders()) {
      checkOrder(order);
      maxNo = Math.max(maxNo, parseInt(order.id.slice(4), 36));
      if (order.queue) {
        if (seqs.has(order.queue.seq)) throw new OrderRecoveryError(`queue seq ${order.queue.seq} appears twice`);
        seqs.add(order.queue.seq);
        if (order.queue.seq > this.queueSeq) throw new OrderRecoveryError(`queue seq ${order.queue.seq} beyond the counter ${this.queueSeq}`);
      }
      if (holdsPreorderCapacity(order)) for (const line of order.lines) units.set(line.sku, (units.get(line.sku) ?? 0) + line.quantity);
      if (!isClosed(order.state)) {
        if (this.open.size >= this.config.openOrdersMax) throw new OrderRecoveryError(`more open orders than openOrdersMax (${this.config.openOrdersMax})`);
        this.open.set(order.id, order);
        this.index(null, order);
      }
    }
    if (maxNo > this.orderNo) throw new OrderRecoveryError(`order number ${maxNo} beyond the counter ${this.orderNo}`);
    for (const s of this.store.allSettings()) {
      const taken = units.get(s.sku) ?? 0;
      if (s.preorderUnits !== taken) throw new OrderRecoveryError(`SKU ${s.sku} counts ${s.preorderUnits} pre-ordered units, its orders ${taken}`);
      if (s.preorder && s.preorderUnits > s.preorder.capacity) throw new OrderRecoveryError(`SKU ${s.sku} holds more pre-orders than its capacity`);
      this.settings.set(s.sku, s);
      units.delete(s.sku);
    }
    if (units.size > 0) throw new OrderRecoveryError(`pre-orders for SKUs without settings: ${[...units.keys()].join(', ')}`);
    const last = this.store.lastRecord();
    if (last) {
      for (const [orderId, version] of last.orders) {
        const stored = this.store.orders.get(orderId);
        if (!stored || stored.version !== version) throw new OrderRecoveryError(`the last WAL record left ${orderId} at version ${version}, the store holds ${stored?.version}`);
      }
    }
    let outboxed = 0;
    for (const { entry } of this.store.pendingOutbox()) {
      const [orderId, version] = splitEventId(entry.id);
      const stored = this.store.orders.get(orderId);
      if (!stored || stored.version < version) throw new OrderRecoveryError(`outbox event ${entry.id} is ahead of its order`);
      outboxed++;
    }
    this.relay?.recovered(outboxed);
  }

  // ---- entry points -------------------------------------------------------------------------

  /** OrderSink: the channel-order consumer's entry point (channels are trusted by subject). */
  async placeOrder(order: CanonicalOrder): Promise<PlaceOrderResult> {
    const answer = await this.place(order);
    if (!answer.ok) return answer;
    const result: PlaceOrderResult = { ok: true, orderId: answer.order.id, state: answer.order.state };
    if (answer.replayed) result.replayed = true;
    return result;
  }

  /**
   * Place an order: idempotent on (channel, account, externalId). `asChannel` is the caller's
   * channel when its key is bound to one: it may place that channel's orders only.
   */
  async place(input: unknown, asChannel: string | null = null): Promise<OrderAnswer> {
    const checked = checkCanonicalOrder(input);
    if (!checked.ok) return checked;
    const canonical = checked.value;
    if (asChannel !== null && canonical.channel !== asChannel) {
      return { ok: false, error: errorBody('FORBIDDEN', `a ${asChannel} key may place ${asChannel} orders only`, { channel: canonical.channel }) };
    }
    if (canonical.lines.length > this.config.linesPerOrderMax) {
      return { ok: false, error: errorBody('VALIDATION_FAILED', `an order has at most linesPerOrderMax (${this.config.linesPerOrderMax}) lines`, { field: 'lines' }) };
    }
    if (new Set(canonical.lines.map((l) => l.lineId)).size !== canonical.lines.length) {
      return { ok: false, error: errorBody('VALIDATION_FAILED', 'line ids must be unique within the order', { field: 'lines' }) };
    }
    const externalKey = OrderStore.externalKey(canonical.channel, canonical.account, canonical.externalId);
    return this.locked(`x:${externalKey}`, async () => {
      const existingId = this.store.orderIdOf(externalKey);
      if (existingId !== undefined) {
        const existing = this.orderOf(existingId)!;
        // A retry of a placement the engine could not serve then (OVERLOADED …) tries again.
        if (existing.state === 'RECEIVED' && existing.hold === null && !existing.preOrder) {
          const answer = await this.locked(existing.id, () => this.reserveAtPlacement(existing.id));
          return answer.ok ? { ...answer, replayed: true } : answer;
        }
        return { ok: true, order: this.view(existing), replayed: true };
      }
      if (this.open.size >= this.config.openOrdersMax) return limit('openOrdersMax', this.config.openOrdersMax);
      const now = this.now();
      const order = newOrder(`ord-${(this.orderNo + 1).toString(36).padStart(8, '0')}`, canonical, now);
      if (order.preOrder) return this.placePreorder(order, externalKey);
      const written = this.commit([{ id: order.id, commands: [{ type: 'receive', order }] }], {
        externalKeys: [[externalKey, order.id]],
        counters: [['orderNo', ++this.orderNo]],
      });
      if (!written.ok) return written;
      await written.flushed;
      return this.locked(order.id, () => this.reserveAtPlacement(order.id));
    });
  }

  get(orderId: string, asChannel: string | null = null): OrderAnswer {
    const order = this.scoped(orderId, asChannel);
    return 'code' in order ? { ok: false, error: order } : { ok: true, order: this.view(order) };
  }

  /** Capture the payment: refused with ORDER_ON_HOLD while a line's stock is out, flagged or lost. */
  confirm(orderId: string, asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, async (order) => {
      if (order.state === 'RESERVED') {
        const problems = await this.availability.checkReservedLines(order, this.now());
        if (problems.length > 0) {
          const hold = { since: this.now(), lines: problems };
          const written = this.commit([{ id: order.id, commands: [{ type: 'hold', hold }] }]);
          if (!written.ok) return written;
          await written.flushed;
          return { ok: false, error: errorBody('ORDER_ON_HOLD', undefined, { orderId: order.id, lines: problems }) };
        }
        return this.change(order.id, [{ type: 'clearHold' }, { type: 'confirm' }]);
      }
      return this.change(order.id, [{ type: 'confirm' }]);
    });
  }

  /** Ship: every reservation of the order is committed, then the order is SHIPPED. */
  ship(orderId: string, asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, async (order) => {
      const dry = decide(order, { type: 'ship' }, this.now());
      if (!dry.ok || dry.events.length === 0) return this.change(order.id, [{ type: 'ship' }]);
      const replies = await Promise.all(
        order.reservationIds.map((reservationId, i) => this.engine.execute({ type: 'commit', reservationId, idempotencyKey: `${this.keyPrefix}.${order.id}.s.l${i}` })),
      );
      const failed = replies.findIndex((r) => !r.ok);
      if (failed >= 0) {
        // Lines already committed stay committed (a commit cannot be undone); a retry commits the rest.
        const error = (replies[failed] as { ok: false; error: ErrorBody }).error;
        return { ok: false, error: { ...error, details: { orderId: order.id, line: failed, cause: error.details ?? null } } };
      }
      return this.change(order.id, [{ type: 'ship' }]);
    });
  }

  /** Cancel: the order's reservations are released, a pre-order's capacity is freed. */
  cancel(orderId: string, reason = 'cancelled', asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, async (order) => {
      const dry = decide(order, { type: 'cancel', reason }, this.now());
      if (!dry.ok || dry.events.length === 0) return this.change(order.id, [{ type: 'cancel', reason }]);
      const released = await this.releaseAll(order, `${this.keyPrefix}.${order.id}.c${order.version}`, CANCEL_REASON);
      if (released) return { ok: false, error: released };
      const answer = await this.change(order.id, [{ type: 'cancel', reason }]);
      if (answer.ok && order.queue?.kind === 'preorder') {
        // The pre-orders behind it moved up: their estimates follow (advisory, a transaction of its own).
        const written = this.commit(this.reestimateSteps(new Set(order.lines.map((l) => l.sku)), this.now(), true));
        if (written.ok) await written.flushed;
      }
      return answer;
    });
  }

  /** Turn a held or cancelled order into a backorder, filled in order when stock returns. */
  backorder(orderId: string, asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, async (order) => {
      const now = this.now();
      const command = { type: 'backorder', seq: this.queueSeq + 1, priority: TIER_PRIORITY[order.customer.tier], estimate: this.backorderEstimate(order, now) } as const;
      const dry = decide(order, command, now);
      if (!dry.ok || dry.events.length === 0) return this.change(order.id, [command]);
      const full = this.queueFull(order);
      if (full) return { ok: false, error: full };
      if (order.reservationIds.length > 0) {
        const released = await this.releaseAll(order, `${this.keyPrefix}.${order.id}.b${order.version}`, ROLLBACK_REASON);
        if (released) return { ok: false, error: released };
      }
      const again = this.queueFull(this.orderOf(order.id)!);
      if (again) return { ok: false, error: again };
      const answer = await this.change(order.id, [{ ...command, seq: ++this.queueSeq }], { counters: [['queueSeq', this.queueSeq]] });
      if (answer.ok) for (const line of order.lines) void this.offerStockIfAvailable(line.sku);
      return answer;
    });
  }

  /** Pause a waiting order: it keeps its queue position but is not filled until resumed. */
  pause(orderId: string, asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, (order) => this.change(order.id, [{ type: 'pause' }]));
  }

  resume(orderId: string, asChannel: string | null = null): Promise<OrderAnswer> {
    return this.onOrder(orderId, asChannel, async (order) => {
      const answer = await this.change(order.id, [{ type: 'resume' }]);
      if (answer.ok) for (const line of order.lines) void this.offerStockIfAvailable(line.sku);
      return answer;
    });
  }

  // ---- SKU settings -------------------------------------------------------------------------

  /** Pre-order settings of a SKU; every open pre-order and backorder of it is re-estimated. */
  async setPreorder(sku: string, body: unknown): Promise<{ ok: true; value: SkuOrderSettings & { reestimated: number } } | { ok: false; error: ErrorBody }> {
    const checked = checkPreorderBody(body);
    if (!checked.ok) return checked;
    const b = checked.value;
    const schedule = (b.schedule ?? []).map((e) => ({ at: Date.parse(e.at), quantity: e.quantity })).sort((x, y) => x.at - y.at);
    if (schedule.length > this.config.scheduleEntriesPerSkuMax) {
      return { ok: false, error: errorBody('VALIDATION_FAILED', `a schedule holds at most scheduleEntriesPerSkuMax (${this.config.scheduleEntriesPerSkuMax}) entries`, { field: 'schedule' }) };
    }
    const current = this.settingsOf(sku);
    if (b.capacity < current.preorderUnits) {
      return { ok: false, error: errorBody('VALIDATION_FAILED', `capacity ${b.capacity} is below the ${current.preorderUnits} units already pre-ordered`, { field: 'capacity' }) };
    }
    if (!this.settings.has(sku) && this.settings.size >= this.config.skuSettingsMax) return limit('skuSettingsMax', this.config.skuSettingsMax);
    const now = this.now();
    const preorder: PreorderSettings = { enabled: b.enabled, capacity: b.capacity, schedule, leadTimeDays: b.leadTimeDays ?? null, updatedAt: now };
    const next: SkuOrderSettings = { ...current, preorder };
    this.settings.set(sku, next);
    // Re-estimate with the new settings in place; one transaction holds the settings and every change.
    const written = this.commit(this.reestimateSteps([sku], now, false), { settings: [next] });
    if (!written.ok) {
      this.settings.set(sku, current);
      return written;
    }
    await written.flushed;
    void this.offerStockIfAvailable(sku);
    return { ok: true, value: { ...next, reestimated: written.changed } };
  }

  async setSubstitutes(sku: string, body: unknown): Promise<{ ok: true; value: SkuOrderSettings } | { ok: false; error: ErrorBody }> {
    const checked = checkSubstitutesBody(body);
    if (!checked.ok) return checked;
    const list = checked.value.substitutes;
    if (list.length > this.config.substitutesPerSkuMax) {
      return { ok: false, error: errorBody('VALIDATION_FAILED', `at most substitutesPerSkuMax (${this.config.substitutesPerSkuMax}) substitutes`, { field: 'substitutes' }) };
    }
    if (list.includes(sku)) return { ok: false, error: errorBody('VALIDATION_FAILED', 'a SKU is not its own substitute', { field: 'substitutes' }) };
    if (!this.settings.has(sku) && this.settings.size >= this.config.skuSettingsMax) return limit('skuSettingsMax', this.config.skuSettingsMax);
    const next: SkuOrderSettings = { ...this.settingsOf(sku), substitutes: list };
    this.settings.set(sku, next);
    const written = this.commit([], { settings: [next] });
    if (!written.ok) return written;
    await written.flushed;
    return { ok: true, value: next };
  }

  skuSettings(sku: string): SkuOrderSettings {
    return this.settingsOf(sku);
  }

  /** The pre-order queue of a SKU, in order. */
  preordersOf(sku: string): PreorderQueueEntry[] {
    return this.queueOf(sku)
      .filter((o) => o.queue!.kind === 'preorder')
      .map((o, i) => ({
        orderId: o.id,
        channel: o.channel,
        customerId: o.customer.id,
        position: i + 1,
        quantity: unitsOn(o, sku),
        paused: o.queue!.paused,
        estimate: o.estimate,
      }));
  }

  /** A customer's open pre-orders (of one channel, when given) grouped into shipments by the merge rules. */
  shipmentsOf(customerId: string, channel: string | null = null): Shipment[] {
    const ids = this.preordersByCustomer.get(customerId);
    if (!ids) return [];
    const orders = [...ids].map((id) => this.open.get(id)!).filter((o) => channel === null || o.channel === channel);
    return mergeShipments(orders, this.config.mergeWindowDays * DAY_MS);
  }

  // ---- reminders, accuracy --------------------------------------------------------------------

  /**
   * Send the pre-order reminders now due. The "sent" mark is part of the reminder's own event, in
   * the same transaction as its outbox entry: it goes out once, across restarts. A check that
   * finds several intervals due (the service was down) sends one message covering them.
   */
  async checkReminders(): Promise<number> {
    if (this.closed) return 0;
    const now = this.now();
    const steps: { id: string; commands: OrderCommand[] }[] = [];
    for (const order of this.open.values()) {
      if (order.state !== 'PRE_ORDER' || order.queue!.paused || order.estimate === null) continue;
      const at = order.estimate.availableAt;
      if (now >= at) continue;
      const due = this.config.reminderDaysBefore.filter((d) => !order.remindersSent.includes(d) && now >= at - d * DAY_MS);
      if (due.length === 0) continue;
      steps.push({ id: order.id, commands: [{ type: 'remind', due, text: reminderText(order, at, Math.ceil((at - now) / DAY_MS)) }] });
    }
    if (steps.length === 0) return 0;
    const written = this.commit(steps);
    if (!written.ok) {
      this.log.error({ code: written.error.code }, 'pre-order reminders not written; retried at the next check');
      return 0;
    }
    await written.flushed;
    return written.changed;
  }

  /** Estimated against actual availability of every filled backorder and pre-order. */
  accuracyReport(): AccuracyReport {
    return accuracyReport(this.store.allOrders(), this.config.accuracyTargetPercent);
  }

  /** Hear every change once it is durable (metrics, live views, tests waiting for a fill). */
  onChange(listener: (order: Order, events: readonly OrderEvent[]) => void): void {
    this.listeners.push(listener);
  }

  get outboxPending(): number {
    return this.relay?.size ?? 0;
  }

  /** Resolves once JetStream has confirmed every event written so far (a drain before shutdown). */
  whenOutboxEmpty(): Promise<void> {
    return this.relay?.whenEmpty() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reminderTimer) clearInterval(this.reminderTimer);
    this.relay?.close();
    await Promise.allSettled([...this.locks.values()]);
    for (const sku of this.queued.keys()) this.engine.watch(sku, false);
    await this.store.close();
  }

  // ---- placement ------------------------------------------------------------------------------

  private async reserveAtPlacement(orderId: string): Promise<OrderAnswer> {
    const order = this.orderOf(orderId)!;
    const outcome = await this.reserveLines(order, (i) => `${this.keyPrefix}.${order.id}.p.l${i}`);
    if (outcome.ok) return this.change(order.id, [{ type: 'reserve', reservationIds: outcome.reservationIds, via: 'placement' }]);
    if (outcome.transient) return { ok: false, error: { ...outcome.transient, details: { orderId: order.id, state: order.state, cause: outcome.transient.details ?? null } } };
    const now = this.now();
    const lines = await this.availability.availabilityOf(order, outcome.failures, now);
    const policy = this.availability.policyFor(order, lines);
    const commands: OrderCommand[] = [{ type: 'hold', hold: { since: now, lines } }];
    const counters: [string, number][] = [];
    let outcomeName: 'held' | 'backordered' | 'cancelled' = 'held';
    if (policy === 'backorder' && !this.queueFull(order)) {
      commands.push({ type: 'backorder', seq: ++this.queueSeq, priority: TIER_PRIORITY[order.customer.tier], estimate: this.backorderEstimate(order, now) });
      counters.push(['queueSeq', this.queueSeq]);
      outcomeName = 'backordered';
    } else if (policy === 'cancel') {
      commands.push({ type: 'cancel', reason: 'out-of-stock' });
      outcomeName = 'cancelled';
    }
    commands.push({ type: 'notify', kind: 'unavailable', text: unavailableText(order, lines, outcomeName), lines });
    return this.change(order.id, commands, { counters });
  }

  private placePreorder(order: Order, externalKey: string): Promise<OrderAnswer> {
    const now = this.now();
    const bySku = new Map<string, number>();
    for (const line of order.lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
    const updated: SkuOrderSettings[] = [];
    for (const [sku, quantity] of bySku) {
      const s = this.settings.get(sku);
      if (!s?.preorder?.enabled) return Promise.resolve({ ok: false, error: errorBody('PREORDER_NOT_OFFERED', undefined, { sku }) });
      const remaining = s.preorder.capacity - s.preorderUnits;
      if (quantity > remaining) {
        return Promise.resolve({ ok: false, error: errorBody('PREORDER_CAPACITY_EXHAUSTED', undefined, { sku, capacity: s.preorder.capacity, remaining }) });
      }
      updated.push({ ...s, preorderUnits: s.preorderUnits + quantity });
    }
    const full = this.queueFull(order);
    if (full) return Promise.resolve({ ok: false, error: full });
    const seq = this.queueSeq + 1;
    // Not queued yet: everything already waiting on its SKUs counts as ahead of it.
    const estimate = this.estimateOf(order, now);
    // Intervals already past when the pre-order is placed are not sent late.
    const placed: Order = { ...order, remindersSent: this.config.reminderDaysBefore.filter((d) => now >= estimate.availableAt - d * DAY_MS) };
    const written = this.commit(
      [{ id: order.id, commands: [{ type: 'receive', order: placed }, { type: 'preorder', seq, priority: TIER_PRIORITY[order.customer.tier], estimate }] }],
      { externalKeys: [[externalKey, order.id]], counters: [['orderNo', this.orderNo + 1], ['queueSeq', seq]], settings: updated },
    );
    if (!written.ok) return Promise.resolve(written);
    this.orderNo++;
    this.queueSeq = seq;
    return written.flushed.then(() => {
      for (const sku of bySku.keys()) void this.offerStockIfAvailable(sku);
      return { ok: true, order: this.view(this.orderOf(order.id)!) };
    });
  }

  // ---- engine effects -------------------------------------------------------------------------

  /** Reserve every line, all or nothing: on any failure the lines held are released again. */
  private async reserveLines(order: Order, keyOf: (line: number) => string): Promise<FillOutcome> {
    const holdTtlMs = Math.min(this.config.reservationHoldTtlMs, this.engine.config.limits.holdTtlMsMax);
    const replies = await Promise.all(
      order.lines.map((line, i) =>
        this.engine.execute({
          type: 'reserve',
          sku: line.sku,
          quantity: line.quantity,
          idempotencyKey: keyOf(i),
          orderId: order.id,
          customerId: order.customer.id,
          channel: order.channel,
          priority: TIER_PRIORITY[order.customer.tier],
          holdTtlMs,
        }),
      ),
    );
    const reservationIds: string[] = [];
    const failures: { line: number; code: string }[] = [];
    let transient: ErrorBody | null = null;
    replies.forEach((reply, i) => {
      if (reply.ok && (reply.value as ReservationView).state === 'ACTIVE') reservationIds[i] = (reply.value as ReservationView).reservationId;
      else if (reply.ok) failures.push({ line: i, code: 'RESERVATION_LOST' }); // a replayed key whose reservation ended
      else {
        failures.push({ line: i, code: reply.error.code });
        if (!STOCK_FAILURES.has(reply.error.code)) transient ??= reply.error;
      }
    });
    if (failures.length === 0) return { ok: true, reservationIds };
    await Promise.all(
      reservationIds.map((reservationId, i) =>
        reservationId === undefined
          ? null
          : this.engine.execute({ type: 'release', reservationId, idempotencyKey: `${keyOf(i)}.rb`, reason: ROLLBACK_REASON }).then((r) => {
              if (!r.ok && r.error.code !== 'RESERVATION_NOT_ACTIVE') this.log.error({ orderId: order.id, reservationId, code: r.error.code }, 'rollback release failed; the hold expires by itself');
            }),
      ),
    );
    return { ok: false, failures, transient };
  }

  /** Release every reservation the order holds; an already ended one is fine. */
  private async releaseAll(order: Order, keyPrefix: string, reason: string): Promise<ErrorBody | null> {
    const replies = await Promise.all(
      order.reservationIds.map((reservationId, i) => this.engine.execute({ type: 'release', reservationId, idempotencyKey: `${keyPrefix}.l${i}`, reason })),
    );
    const failed = replies.find((r) => !r.ok && r.error.code !== 'RESERVATION_NOT_ACTIVE') as { ok: false; error: ErrorBody } | undefined;
    return failed ? { ...failed.error, details: { orderId: order.id, cause: failed.error.details ?? null } } : null;
  }

  // ---- filling waiting orders ---------------------------------------------------------------

  private onAvailability(changes: AvailabilityChange[]): void {
    for (const change of changes) {
      if (change.available > 0 && this.queued.has(change.sku)) this.fillDue.set(change.sku, change.available);
    }
    if (this.fillDue.size > 0 && !this.filling) this.startFilling();
  }

  /** Stock may already be there (a pre-order placed on a SKU in stock, a resumed order): ask. */
  private async offerStockIfAvailable(sku: string): Promise<void> {
    if (!this.queued.has(sku) || this.closed) return;
    const reply = await this.engine.execute({ type: 'getSku', sku });
    if (!reply.ok || (reply.value as SkuView).available <= 0 || !this.queued.has(sku)) return;
    this.fillDue.set(sku, (reply.value as SkuView).available);
    if (!this.filling) this.startFilling();
  }

  private startFilling(): void {
    this.filling = true;
    setImmediate(() => {
      void this.fillPasses().finally(() => {
        this.filling = false;
        if (this.fillDue.size > 0 && !this.closed) this.startFilling();
      });
    });
  }

  private async fillPasses(): Promise<void> {
    while (this.fillDue.size > 0 && !this.closed) {
      const [sku, available] = this.fillDue.entries().next().value as [string, number];
      this.fillDue.delete(sku);
      await this.fillSku(sku, available);
    }
  }

  /**
   * Offer returned stock of one SKU to its queue: pre-orders by position, then backorders by
   * priority then arrival. The first order that cannot be filled for want of this SKU stops the
   * pass, so nobody behind it takes its units. Orders blocked on other SKUs are skipped until
   * one of those returns.
   */
  private async fillSku(sku: string, available: number): Promise<void> {
    for (const order of this.queueOf(sku)) {
      if (this.closed) return;
      const current = this.open.get(order.id);
      if (!current || current.queue === null || current.queue.paused) continue;
      const blocked = this.blockedOn.get(current.id);
      if (blocked && !blocked.has(sku)) continue;
      if (unitsOn(current, sku) > available) return;
      const outcome = await this.locked(current.id, () => this.tryFill(current.id));
      if (outcome === 'filled') {
        available -= unitsOn(current, sku);
        continue;
      }
      if (outcome === 'skipped') continue;
      if (outcome.has(sku)) return;
    }
  }

  private async tryFill(orderId: string): Promise<'filled' | 'skipped' | Set<string>> {
    const order = this.open.get(orderId);
    if (!order || order.queue === null || order.queue.paused) return 'skipped';
    const attempt = `${this.keyPrefix}.${order.id}.f${this.bootId}.${++this.fillAttempts}`;
    const outcome = await this.reserveLines(order, (i) => `${attempt}.l${i}`);
    if (!outcome.ok) {
      const skus = new Set(outcome.failures.map((f) => order.lines[f.line].sku));
      this.blockedOn.set(order.id, skus);
      return skus;
    }
    const kind = order.queue.kind;
    const answer = await this.change(order.id, [
      { type: 'reserve', reservationIds: outcome.reservationIds, via: kind },
      { type: 'notify', kind: kind === 'backorder' ? 'backorder_filled' : 'preorder_filled', text: filledText(order, kind) },
    ]);
    if (!answer.ok) {
      await this.releaseAll({ ...order, reservationIds: outcome.reservationIds }, `${attempt}.undo`, ROLLBACK_REASON);
      return 'skipped';
    }
    return 'filled';
  }

  // ---- estimates ------------------------------------------------------------------------------

  /** Waiting orders of a SKU in service order (see queue.ts). */
  private queueOf(sku: string): Order[] {
    const queue = this.queued.get(sku);
    if (!queue) return [];
    const orders: Order[] = [];
    for (const { id } of queue.inOrder()) orders.push(this.open.get(id)!);
    return orders;
  }

  /**
   * The order's availability estimate. `through` (SKU → order → units queued up to and including
   * the order) is the result of one pass over a queue, so re-estimating n orders is one walk.
   */
  private estimateOf(order: Order, now: number, through?: Map<string, Map<string, number>>): Estimate {
    if (order.queue?.kind === 'backorder' || (!order.preOrder && order.queue === null)) return this.backorderEstimate(order, now);
    let availableAt = now;
    for (const line of order.lines) {
      const settings = this.settings.get(line.sku)?.preorder ?? null;
      // An order not yet in the queue counts everything queued as ahead of it.
      const queue = this.queued.get(line.sku);
      const units = through?.get(line.sku)?.get(order.id) ?? (queue?.has(order.id) ? queue.unitsThrough(order.id) : (queue?.units ?? 0) + unitsOn(order, line.sku));
      availableAt = Math.max(availableAt, availableAtFor(settings, units, now, this.config.backorderLeadTimeDaysDefault));
    }
    return estimateFrom(availableAt, this.config);
  }

  /** Re-estimate steps for the orders waiting on these SKUs (pre-orders only, when asked). */
  private reestimateSteps(skus: Iterable<string>, now: number, preordersOnly: boolean): { id: string; commands: OrderCommand[] }[] {
    const through = new Map<string, Map<string, number>>();
    const ids = new Set<string>();
    for (const sku of skus) {
      const units = new Map<string, number>();
      for (const { id, unitsThrough } of this.queued.get(sku)?.inOrder() ?? []) {
        units.set(id, unitsThrough);
        if (!preordersOnly || this.open.get(id)!.queue!.kind === 'preorder') ids.add(id);
      }
      through.set(sku, units);
    }
    return [...ids].map((id) => ({ id, commands: [{ type: 'reestimate', estimate: this.estimateOf(this.open.get(id)!, now, through) }] }));
  }

  private backorderEstimate(order: Order, now: number): Estimate {
    let availableAt = now;
    for (const line of order.lines) {
      availableAt = Math.max(availableAt, expectedAvailability(this.settings.get(line.sku)?.preorder ?? null, now, this.config.backorderLeadTimeDaysDefault));
    }
    return estimateFrom(availableAt, this.config);
  }

  // ---- the single write path --------------------------------------------------------------

  private change(orderId: string, commands: OrderCommand[], extra: { counters?: [string, number][] } = {}): Promise<OrderAnswer> {
    const written = this.commit([{ id: orderId, commands }], extra);
    if (!written.ok) return Promise.resolve(written);
    if (written.changed === 0) return Promise.resolve({ ok: true, order: this.view(this.orderOf(orderId)!), replayed: true });
    return written.flushed.then(() => ({ ok: true, order: this.view(this.orderOf(orderId)!) }));
  }

  /**
   * Decide and apply, synchronously, every step against the orders as they are now; write the
   * changes, their outbox events and `extra` as one transaction. Nothing is applied when any step
   * is refused. After the flush the events are published and closed orders leave memory.
   */
  private commit(
    steps: { id: string; commands: OrderCommand[] }[],
    extra: { externalKeys?: [string, string][]; counters?: [string, number][]; settings?: SkuOrderSettings[] } = {},
  ): { ok: true; changed: number; flushed: Promise<void> } | { ok: false; error: ErrorBody } {
    const now = this.now();
    const changes: OrderChange[] = [];
    const before: (Order | null)[] = [];
    for (const step of steps) {
      const start = this.orderOf(step.id) ?? null;
      let order = start;
      const events: OrderEvent[] = [];
      for (const command of step.commands) {
        const decision = decide(order, command, now);
        if (!decision.ok) return decision;
        for (const event of decision.events) {
          order = evolve(order, event);
          events.push(event);
        }
      }
      if (events.length > 0) {
        changes.push({ order: order!, events });
        before.push(start);
      }
    }
    if (changes.length === 0 && !extra.settings && !extra.externalKeys) return { ok: true, changed: 0, flushed: Promise.resolve() };
    const outbox = this.relay ? changes.flatMap((c) => outboxEntries(c)) : [];
    if (this.outboxPending + outbox.length > this.config.outboxEventsMax) return limit('outboxEventsMax', this.config.outboxEventsMax);
    for (let i = 0; i < changes.length; i++) {
      const becameOpen = before[i] === null || isClosed(before[i]!.state);
      if (becameOpen && !isClosed(changes[i].order.state) && this.open.size >= this.config.openOrdersMax) return limit('openOrdersMax', this.config.openOrdersMax);
    }
    // A cancelled pre-order frees its capacity in the same transaction as the cancel.
    const settings = new Map((extra.settings ?? []).map((x) => [x.sku, x]));
    changes.forEach((c, i) => {
      if (!c.events.some((e) => e.type === 'OrderCancelled') || !holdsPreorderCapacity(before[i]!)) return;
      for (const line of c.order.lines) {
        const s = settings.get(line.sku) ?? this.settings.get(line.sku)!;
        settings.set(line.sku, { ...s, preorderUnits: s.preorderUnits - line.quantity });
      }
    });
    const { seq, flushed } = this.store.write(now, changes, outbox, { ...extra, settings: [...settings.values()] });
    this.relay?.written(outbox.length);
    for (const s of settings.values()) this.settings.set(s.sku, s);
    changes.forEach((c, i) => {
      this.open.set(c.order.id, c.order);
      this.index(before[i], c.order);
      if (c.order.queue === null) this.blockedOn.delete(c.order.id);
    });
    const done = flushed.then(() => {
      for (const c of changes) if (isClosed(c.order.state) && this.open.get(c.order.id) === c.order) this.open.delete(c.order.id);
      for (const c of changes) for (const listener of this.listeners) listener(c.order, c.events);
      if (outbox.length > 0) this.relay!.publish(outbox.map((entry, i) => ({ key: outboxKey(seq, i), entry })));
    });
    return { ok: true, changed: changes.length, flushed: done };
  }

  /** Keep the per-SKU queues, the customer index and the engine watches in step with an order. */
  private index(before: Order | null, after: Order): void {
    const wasQueued = before?.queue ? before.lines.map((l) => l.sku) : [];
    const isQueued = after.queue ? after.lines.map((l) => l.sku) : [];
    for (const sku of wasQueued) {
      if (isQueued.includes(sku)) continue;
      const queue = this.queued.get(sku);
      if (!queue?.remove(after.id)) continue;
      if (queue.size === 0) {
        this.queued.delete(sku);
        this.engine.watch(sku, false);
      }
    }
    for (const sku of isQueued) {
      let queue = this.queued.get(sku);
      if (!queue) {
        queue = new SkuQueue();
        this.queued.set(sku, queue);
        this.engine.watch(sku, true);
      }
      queue.add(after.id, after.queue!, unitsOn(after, sku));
    }
    const customer = after.customer.id;
    const preorder = after.state === 'PRE_ORDER';
    const ids = this.preordersByCustomer.get(customer);
    if (preorder) {
      if (ids) ids.add(after.id);
      else this.preordersByCustomer.set(customer, new Set([after.id]));
    } else if (ids?.delete(after.id) && ids.size === 0) this.preordersByCustomer.delete(customer);
  }

  private queueFull(order: Order): ErrorBody | null {
    for (const line of order.lines) {
      const size = this.queued.get(line.sku)?.size ?? 0;
      if (size >= this.config.queuedOrdersPerSkuMax) return errorBody('ORDER_LIMIT', undefined, { limit: 'queuedOrdersPerSkuMax', value: this.config.queuedOrdersPerSkuMax, sku: line.sku });
    }
    return null;
  }

  // ---- helpers --------------------------------------------------------------------------------

  private orderOf(orderId: string): Order | undefined {
    return this.open.get(orderId) ?? this.store.orders.get(orderId);
  }

  /** The order, or ORDER_NOT_FOUND (also for another channel's order: its existence is not told). */
  private scoped(orderId: string, asChannel: string | null): Order | ErrorBody {
    const order = ORDER_ID_PATTERN.test(orderId) ? this.orderOf(orderId) : undefined;
    if (!order || (asChannel !== null && order.channel !== asChannel)) return errorBody('ORDER_NOT_FOUND', undefined, { orderId });
    return order;
  }

  private onOrder(orderId: string, asChannel: string | null, run: (order: Order) => Promise<OrderAnswer>): Promise<OrderAnswer> {
    const found = this.scoped(orderId, asChannel);
    if ('code' in found) return Promise.resolve({ ok: false, error: found });
    return this.locked(orderId, () => run(this.orderOf(orderId)!));
  }

  /** Run `task` after every earlier task on the same key; the map holds keys with work pending only. */
  private locked<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return result;
  }

  private settingsOf(sku: string): SkuOrderSettings {
    return this.settings.get(sku) ?? { sku, preorder: null, substitutes: [], preorderUnits: 0 };
  }

  private view(order: Order): OrderView {
    let positions: Record<string, number> | null = null;
    let worst: number | null = null;
    if (order.queue) {
      positions = {};
      for (const line of order.lines) {
        if (positions[line.sku] !== undefined) continue;
        const position = this.queued.get(line.sku)?.position(order.id) ?? 0;
        positions[line.sku] = position;
        worst = Math.max(worst ?? 0, position);
      }
    }
    let shipmentId: string | null = null;
    if (order.state === 'PRE_ORDER') shipmentId = this.shipmentsOf(order.customer.id).find((s) => s.orderIds.includes(order.id))?.shipmentId ?? order.id;
    return { ...order, queuePositions: positions, queuePosition: worst, shipmentId };
  }
}

// ---- pure helpers -----------------------------------------------------------------------------

function unitsOn(order: Order, sku: string): number {
  let units = 0;
  for (const line of order.lines) if (line.sku === sku) units += line.quantity;
  return units;
}

function limit(name: string, value: number): { ok: false; error: ErrorBody } {
  return { ok: false, error: errorBody('ORDER_LIMIT', undefined, { limit: name, value }) };
}

function splitEventId(id: string): [string, number] {
  const dot = id.lastIndexOf('.');
  return [id.slice(0, dot), Number(id.slice(dot + 1))];
}

export { OrderRecoveryError } from './recovery.js';
export type { AccuracyReport } from './accuracy.js';
