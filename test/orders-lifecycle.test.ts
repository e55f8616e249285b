// The pure order lifecycle: every legal transition, every illegal one (a stable code, no events),
// idempotent repeats, the estimate arithmetic and the merge rules.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOrdersConfig } from '../src/orders/config.js';
import { decide, evolve, evolveAll, type OrderCommand } from '../src/orders/lifecycle.js';
import { newOrder, type Estimate, type Hold, type Order, type OrderState } from '../src/orders/model.js';
import { availableAtFor, estimateFrom, mergeShipments, type PreorderSettings } from '../src/orders/preorders.js';
import { SkuQueue } from '../src/orders/queue.js';
import { checkOrder } from '../src/orders/recovery.js';
import { DAY } from './orders-fixtures.js';

const T0 = Date.UTC(2026, 10, 23);
const estimate: Estimate = { availableAt: T0 + 10 * DAY, deliveryFrom: T0 + 12 * DAY, deliveryTo: T0 + 15 * DAY };
const hold: Hold = { since: T0, lines: [{ line: 0, sku: 'A', status: 'OUT_OF_STOCK', available: 0, expectedAt: null, substitutes: [] }] };

function base(preOrder = false): Order {
  return newOrder(
    'ord-00000001',
    {
      channel: 'web',
      account: 'main',
      externalId: 'x1',
      customer: { id: 'c1', email: null, name: null, tier: 'standard' },
      currency: null,
      totalMinor: null,
      lines: [{ lineId: 'l0', sku: 'A', quantity: 1, unitPriceMinor: null, title: null }],
      payment: { authorizationId: 'auth-1', status: 'authorized' },
      shippingAddress: null,
      placedAt: '2026-11-23T00:00:00Z',
      preOrder,
    },
    T0,
  );
}

/** Drive an order through commands that must all succeed. */
function drive(order: Order | null, ...commands: OrderCommand[]): Order {
  let current = order;
  for (const command of commands) {
    const d = decide(current, command, T0);
    if (!d.ok) throw new Error(`${command.type}: ${d.error.code}`);
    current = evolveAll(current, d.events);
  }
  return current!;
}

const reserve = (via: 'placement' | 'backorder' | 'preorder' = 'placement'): OrderCommand => ({ type: 'reserve', reservationIds: ['r1'], via });
const backorder: OrderCommand = { type: 'backorder', seq: 1, priority: 1, estimate };
const preorder: OrderCommand = { type: 'preorder', seq: 1, priority: 1, estimate };

/** One order in each state (and the held and paused variants). */
function inState(name: string): Order {
  const received = drive(null, { type: 'receive', order: base() });
  switch (name) {
    case 'RECEIVED':
      return received;
    case 'RECEIVED+held':
      return drive(received, { type: 'hold', hold });
    case 'RESERVED':
      return drive(received, reserve());
    case 'RESERVED+held':
      return drive(received, reserve(), { type: 'hold', hold });
    case 'CONFIRMED':
      return drive(received, reserve(), { type: 'confirm' });
    case 'SHIPPED':
      return drive(received, reserve(), { type: 'confirm' }, { type: 'ship' });
    case 'CANCELLED':
      return drive(received, { type: 'cancel', reason: 'x' });
    case 'PENDING_BACKORDER':
      return drive(received, { type: 'hold', hold }, backorder);
    case 'PRE_ORDER':
      return drive(null, { type: 'receive', order: base(true) }, preorder);
    case 'PRE_ORDER+paused':
      return drive(null, { type: 'receive', order: base(true) }, preorder, { type: 'pause' });
  }
  throw new Error(name);
}

const STATES = ['RECEIVED', 'RECEIVED+held', 'RESERVED', 'RESERVED+held', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'PENDING_BACKORDER', 'PRE_ORDER', 'PRE_ORDER+paused'];

