// Pre-orders against a real engine: support and capacity, queue fairness under a burst, the
// estimate and its updates, pause/resume, reminders exactly once across restarts, filling in
// order when stock arrives, shipments merged per customer, and the accuracy report.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OrderEvent } from '../src/orders/model.js';
import type { OrderService } from '../src/orders/service.js';
import { removeTempDirs } from './helpers.js';
import { canonical, codeOf, DAY, orderOf, sharedEngine, skus, startOrders, type OrdersRig, type SharedEngine } from './orders-fixtures.js';

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

const iso = (ms: number) => new Date(ms).toISOString();
const pre = (lines: [string, number][], extra: Parameters<typeof canonical>[1] = {}) => canonical(lines, { preOrder: true, ...extra });

async function offer(sku: string, capacity: number, scheduleDays: [days: number, quantity: number][] = [], leadTimeDays: number | null = null) {
  const answer = await rig.service.setPreorder(sku, {
    enabled: true,
    capacity,
    schedule: scheduleDays.map(([days, quantity]) => ({ at: iso(rig.clock.now + days * DAY), quantity })),
    leadTimeDays,
  });
  if (!answer.ok) throw new Error(JSON.stringify(answer.error));
  return answer.value;
}

describe('placing pre-orders', () => {
  it('is refused for a SKU that does not offer them, or has switched them off', async () => {
    const [A, B] = skus('A', 'B');
    rig = await startOrders(shared.engine);
    const none = await rig.service.place(pre([[A, 1]]));
    expect(codeOf(none)).toBe('PREORDER_NOT_OFFERED');
    expect(!none.ok && none.error.details).toEqual({ sku: A });
    await rig.service.setPreorder(B, { enabled: false, capacity: 10 });
    expect(codeOf(await rig.service.place(pre([[B, 1]])))).toBe('PREORDER_NOT_OFFERED');
  });

  it('answers PRE_ORDER, a queue position and a delivery window; capacity is a hard limit', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 5, [[10, 100]]);
    const first = orderOf(await rig.service.place(pre([[A, 3]])));
    expect(first.state).toBe('PRE_ORDER');
    expect(first.queuePosition).toBe(1);
    expect(first.estimate).toEqual({ availableAt: rig.clock.now + 10 * DAY, deliveryFrom: rig.clock.now + 12 * DAY, deliveryTo: rig.clock.now + 15 * DAY });
    const refused = await rig.service.place(pre([[A, 3]]));
    expect(codeOf(refused)).toBe('PREORDER_CAPACITY_EXHAUSTED');
    expect(!refused.ok && refused.error.details).toEqual({ sku: A, capacity: 5, remaining: 2 });
    expect(orderOf(await rig.service.place(pre([[A, 2]]))).queuePosition).toBe(2);
    expect(rig.service.skuSettings(A).preorderUnits).toBe(5);
  });

  it('settings are validated: unknown fields, bad dates, capacity below what is taken', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    expect(codeOf(await rig.service.setPreorder(A, { enabled: true, capacity: 5, extra: 1 }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await rig.service.setPreorder(A, { enabled: true, capacity: 5, schedule: [{ at: 'tomorrow', quantity: 1 }] }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await rig.service.setPreorder(A, { enabled: true, capacity: -1 }))).toBe('VALIDATION_FAILED');
    await offer(A, 5);
    orderOf(await rig.service.place(pre([[A, 4]])));
    const below = await rig.service.setPreorder(A, { enabled: true, capacity: 3 });
    expect(codeOf(below)).toBe('VALIDATION_FAILED');
    expect(rig.service.skuSettings(A).preorder!.capacity).toBe(5);
    expect(codeOf(await rig.service.setSubstitutes(A, { substitutes: [A] }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await rig.service.setSubstitutes(A, { substitutes: ['bad sku!'] }))).toBe('VALIDATION_FAILED');
  });
});

