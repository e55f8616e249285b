// Recovery of the order store: a placement interrupted between RECEIVED and its outcome is
// finished on start with the same engine keys (no second reservation); state survives a reopen;
// a store that breaks an invariant refuses to start.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReservationView } from '../src/actors/types.js';
import { buildOrdersConfig } from '../src/orders/config.js';
import { decide, evolveAll } from '../src/orders/lifecycle.js';
import { newOrder, type Order } from '../src/orders/model.js';
import { OrderRecoveryError, OrderService } from '../src/orders/service.js';
import { OrderStore } from '../src/orders/store.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { canonical, orderOf, sharedEngine, skus, startOrders, type SharedEngine } from './orders-fixtures.js';

let shared: SharedEngine;

beforeAll(async () => {
  shared = await sharedEngine();
}, 60_000);

afterAll(async () => {
  await shared.stop();
});

afterEach(() => removeTempDirs());

/** Write a RECEIVED order straight into a store, as a crash right after that write would leave it. */
async function receivedOnly(dataDir: string, sku: string, quantity: number): Promise<{ order: Order; instance: string }> {
  const store = OrderStore.open(dataDir);
  const c = canonical([[sku, quantity]]);
  const order: Order = { ...newOrder('ord-00000001', c, 0), preOrder: false };
  const d = decide(null, { type: 'receive', order }, 1);
  if (!d.ok) throw new Error(d.error.code);
  const received = evolveAll(null, d.events)!;
  const { flushed } = store.write(1, [{ order: received, events: d.events }], [], {
    externalKeys: [[OrderStore.externalKey(c.channel, c.account, c.externalId), received.id]],
    counters: [['orderNo', 1]],
  });
  await flushed;
  const instance = store.instanceId();
  await store.close();
  return { order: received, instance };
}

describe('order store recovery', () => {
  it('finishes a placement interrupted after RECEIVED', async () => {
    const [A] = skus('A');
    const dataDir = tempDir('stockade-orders-');
    await shared.engine.execute({ type: 'setStock', sku: A, location: 'w1', onHand: 5, eventId: `${A}-1` });
    const { order } = await receivedOnly(dataDir, A, 2);
    const service = await OrderService.open({ engine: shared.engine, dataDir, config: buildOrdersConfig(), timers: false });
    try {
      const now = orderOf(service.get(order.id));
      expect(now.state).toBe('RESERVED');
      const sku = await shared.engine.execute({ type: 'getSku', sku: A });
      expect(sku.ok && (sku.value as { available: number }).available).toBe(3);
    } finally {
      await service.close();
    }
  });

  it('reuses the reservation the engine made before the crash instead of reserving twice', async () => {
    const [A] = skus('A');
    const dataDir = tempDir('stockade-orders-');
    await shared.engine.execute({ type: 'setStock', sku: A, location: 'w1', onHand: 5, eventId: `${A}-1` });
    const { order, instance } = await receivedOnly(dataDir, A, 2);
    // The crash came after the engine reserved the line with the placement's key.
    const before = await shared.engine.execute({
      type: 'reserve',
      sku: A,
      quantity: 2,
      idempotencyKey: `${instance}.${order.id}.p.l0`,
      orderId: order.id,
      customerId: order.customer.id,
      channel: order.channel,
      priority: 1,
      holdTtlMs: 24 * 60 * 60_000,
    });
    expect(before.ok).toBe(true);
    const service = await OrderService.open({ engine: shared.engine, dataDir, config: buildOrdersConfig(), timers: false });
    try {
      const now = orderOf(service.get(order.id));
      expect(now.state).toBe('RESERVED');
      expect(now.reservationIds).toEqual([(before as { value: ReservationView }).value.reservationId]);
      const sku = await shared.engine.execute({ type: 'getSku', sku: A });
      expect(sku.ok && (sku.value as { available: number }).available).toBe(3);
    } finally {
      await service.close();
    }
  });

  it('keeps orders, queues, settings and counters across a reopen', async () => {
    const [A, P] = skus('A', 'P');
    const rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'backorder' } } });
    try {
      await rig.service.setPreorder(P, { enabled: true, capacity: 5, leadTimeDays: 10 });
      await rig.service.setSubstitutes(A, { substitutes: [P] });
      const back = orderOf(await rig.service.place(canonical([[A, 1]])));
      const pre = orderOf(await rig.service.place(canonical([[P, 2]], { preOrder: true })));
      await rig.reopen();
      expect(orderOf(rig.service.get(back.id))).toMatchObject({ state: 'PENDING_BACKORDER', queuePosition: 1 });
      expect(orderOf(rig.service.get(pre.id))).toMatchObject({ state: 'PRE_ORDER', queuePosition: 1, estimate: pre.estimate });
      expect(rig.service.skuSettings(P)).toMatchObject({ preorderUnits: 2, preorder: { capacity: 5 } });
      expect(rig.service.skuSettings(A).substitutes).toEqual([P]);
      const third = orderOf(await rig.service.place(canonical([[A, 1]])));
      expect(third.id > pre.id).toBe(true);
      expect(third.queue!.seq).toBeGreaterThan(pre.queue!.seq);
    } finally {
      await rig.stop();
    }
  });

  it('refuses to start on a store that breaks an invariant', async () => {
    const dataDir = tempDir('stockade-orders-');
    const { order } = await receivedOnly(dataDir, 'X', 1);
    const store = OrderStore.open(dataDir);
    // A pre-order state with no queue place: no transition can produce it.
    const broken: Order = { ...order, version: 2, state: 'PRE_ORDER', preOrder: true };
    await store.write(2, [{ order: broken, events: [{ type: 'OrderPaused', at: 2 }] }], []).flushed;
    await store.close();
    await expect(OrderService.open({ engine: shared.engine, dataDir, config: buildOrdersConfig(), timers: false })).rejects.toThrow(OrderRecoveryError);
  });

  it('refuses to start when the pre-ordered units disagree with the orders', async () => {
    const [P] = skus('P');
    const rig = await startOrders(shared.engine);
    await rig.service.setPreorder(P, { enabled: true, capacity: 5, leadTimeDays: 10 });
    orderOf(await rig.service.place(canonical([[P, 2]], { preOrder: true })));
    await rig.stop();
    const store = OrderStore.open(rig.dataDir);
    await store.write(3, [], [], { settings: [{ ...store.skus.get(P)!, preorderUnits: 4 }] }).flushed;
    await store.close();
    await expect(OrderService.open({ engine: shared.engine, dataDir: rig.dataDir, config: buildOrdersConfig(), timers: false })).rejects.toThrow(/counts 4 pre-ordered units, its orders 2/);
  });
});
