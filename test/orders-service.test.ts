// The order service against a real engine: placement, idempotency, confirm/ship/cancel with
// their effects on stock, the out-of-stock hold, the policies, substitutes, backorder filling.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReservationView } from '../src/actors/types.js';
import { removeTempDirs } from './helpers.js';
import { canonical, codeOf, orderOf, sharedEngine, skus, startOrders, type OrdersRig, type SharedEngine } from './orders-fixtures.js';

let shared: SharedEngine;
/** Undefined between tests, so a test that fails before opening its rig does not close the last one again. */
let rig: OrdersRig;

beforeAll(async () => {
  shared = await sharedEngine();
}, 60_000);

afterAll(async () => {
  await shared.stop();
});

afterEach(async () => {
  await rig?.stop();
  rig = undefined as unknown as OrdersRig;
  removeTempDirs();
});

async function reservation(id: string): Promise<ReservationView> {
  const reply = await rig.engine.execute({ type: 'getReservation', reservationId: id });
  if (!reply.ok) throw new Error(reply.error.code);
  return reply.value as ReservationView;
}

describe('lifecycle through the engine', () => {
  beforeEach(async () => {
    rig = await startOrders(shared.engine);
  });

  it('places (RESERVED), confirms (captured), ships (reservations committed)', async () => {
    const [A, B] = skus('A', 'B');
    await rig.stock(A, 10);
    await rig.stock(B, 5);
    const placed = orderOf(await rig.service.place(canonical([[A, 3], [B, 2]])));
    expect(placed.id).toMatch(/^ord-[0-9a-z]+$/);
    expect(placed.state).toBe('RESERVED');
    expect(placed.reservationIds).toHaveLength(2);
    expect((await rig.sku(A)).available).toBe(7);

    const confirmed = orderOf(await rig.service.confirm(placed.id));
    expect(confirmed.state).toBe('CONFIRMED');
    expect(confirmed.payment.status).toBe('captured');

    const shipped = orderOf(await rig.service.ship(placed.id));
    expect(shipped.state).toBe('SHIPPED');
    for (const id of placed.reservationIds) expect((await reservation(id)).state).toBe('COMMITTED');
    expect((await rig.sku(A)).onHand).toBe(7);
    expect(orderOf(rig.service.get(placed.id)).state).toBe('SHIPPED');
  });

  it('cancelling releases the reservations; a repeat answers the order as it is', async () => {
    const [A] = skus('A');
    await rig.stock(A, 10);
    const placed = orderOf(await rig.service.place(canonical([[A, 4]])));
    const cancelled = await rig.service.cancel(placed.id, 'customer asked');
    expect(orderOf(cancelled).state).toBe('CANCELLED');
    expect((await reservation(placed.reservationIds[0])).state).toBe('RELEASED');
    expect((await rig.sku(A)).available).toBe(10);
    const again = await rig.service.cancel(placed.id);
    expect(again.ok && again.replayed).toBe(true);
    expect(orderOf(again).version).toBe(orderOf(cancelled).version);
  });

  it('illegal transitions answer a stable code and change nothing', async () => {
    const [A] = skus('A');
    await rig.stock(A, 10);
    const placed = orderOf(await rig.service.place(canonical([[A, 1]])));
    expect(codeOf(await rig.service.ship(placed.id))).toBe('ILLEGAL_ORDER_TRANSITION');
    expect(codeOf(await rig.service.pause(placed.id))).toBe('ILLEGAL_ORDER_TRANSITION');
    expect(codeOf(await rig.service.backorder(placed.id))).toBe('ILLEGAL_ORDER_TRANSITION');
    expect(orderOf(rig.service.get(placed.id)).version).toBe(placed.version);
    expect((await reservation(placed.reservationIds[0])).state).toBe('ACTIVE');

    orderOf(await rig.service.confirm(placed.id));
    orderOf(await rig.service.ship(placed.id));
    expect(codeOf(await rig.service.cancel(placed.id))).toBe('ILLEGAL_ORDER_TRANSITION');
    expect((await reservation(placed.reservationIds[0])).state).toBe('COMMITTED');
  });

  it('unknown or malformed ids answer ORDER_NOT_FOUND; another channel cannot see an order', async () => {
    const [A] = skus('A');
    await rig.stock(A, 10);
    expect(codeOf(rig.service.get('ord-zzzzzzzz'))).toBe('ORDER_NOT_FOUND');
    expect(codeOf(rig.service.get('../etc'))).toBe('ORDER_NOT_FOUND');
    expect(codeOf(await rig.service.confirm('ord-zzzzzzzz'))).toBe('ORDER_NOT_FOUND');
    const placed = orderOf(await rig.service.place(canonical([[A, 1]]), 'web'));
    expect(codeOf(rig.service.get(placed.id, 'pos'))).toBe('ORDER_NOT_FOUND');
    expect(codeOf(await rig.service.cancel(placed.id, 'x', 'pos'))).toBe('ORDER_NOT_FOUND');
    expect(orderOf(rig.service.get(placed.id, 'web')).state).toBe('RESERVED');
    expect(codeOf(await rig.service.place(canonical([[A, 1]], { channel: 'shopify' }), 'web'))).toBe('FORBIDDEN');
  });

  it('invalid orders are refused whole with VALIDATION_FAILED naming the field', async () => {
    const [A, B] = skus('A', 'B');
    const unknown = await rig.service.place({ ...canonical([[A, 1]]), coupon: 'x' });
    expect(codeOf(unknown)).toBe('VALIDATION_FAILED');
    expect(!unknown.ok && unknown.error.details).toMatchObject({ field: 'coupon', problem: 'unknown field' });
    const zero = await rig.service.place(canonical([[A, 0]]));
    expect(!zero.ok && zero.error.details).toMatchObject({ field: 'lines.0.quantity' });
    const dup = canonical([[A, 1], [B, 1]]);
    dup.lines[1].lineId = dup.lines[0].lineId;
    expect(codeOf(await rig.service.place(dup))).toBe('VALIDATION_FAILED');
    expect(codeOf(await rig.service.place('not an order'))).toBe('VALIDATION_FAILED');
    expect(rig.service.outboxPending).toBe(0);
  });
});