describe('queue fairness', () => {
  it('a burst of pre-orders gets positions 1..capacity in arrival order, no gaps, no duplicates, no overbooking', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 30, [[10, 10], [20, 10], [30, 10]]);
    const answers = await Promise.all(Array.from({ length: 50 }, () => rig.service.place(pre([[A, 1]]))));
    const accepted = answers.slice(0, 30).map(orderOf);
    expect(accepted.map((o) => o.queuePosition)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const refused of answers.slice(30)) expect(codeOf(refused)).toBe('PREORDER_CAPACITY_EXHAUSTED');
    const queue = rig.service.preordersOf(A);
    expect(queue.map((e) => e.orderId)).toEqual(accepted.map((o) => o.id));
    expect(queue.map((e) => e.position)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Ten units arrive per batch: positions 1-10 in the first, 11-20 in the second, 21-30 in the third.
    expect(queue.map((e) => Math.round((e.estimate!.availableAt - rig.clock.now) / DAY))).toEqual([
      ...Array<number>(10).fill(10),
      ...Array<number>(10).fill(20),
      ...Array<number>(10).fill(30),
    ]);
    expect(rig.service.skuSettings(A).preorderUnits).toBe(30);
  });
});

describe('position, pause and resume, cancel', () => {
  it('pause and resume keep the position; cancelling frees capacity and moves the others up', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 3, [[10, 1], [20, 1], [30, 1]]);
    const [a, b, c] = [orderOf(await rig.service.place(pre([[A, 1]]))), orderOf(await rig.service.place(pre([[A, 1]]))), orderOf(await rig.service.place(pre([[A, 1]])))];
    expect(codeOf(await rig.service.place(pre([[A, 1]])))).toBe('PREORDER_CAPACITY_EXHAUSTED');

    const paused = orderOf(await rig.service.pause(a.id));
    expect(paused.queue!.paused).toBe(true);
    expect(paused.queuePosition).toBe(1);
    expect(orderOf(rig.service.get(b.id)).queuePosition).toBe(2);
    expect(codeOf(await rig.service.pause('ord-zzzzzzzz'))).toBe('ORDER_NOT_FOUND');
    const resumed = orderOf(await rig.service.resume(a.id));
    expect(resumed.queue!.paused).toBe(false);
    expect(resumed.queuePosition).toBe(1);
    expect(resumed.queue!.seq).toBe(a.queue!.seq);

    expect(c.estimate!.availableAt - rig.clock.now).toBe(30 * DAY);
    orderOf(await rig.service.cancel(b.id, 'changed mind'));
    const moved = orderOf(rig.service.get(c.id));
    expect(moved.queuePosition).toBe(2);
    // Its estimate follows its position: the second batch is now its own.
    expect(moved.estimate!.availableAt - rig.clock.now).toBe(20 * DAY);
    expect(moved.queue!.promised.availableAt - rig.clock.now).toBe(30 * DAY);
    expect(orderOf(rig.service.get(a.id)).estimate!.availableAt - rig.clock.now).toBe(10 * DAY);
    expect(rig.service.skuSettings(A).preorderUnits).toBe(2);
    // The freed unit can be pre-ordered again, at the back of the queue.
    expect(orderOf(await rig.service.place(pre([[A, 1]]))).queuePosition).toBe(3);
  });

  it('arriving stock fills the queue in order, passing over a paused order without taking its place', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 10, [[10, 10]]);
    const [a, b, c] = [orderOf(await rig.service.place(pre([[A, 2]]))), orderOf(await rig.service.place(pre([[A, 2]]))), orderOf(await rig.service.place(pre([[A, 2]])))];
    orderOf(await rig.service.pause(a.id));
    const filled: string[] = [];
    rig.service.onChange((o, events) => {
      for (const e of events) if (e.type === 'CustomerNotified' && e.kind === 'preorder_filled') filled.push(o.id);
    });
    const cFilled = rig.next(c.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 4);
    await cFilled;
    expect(filled).toEqual([b.id, c.id]);
    const waiting = orderOf(rig.service.get(a.id));
    expect(waiting.state).toBe('PRE_ORDER');
    expect(waiting.queuePosition).toBe(1);

    const aFilled = rig.next(a.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 6);
    orderOf(await rig.service.resume(a.id));
    const done = await aFilled;
    expect(done.state).toBe('RESERVED');
    expect(done.fill!.kind).toBe('preorder');
    // Filled pre-orders keep their capacity; the production run is spent.
    expect(rig.service.skuSettings(A).preorderUnits).toBe(6);
  });
});