/** For each command, the resulting state from each starting state: a state, 'same' (idempotent repeat), or an error code. */
const TABLE: Record<string, [OrderCommand, Record<string, OrderState | 'same' | 'ILLEGAL_ORDER_TRANSITION' | 'ORDER_ON_HOLD'>]> = {
  'reserve (placement)': [reserve('placement'), { RECEIVED: 'RESERVED', 'RECEIVED+held': 'RESERVED' }],
  'reserve (backorder)': [reserve('backorder'), { PENDING_BACKORDER: 'RESERVED' }],
  'reserve (preorder)': [reserve('preorder'), { PRE_ORDER: 'RESERVED' }],
  confirm: [{ type: 'confirm' }, { RESERVED: 'CONFIRMED', 'RESERVED+held': 'ORDER_ON_HOLD', 'RECEIVED+held': 'ORDER_ON_HOLD', CONFIRMED: 'same' }],
  ship: [{ type: 'ship' }, { CONFIRMED: 'SHIPPED', SHIPPED: 'same' }],
  cancel: [
    { type: 'cancel', reason: 'x' },
    {
      RECEIVED: 'CANCELLED',
      'RECEIVED+held': 'CANCELLED',
      RESERVED: 'CANCELLED',
      'RESERVED+held': 'CANCELLED',
      CONFIRMED: 'CANCELLED',
      CANCELLED: 'same',
      PENDING_BACKORDER: 'CANCELLED',
      PRE_ORDER: 'CANCELLED',
      'PRE_ORDER+paused': 'CANCELLED',
    },
  ],
  backorder: [backorder, { 'RECEIVED+held': 'PENDING_BACKORDER', 'RESERVED+held': 'PENDING_BACKORDER', CANCELLED: 'PENDING_BACKORDER', PENDING_BACKORDER: 'same' }],
  preorder: [preorder, {}],
  pause: [{ type: 'pause' }, { PRE_ORDER: 'PRE_ORDER', 'PRE_ORDER+paused': 'same', PENDING_BACKORDER: 'PENDING_BACKORDER' }],
  resume: [{ type: 'resume' }, { 'PRE_ORDER+paused': 'PRE_ORDER', PRE_ORDER: 'same', PENDING_BACKORDER: 'same' }],
  hold: [{ type: 'hold', hold }, { RECEIVED: 'RECEIVED', 'RECEIVED+held': 'RECEIVED', RESERVED: 'RESERVED', 'RESERVED+held': 'RESERVED' }],
};