describe('idempotent placement on (channel, account, externalId)', () => {
  beforeEach(async () => {
    rig = await startOrders(shared.engine);
  });

  it('a repeat answers the first order and reserves nothing more, also when concurrent', async () => {
    const [A] = skus('A');
    await rig.stock(A, 10);
    const order = canonical([[A, 2]]);
    const answers = await Promise.all([rig.service.place(order), rig.service.place(order), rig.service.place(order)]);
    const ids = new Set(answers.map((a) => orderOf(a).id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.ok && a.replayed)).toHaveLength(2);
    expect((await rig.sku(A)).available).toBe(8);
    const later = await rig.service.placeOrder(order);
    expect(later).toEqual({ ok: true, orderId: [...ids][0], state: 'RESERVED', replayed: true });
    // Another account with the same external id is another order.
    const other = await rig.service.place({ ...order, account: 'second' });
    expect(orderOf(other).id).not.toBe([...ids][0]);
  });

  it('survives a restart: the key is durable', async () => {
    const [A] = skus('A');
    await rig.stock(A, 10);
    const order = canonical([[A, 1]]);
    const first = orderOf(await rig.service.place(order));
    await rig.reopen();
    const again = await rig.service.place(order);
    expect(again.ok && again.replayed).toBe(true);
    expect(orderOf(again).id).toBe(first.id);
    expect((await rig.sku(A)).available).toBe(9);
  });
});