describe('estimates', () => {
  it('a schedule change re-estimates every open pre-order, in one change', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 10, [[10, 2], [20, 2]]);
    const orders = [orderOf(await rig.service.place(pre([[A, 2]]))), orderOf(await rig.service.place(pre([[A, 2]])))];
    expect(orders.map((o) => o.estimate!.availableAt - rig.clock.now)).toEqual([10 * DAY, 20 * DAY]);
    const changed: string[] = [];
    rig.service.onChange((o, events) => {
      if (events.some((e) => e.type === 'OrderEstimateChanged')) changed.push(o.id);
    });
    const answer = await offer(A, 10, [[15, 4]]);
    expect(answer.reestimated).toBe(2);
    expect(changed).toEqual(orders.map((o) => o.id));
    for (const o of orders) {
      const now = orderOf(rig.service.get(o.id));
      expect(now.estimate!.availableAt - rig.clock.now).toBe(15 * DAY);
      expect(now.queue!.promised).toEqual(o.estimate);
    }
    // The same schedule again changes nothing.
    expect((await offer(A, 10, [[15, 4]])).reestimated).toBe(0);
  });

  it('without a schedule, the supplier lead time gives the date', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine);
    await offer(A, 10, [], 21);
    expect(orderOf(await rig.service.place(pre([[A, 1]]))).estimate!.availableAt).toBe(rig.clock.now + 21 * DAY);
  });
});

describe('reminders', () => {
  function countReminders(service: OrderService, sink: { orderId: string; days: number[]; text: string }[]) {
    service.onChange((o, events: readonly OrderEvent[]) => {
      for (const e of events) if (e.type === 'CustomerNotified' && e.kind === 'preorder_reminder') sink.push({ orderId: o.id, days: e.reminderDaysBefore!, text: e.text });
    });
  }

  it('go out at 30 and 7 days before the expected date, exactly once, across restarts', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { reminderDaysBefore: [30, 7] } });
    await offer(A, 10, [[40, 10]]);
    const placed = orderOf(await rig.service.place(pre([[A, 1]], { externalId: 'R-1' })));
    const sent: { orderId: string; days: number[]; text: string }[] = [];
    countReminders(rig.service, sent);

    rig.clock.advance(5 * DAY); // 35 days before
    expect(await rig.service.checkReminders()).toBe(0);
    rig.clock.advance(6 * DAY); // 29 days before
    expect(await rig.service.checkReminders()).toBe(1);
    expect(await rig.service.checkReminders()).toBe(0);
    expect(sent).toEqual([{ orderId: placed.id, days: [30], text: 'Order R-1: your pre-order is expected in about 29 days (around 2027-01-02).' }]);

    await rig.reopen();
    countReminders(rig.service, sent);
    expect(await rig.service.checkReminders()).toBe(0);
    rig.clock.advance(23 * DAY); // 6 days before
    expect(await rig.service.checkReminders()).toBe(1);
    await rig.reopen();
    countReminders(rig.service, sent);
    expect(await rig.service.checkReminders()).toBe(0);
    expect(sent.map((s) => s.days)).toEqual([[30], [7]]);
    expect(orderOf(rig.service.get(placed.id)).remindersSent).toEqual([30, 7]);
  });

  it('a check after downtime past both sends one message; intervals already past at placement are never sent', async () => {
    const [A, B] = skus('A', 'B');
    rig = await startOrders(shared.engine, { orders: { reminderDaysBefore: [30, 7] } });
    await offer(A, 10, [[40, 10]]);
    await offer(B, 10, [[20, 10]]);
    const late = orderOf(await rig.service.place(pre([[A, 1]])));
    const placedInside = orderOf(await rig.service.place(pre([[B, 1]])));
    expect(placedInside.remindersSent).toEqual([30]);
    const sent: { orderId: string; days: number[]; text: string }[] = [];
    countReminders(rig.service, sent);
    rig.clock.advance(35 * DAY); // A: 5 days before; B: already due date passed
    expect(await rig.service.checkReminders()).toBe(1);
    expect(sent.map((s) => [s.orderId, s.days])).toEqual([[late.id, [30, 7]]]);
  });

  it('a paused pre-order gets no reminder until resumed', async () => {
    const [A] = skus('A');
    rig = await startOrders(shared.engine, { orders: { reminderDaysBefore: [7] } });
    await offer(A, 10, [[10, 10]]);
    const placed = orderOf(await rig.service.place(pre([[A, 1]])));
    orderOf(await rig.service.pause(placed.id));
    rig.clock.advance(4 * DAY);
    expect(await rig.service.checkReminders()).toBe(0);
    orderOf(await rig.service.resume(placed.id));
    expect(await rig.service.checkReminders()).toBe(1);
  });
});