describe('order lifecycle: the transition table', () => {
  for (const [name, [command, outcomes]] of Object.entries(TABLE)) {
    for (const start of STATES) {
      const expected = outcomes[start] ?? 'ILLEGAL_ORDER_TRANSITION';
      it(`${name} from ${start} → ${expected}`, () => {
        const order = inState(start);
        const d = decide(order, command, T0 + 1);
        if (expected === 'ILLEGAL_ORDER_TRANSITION' || expected === 'ORDER_ON_HOLD') {
          expect(d.ok).toBe(false);
          if (!d.ok) expect(d.error.code).toBe(expected);
          return;
        }
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        if (expected === 'same') {
          expect(d.events).toEqual([]);
          return;
        }
        const next = evolveAll(order, d.events)!;
        expect(next.state).toBe(expected);
        expect(next.version).toBe(order.version + d.events.length);
        // evolve copies: the order it started from is unchanged.
        expect(order.state).toBe(start.split('+')[0]);
      });
    }
  }

  it('a pre-order is placed only from RECEIVED with the pre-order flag', () => {
    const received = drive(null, { type: 'receive', order: base(true) });
    expect(drive(received, preorder).state).toBe('PRE_ORDER');
    const d = decide(inState('RECEIVED'), preorder, T0);
    expect(d.ok ? 'ok' : d.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
  });

  it('receive twice is illegal; anything on a missing order is ORDER_NOT_FOUND', () => {
    const d = decide(inState('RECEIVED'), { type: 'receive', order: base() }, T0);
    expect(d.ok ? 'ok' : d.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
    const missing = decide(null, { type: 'confirm' }, T0);
    expect(missing.ok ? 'ok' : missing.error.code).toBe('ORDER_NOT_FOUND');
  });

  it('a paused pre-order is not filled, and a fill must cover every line', () => {
    const paused = decide(inState('PRE_ORDER+paused'), reserve('preorder'), T0);
    expect(paused.ok ? 'ok' : paused.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
    const partial = decide(inState('RECEIVED'), { type: 'reserve', reservationIds: [], via: 'placement' }, T0);
    expect(partial.ok ? 'ok' : partial.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
  });

  it('confirming captures the payment; a hold keeps the authorisation', () => {
    const held = inState('RESERVED+held');
    expect(held.payment).toEqual({ authorizationId: 'auth-1', status: 'authorized' });
    const d = decide(held, { type: 'confirm' }, T0);
    expect(d.ok).toBe(false);
    const confirmed = inState('CONFIRMED');
    expect(confirmed.payment.status).toBe('captured');
    expect(confirmed.payment.authorizationId).toBe('auth-1');
  });

  it('cancelling drops reservations and the queue; a cancelled order becomes a backorder again', () => {
    const cancelled = drive(inState('RESERVED'), { type: 'cancel', reason: 'customer' });
    expect(cancelled.reservationIds).toEqual([]);
    expect(cancelled.cancelReason).toBe('customer');
    const back = drive(cancelled, backorder);
    expect(back.state).toBe('PENDING_BACKORDER');
    expect(back.cancelReason).toBeNull();
    expect(back.queue).toMatchObject({ kind: 'backorder', seq: 1, paused: false, promised: estimate });
  });

  it('a fill records the promised and the actual availability', () => {
    const queued = inState('PRE_ORDER');
    const filled = evolve(queued, { type: 'OrderReserved', at: T0 + 11 * DAY, reservationIds: ['r1'], via: 'preorder' });
    expect(filled.fill).toEqual({ kind: 'preorder', queuedAt: T0, promisedAt: estimate.availableAt, latestEstimateAt: estimate.availableAt, actualAt: T0 + 11 * DAY });
    expect(filled.queue).toBeNull();
  });

  it('pause and resume keep the queue seq; a changed estimate is an event, the same one is not', () => {
    const paused = inState('PRE_ORDER+paused');
    const resumed = drive(paused, { type: 'resume' });
    expect(resumed.queue!.seq).toBe(paused.queue!.seq);
    const same = decide(resumed, { type: 'reestimate', estimate }, T0);
    expect(same.ok && same.events).toEqual([]);
    const later = { ...estimate, availableAt: estimate.availableAt + DAY };
    const changed = drive(resumed, { type: 'reestimate', estimate: later });
    expect(changed.estimate).toEqual(later);
    expect(changed.queue!.promised).toEqual(estimate);
  });

  it('a reminder interval is recorded once; a repeat decides nothing', () => {
    const first = drive(inState('PRE_ORDER'), { type: 'remind', due: [30, 7], text: 'soon' });
    expect(first.remindersSent).toEqual([30, 7]);
    const again = decide(first, { type: 'remind', due: [7], text: 'soon' }, T0);
    expect(again.ok && again.events).toEqual([]);
    const paused = decide(inState('PRE_ORDER+paused'), { type: 'remind', due: [7], text: 'x' }, T0);
    expect(paused.ok ? 'ok' : paused.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
  });
});

describe('pre-order estimates', () => {
  const settings: PreorderSettings = {
    enabled: true,
    capacity: 100,
    schedule: [
      { at: T0 + 10 * DAY, quantity: 10 },
      { at: T0 + 20 * DAY, quantity: 10 },
    ],
    leadTimeDays: 30,
    updatedAt: T0,
  };

  it('the first batch whose cumulative inbound covers the units ahead and the own', () => {
    expect(availableAtFor(settings, 1, T0, 14)).toBe(T0 + 10 * DAY);
    expect(availableAtFor(settings, 10, T0, 14)).toBe(T0 + 10 * DAY);
    expect(availableAtFor(settings, 11, T0, 14)).toBe(T0 + 20 * DAY);
    // Beyond the schedule: another run after the lead time.
    expect(availableAtFor(settings, 21, T0, 14)).toBe(T0 + 50 * DAY);
    expect(availableAtFor({ ...settings, leadTimeDays: null }, 21, T0, 14)).toBe(T0 + 20 * DAY);
  });

  it('without a schedule, the supplier lead time (or the default) from the settings change', () => {
    expect(availableAtFor({ ...settings, schedule: [] }, 5, T0 + DAY, 14)).toBe(T0 + DAY + 30 * DAY);
    expect(availableAtFor(null, 5, T0, 14)).toBe(T0 + 14 * DAY);
  });

  it('the delivery window adds the shipping days', () => {
    const config = buildOrdersConfig({ shippingDaysMin: 1, shippingDaysMax: 4 });
    expect(estimateFrom(T0, config)).toEqual({ availableAt: T0, deliveryFrom: T0 + DAY, deliveryTo: T0 + 4 * DAY });
  });
});

describe('merge rules', () => {
  const address = { name: 'A', line1: '1 Road', city: 'Town', postalCode: '1', country: 'NL' };
  let n = 0;
  function pre(customer: string, availableAtDays: number, extra: Partial<Order> = {}): Order {
    n++;
    const order = drive(null, { type: 'receive', order: { ...base(true), id: `ord-${n}`, customer: { id: customer, email: null, name: null, tier: 'standard' }, shippingAddress: address } }, {
      type: 'preorder',
      seq: n,
      priority: 1,
      estimate: { availableAt: T0 + availableAtDays * DAY, deliveryFrom: 0, deliveryTo: 0 },
    });
    return { ...order, ...extra };
  }
  const window = 3 * DAY;

  it('one customer, same address, dates within the window: one shipment leaving with the last', () => {
    const [a, b] = [pre('c1', 10), pre('c1', 12)];
    expect(mergeShipments([b, a], window)).toEqual([{ shipmentId: a.id, orderIds: [a.id, b.id], availableAt: T0 + 12 * DAY }]);
  });

  it('dates further apart than the window ship apart', () => {
    const [a, b] = [pre('c1', 10), pre('c1', 14)];
    expect(mergeShipments([a, b], window).map((s) => s.orderIds)).toEqual([[a.id], [b.id]]);
  });

  it('the window counts from the group first order, not from its last', () => {
    const [a, b, c] = [pre('c1', 10), pre('c1', 12), pre('c1', 14)];
    expect(mergeShipments([a, b, c], window).map((s) => s.orderIds)).toEqual([[a.id, b.id], [c.id]]);
  });

  it('another address, another customer, another channel, a paused or an address-less order ship apart', () => {
    const a = pre('c1', 10);
    const otherAddress = pre('c1', 10, { shippingAddress: { ...address, line1: '2 Road' } });
    const otherCustomer = pre('c2', 10);
    const otherChannel = pre('c1', 10, { channel: 'pos' });
    const paused = pre('c1', 10, { queue: { ...a.queue!, paused: true } });
    const pickup = pre('c1', 10, { shippingAddress: null });
    const shipments = mergeShipments([a, otherAddress, otherCustomer, otherChannel, paused, pickup], window);
    expect(shipments).toHaveLength(6);
    for (const s of shipments) expect(s.orderIds).toHaveLength(1);
  });

  it('address case and spacing do not split a shipment; orders not waiting are left out', () => {
    const a = pre('c1', 10);
    const b = pre('c1', 11, { shippingAddress: { ...address, city: ' TOWN ' } });
    const shipped = { ...pre('c1', 10), state: 'RESERVED' as const };
    expect(mergeShipments([a, b, shipped], window).map((s) => s.orderIds)).toEqual([[a.id, b.id]]);
  });
});

describe('orders configuration', () => {
  it('rejects unknown keys by name and bad values', () => {
    expect(() => buildOrdersConfig({ reminderDays: [7] })).toThrow(/unknown key "reminderDays"/);
    expect(() => buildOrdersConfig({ outOfStockPolicy: { default: 'wait' } })).toThrow(/outOfStockPolicy\/default/);
    expect(() => buildOrdersConfig({ shippingDaysMin: 5, shippingDaysMax: 2 })).toThrow(/shippingDaysMin exceeds shippingDaysMax/);
  });

  it('is frozen, with reminders sorted furthest first', () => {
    const config = buildOrdersConfig({ reminderDaysBefore: [7, 30] });
    expect(config.reminderDaysBefore).toEqual([30, 7]);
    expect(Object.isFrozen(config.outOfStockPolicy)).toBe(true);
  });
});

describe('SKU queue order', () => {
  const place = (kind: 'backorder' | 'preorder', seq: number, priority = 1) => ({ kind, seq, priority, since: T0, paused: false, promised: estimate });

  it('pre-orders by arrival, then backorders by priority then arrival; positions and units follow removals', () => {
    const q = new SkuQueue();
    q.add('b-std-1', place('backorder', 1), 2);
    q.add('p-2', place('preorder', 2), 1);
    q.add('b-vip-3', place('backorder', 3, 9), 3);
    q.add('b-std-4', place('backorder', 4), 1);
    q.add('p-5', place('preorder', 5, 9), 4);
    q.add('p-5', place('preorder', 5, 9), 4); // a repeat is ignored
    expect([...q.inOrder()]).toEqual([
      { id: 'p-2', unitsThrough: 1 },
      { id: 'p-5', unitsThrough: 5 },
      { id: 'b-vip-3', unitsThrough: 8 },
      { id: 'b-std-1', unitsThrough: 10 },
      { id: 'b-std-4', unitsThrough: 11 },
    ]);
    expect(q.units).toBe(11);
    expect(q.position('b-std-1')).toBe(4);
    expect(q.remove('p-2')).toBe(true);
    expect(q.remove('p-2')).toBe(false);
    expect(q.position('b-std-1')).toBe(3);
    expect(q.unitsThrough('b-std-1')).toBe(9);
    expect(q.position('missing')).toBe(0);
    expect(q.size).toBe(4);
  });

  it('a burst of arrivals keeps arrival order', () => {
    const q = new SkuQueue();
    for (let seq = 1; seq <= 1000; seq++) q.add(`p-${seq}`, place('preorder', seq), 1);
    expect([...q.inOrder()].map((e) => e.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `p-${i + 1}`));
    expect(q.position('p-1000')).toBe(1000);
  });
});

describe('order lifecycle: any sequence of commands (fast-check)', () => {
  const commandArb: fc.Arbitrary<OrderCommand> = fc.oneof(
    fc.constantFrom<OrderCommand['type']>('confirm', 'ship', 'pause', 'resume', 'clearHold').map((type) => ({ type }) as OrderCommand),
    fc.constantFrom('placement', 'backorder', 'preorder').map((via) => reserve(via as 'placement' | 'backorder' | 'preorder')),
    fc.constant<OrderCommand>({ type: 'hold', hold }),
    fc.constant<OrderCommand>({ type: 'cancel', reason: 'x' }),
    fc.integer({ min: 1, max: 1000 }).map((seq): OrderCommand => ({ type: 'backorder', seq, priority: 1, estimate })),
    fc.integer({ min: 1, max: 1000 }).map((seq): OrderCommand => ({ type: 'preorder', seq, priority: 1, estimate })),
    fc.constant<OrderCommand>({ type: 'remind', due: [7], text: 'soon' }),
    fc.constant<OrderCommand>({ type: 'reestimate', estimate: { ...estimate, availableAt: estimate.availableAt + DAY } }),
  );

  it('every reachable order passes the recovery invariants; a refusal changes nothing; SHIPPED is final', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(commandArb, { maxLength: 30, size: 'max' }), (preOrder, commands) => {
        let order = drive(null, { type: 'receive', order: base(preOrder) });
        for (const command of commands) {
          const d = decide(order, command, T0);
          if (!d.ok) {
            expect(['ILLEGAL_ORDER_TRANSITION', 'ORDER_ON_HOLD']).toContain(d.error.code);
            continue;
          }
          const next = evolveAll(order, d.events)!;
          expect(next.version).toBe(order.version + d.events.length);
          if (order.state === 'SHIPPED') expect(next.state).toBe('SHIPPED');
          checkOrder(next);
          order = next;
        }
      }),
      { numRuns: 500 },
    );
  });
});