describe('out-of-stock hold', () => {
  it('policy hold: the order is held, confirmation refused, the authorisation kept, while stock is out', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'hold' } } });
    await rig.stock(A, 1);
    const placed = orderOf(await rig.service.place(canonical([[A, 3]])));
    expect(placed.state).toBe('RECEIVED');
    expect(placed.hold!.lines).toEqual([{ line: 0, sku: A, status: 'OUT_OF_STOCK', available: 1, expectedAt: null, substitutes: [] }]);
    for (let i = 0; i < 3; i++) {
      const refused = await rig.service.confirm(placed.id);
      expect(codeOf(refused)).toBe('ORDER_ON_HOLD');
      const now = orderOf(rig.service.get(placed.id));
      expect(now.state).toBe('RECEIVED');
      expect(now.hold).not.toBeNull();
      expect(now.payment).toEqual({ authorizationId: placed.payment.authorizationId, status: 'authorized' });
    }
    // Nothing was kept reserved for a held order: the unit stays with other buyers.
    expect((await rig.sku(A)).available).toBe(1);
  });

  it('a reserved order whose SKU is flagged is held at confirmation, keeping its stock hold, until unflagged', async () => {
    const [A, SUB, EMPTY] = skus('A', 'SUB', 'EMPTY');
    rig = await startOrders(shared.engine);
    await rig.stock(A, 5);
    await rig.stock(SUB, 4);
    orderOf(await rig.service.place(canonical([[A, 1]])));
    await rig.service.setSubstitutes(A, { substitutes: [SUB, EMPTY] });
    const placed = orderOf(await rig.service.place(canonical([[A, 2]])));
    expect((await rig.engine.execute({ type: 'flagOutOfStock', sku: A, reason: 'damaged', flaggedBy: 'wh' })).ok).toBe(true);

    const refused = await rig.service.confirm(placed.id);
    expect(codeOf(refused)).toBe('ORDER_ON_HOLD');
    expect(!refused.ok && refused.error.details).toMatchObject({ lines: [{ sku: A, status: 'FLAGGED_OUT_OF_STOCK', substitutes: [{ sku: SUB, available: 4 }] }] });
    const held = orderOf(rig.service.get(placed.id));
    expect(held.state).toBe('RESERVED');
    expect(held.hold).not.toBeNull();
    expect(held.payment.status).toBe('authorized');
    expect((await reservation(placed.reservationIds[0])).state).toBe('ACTIVE');
    expect(codeOf(await rig.service.confirm(placed.id))).toBe('ORDER_ON_HOLD');

    expect((await rig.engine.execute({ type: 'unflagOutOfStock', sku: A, unflaggedBy: 'wh' })).ok).toBe(true);
    const confirmed = orderOf(await rig.service.confirm(placed.id));
    expect(confirmed.state).toBe('CONFIRMED');
    expect(confirmed.hold).toBeNull();
  });

  it('a reserved order whose stock hold ended (expired, released elsewhere) is held at confirmation, not captured', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await rig.stock(A, 5);
    const placed = orderOf(await rig.service.place(canonical([[A, 1]])));
    expect((await rig.engine.execute({ type: 'release', reservationId: placed.reservationIds[0], reason: 'expired elsewhere' })).ok).toBe(true);
    const refused = await rig.service.confirm(placed.id);
    expect(codeOf(refused)).toBe('ORDER_ON_HOLD');
    expect(!refused.ok && refused.error.details).toMatchObject({ lines: [{ sku: A, status: 'RESERVATION_LOST', available: 5 }] });
    const held = orderOf(rig.service.get(placed.id));
    expect(held).toMatchObject({ state: 'RESERVED', payment: { status: 'authorized' } });
    // The operator keeps the customer's intent: a backorder, filled at once since stock is there.
    const filled = rig.next(placed.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    expect(orderOf(await rig.service.backorder(placed.id)).state).toBe('PENDING_BACKORDER');
    const reserved = await filled;
    expect(reserved.reservationIds[0]).not.toBe(placed.reservationIds[0]);
    expect(orderOf(await rig.service.confirm(placed.id)).state).toBe('CONFIRMED');
  });

  it('policy cancel (per SKU, over the channel) cancels, and the cancelled order can become a backorder', async () => {
    const [SUB, RARE] = skus('SUB', 'RARE');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'hold', byChannel: { web: 'backorder' }, bySku: { [RARE]: 'cancel' } } } });
    await rig.stock(RARE, 0);
    await rig.stock(SUB, 2);
    await rig.service.setSubstitutes(RARE, { substitutes: [SUB] });
    const changes: string[] = [];
    rig.service.onChange((_o, events) => changes.push(...events.map((e) => (e.type === 'CustomerNotified' ? `${e.type}:${e.text}` : e.type))));
    const answer = await rig.service.place(canonical([[RARE, 1]], { externalId: 'X-9' }));
    const cancelled = orderOf(answer);
    expect(cancelled.state).toBe('CANCELLED');
    expect(cancelled.cancelReason).toBe('out-of-stock');
    expect(cancelled.hold!.lines[0]).toMatchObject({ sku: RARE, status: 'OUT_OF_STOCK', substitutes: [{ sku: SUB, available: 2 }] });
    expect(changes).toContain(
      `CustomerNotified:Order X-9: Item ${RARE} (${RARE}) is out of stock; in stock instead: ${SUB} (2 available). Your order was cancelled; your payment authorisation will be released.`,
    );
    const back = orderOf(await rig.service.backorder(cancelled.id));
    expect(back.state).toBe('PENDING_BACKORDER');
    expect(back.queuePosition).toBe(1);
  });

  it('policy by channel backorders; unknown SKUs are told as such', async () => {
    const [NEVER] = skus('NEVER');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'cancel', byChannel: { web: 'backorder' } } } });
    const placed = orderOf(await rig.service.place(canonical([[NEVER, 1]])));
    expect(placed.state).toBe('PENDING_BACKORDER');
    expect(placed.hold!.lines[0].status).toBe('UNKNOWN_SKU');
    const pos = orderOf(await rig.service.place(canonical([[NEVER, 1]], { channel: 'pos' })));
    expect(pos.state).toBe('CANCELLED');
  });

  it('a multi-line order short on one line holds nothing of the others', async () => {
    const [A, B] = skus('A', 'B');
    rig = await startOrders(shared.engine);
    await rig.stock(A, 5);
    await rig.stock(B, 0);
    const placed = orderOf(await rig.service.place(canonical([[A, 2], [B, 1]])));
    expect(placed.state).toBe('RECEIVED');
    expect(placed.hold!.lines.map((l) => l.sku)).toEqual([B]);
    expect((await rig.sku(A)).available).toBe(5);
  });
});