describe('shipments', () => {
  it("one customer's pre-orders due close together ship as one; a later one ships alone", async () => {
    const [A, B, C] = skus('A', 'B', 'C');
    rig = await startOrders(shared.engine, { orders: { mergeWindowDays: 3 } });
    await offer(A, 10, [[10, 10]]);
    await offer(B, 10, [[12, 10]]);
    await offer(C, 10, [[20, 10]]);
    const customer = { id: 'merge-customer', email: null, name: null, tier: 'standard' as const };
    const a = orderOf(await rig.service.place(pre([[A, 1]], { customer })));
    const b = orderOf(await rig.service.place(pre([[B, 1]], { customer })));
    const c = orderOf(await rig.service.place(pre([[C, 1]], { customer })));
    const other = orderOf(await rig.service.place(pre([[A, 1]])));
    expect(rig.service.shipmentsOf(customer.id).map((s) => s.orderIds)).toEqual([[a.id, b.id], [c.id]]);
    expect(orderOf(rig.service.get(b.id)).shipmentId).toBe(a.id);
    expect(orderOf(rig.service.get(c.id)).shipmentId).toBe(c.id);
    expect(other.shipmentId).toBe(other.id);
    // A cancelled pre-order leaves its shipment.
    orderOf(await rig.service.cancel(a.id));
    expect(rig.service.shipmentsOf(customer.id).map((s) => s.orderIds)).toEqual([[b.id], [c.id]]);
  });
});

describe('accuracy', () => {
  it('records estimated and actual availability and reports the variance against the 5 % target', async () => {
    const [A, B] = skus('A', 'B');
    rig = await startOrders(shared.engine);
    expect(rig.service.accuracyReport()).toMatchObject({ count: 0, meetsTarget: true });
    await offer(A, 10, [[10, 10]]);
    await offer(B, 10, [[10, 10]]);
    const onTime = orderOf(await rig.service.place(pre([[A, 1]])));
    const late = orderOf(await rig.service.place(pre([[B, 1]])));
    rig.clock.advance(10 * DAY + DAY / 5); // 0.2 days late on a 10-day promise: 2 %
    const filledA = rig.next(onTime.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(A, 1);
    await filledA;
    let report = rig.service.accuracyReport();
    expect(report).toMatchObject({ count: 1, meanAbsErrorPercent: 2, withinTargetPercent: 100, meetsTarget: true });
    rig.clock.advance(DAY); // B: 1.2 days late: 12 %
    const filledB = rig.next(late.id, (events) => events.some((e) => e.type === 'OrderReserved'));
    await rig.stock(B, 1);
    await filledB;
    report = rig.service.accuracyReport();
    expect(report).toMatchObject({ count: 2, meanAbsErrorPercent: 7, p95AbsErrorPercent: 12, withinTargetPercent: 50, meetsTarget: false, targetPercent: 5 });
    expect(report.byKind.preorder.count).toBe(2);
  });
});