describe('backorders', () => {
  it('are filled in order when stock returns: vip before standard, then time; the rest keep waiting', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'backorder' } } });
    await rig.stock(A, 0);
    const vip = { id: 'v', email: null, name: null, tier: 'vip' as const };
    const first = orderOf(await rig.service.place(canonical([[A, 1]])));
    const second = orderOf(await rig.service.place(canonical([[A, 1]])));
    const vipLater = orderOf(await rig.service.place(canonical([[A, 1]], { customer: vip })));
    const third = orderOf(await rig.service.place(canonical([[A, 1]])));
    for (const o of [first, second, vipLater, third]) expect(o.state).toBe('PENDING_BACKORDER');
    expect(orderOf(rig.service.get(vipLater.id)).queuePosition).toBe(1);
    expect(orderOf(rig.service.get(third.id)).queuePosition).toBe(4);

    const notified: string[] = [];
    rig.service.onChange((o, events) => {
      for (const e of events) if (e.type === 'CustomerNotified' && e.kind === 'backorder_filled') notified.push(o.id);
    });
    const filledSecond = rig.next(second.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 3);
    await filledSecond;
    expect(notified).toEqual([vipLater.id, first.id, second.id]);
    for (const o of [vipLater, first, second]) expect(orderOf(rig.service.get(o.id)).state).toBe('RESERVED');
    const waiting = orderOf(rig.service.get(third.id));
    expect(waiting.state).toBe('PENDING_BACKORDER');
    expect(waiting.queuePosition).toBe(1);
    expect((await rig.sku(A)).available).toBe(0);

    const filledThird = rig.next(third.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 4);
    expect((await filledThird).state).toBe('RESERVED');
    expect(rig.service.accuracyReport().byKind.backorder.count).toBe(4);
  });

  it('the head of the queue is not overtaken by a smaller order behind it', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'backorder' } } });
    await rig.stock(A, 0);
    const big = orderOf(await rig.service.place(canonical([[A, 5]])));
    const small = orderOf(await rig.service.place(canonical([[A, 1]])));
    await rig.stock(A, 2);
    // The report of the change reaches the service; the fill pass sees the head needs 5 and stops.
    await rig.stock(A, 5);
    const filled = await rig.next(big.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    expect(filled.state).toBe('RESERVED');
    expect(orderOf(rig.service.get(small.id)).state).toBe('PENDING_BACKORDER');
  });

  it('a backorder keeps waiting across a restart and is filled afterwards', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'backorder' } } });
    await rig.stock(A, 0);
    const placed = orderOf(await rig.service.place(canonical([[A, 2]])));
    await rig.reopen();
    expect(orderOf(rig.service.get(placed.id)).state).toBe('PENDING_BACKORDER');
    const filled = rig.next(placed.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 2);
    expect((await filled).state).toBe('RESERVED');
  });
});
