// Scaffolding for the order-flow tests: a real engine (worker-thread shards, shared by the tests
// of a file because it takes seconds to start on a busy machine; each test uses SKU names of its
// own), an order service on a fresh data directory per test, a clock the test moves, canonical
// orders, and a way to wait for a change the service makes by itself (a fill when stock returns).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/actors/engine.js';
import type { Command, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import type { CanonicalOrder } from '../src/orders/canonical.js';
import { buildOrdersConfig } from '../src/orders/config.js';
import type { Order, OrderEvent } from '../src/orders/model.js';
import type { OrderEventPublisher } from '../src/orders/publisher.js';
import { OrderService, type OrderAnswer, type OrderView } from '../src/orders/service.js';
import { FakeClock, tempDir } from './helpers.js';

export interface OrdersRig {
  engine: Engine;
  service: OrderService;
  clock: FakeClock;
  dataDir: string;
  /** Close the service (the engine stays) and open it again on the same directory. */
  reopen(publisher?: OrderEventPublisher | null): Promise<void>;
  /** Close the service; the shared engine stays for the next test. */
  stop(): Promise<void>;
  stock(sku: string, onHand: number): Promise<void>;
  sku(sku: string): Promise<SkuView>;
  /** Resolves with the first durable change of `orderId` whose events satisfy `match`. */
  next(orderId: string, match: (events: readonly OrderEvent[], order: Order) => boolean): Promise<Order>;
}

let stockEvent = 0;

export interface SharedEngine {
  engine: Engine;
  stop(): Promise<void>;
}

/** One engine for a test file (beforeAll / afterAll). */
export async function sharedEngine(): Promise<SharedEngine> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'stockade-orders-engine-'));
  const engine = await Engine.start(buildConfig({ shards: 2, dataDir: dir }));
  return {
    engine,
    async stop() {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let skuRun = 0;
/** SKU names no other test of the run uses. */
export function skus<N extends string[]>(...names: N): { [K in keyof N]: string } {
  skuRun++;
  return names.map((n) => `${n}-${process.pid}-${skuRun}`) as { [K in keyof N]: string };
}

export async function startOrders(engine: Engine, options: { orders?: Record<string, unknown>; publisher?: OrderEventPublisher | null } = {}): Promise<OrdersRig> {
  const dataDir = tempDir('stockade-orders-');
  const clock = new FakeClock();
  const config = buildOrdersConfig(options.orders ?? {});
  const waiters: { orderId: string; match: (events: readonly OrderEvent[], order: Order) => boolean; resolve: (o: Order) => void }[] = [];
  const open = async (publisher: OrderEventPublisher | null) => {
    const service = await OrderService.open({ engine, dataDir, config, clock: clock.read, timers: false, publisher });
    service.onChange((order, events) => {
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].orderId === order.id && waiters[i].match(events, order)) waiters.splice(i, 1)[0].resolve(order);
      }
    });
    return service;
  };
  const rig: OrdersRig = {
    engine,
    service: await open(options.publisher ?? null),
    clock,
    dataDir,
    async reopen(publisher = options.publisher ?? null) {
      await rig.service.close();
      rig.service = await open(publisher);
    },
    async stop() {
      await rig.service.close();
    },
    async stock(sku, onHand) {
      const reply = await engine.execute({ type: 'setStock', sku, location: 'w1', onHand, eventId: `orders-test-${++stockEvent}` } as Command);
      if (!reply.ok) throw new Error(`setStock failed: ${JSON.stringify(reply.error)}`);
    },
    async sku(sku) {
      const reply = await engine.execute({ type: 'getSku', sku });
      if (!reply.ok) throw new Error(`getSku failed: ${JSON.stringify(reply.error)}`);
      return reply.value as SkuView;
    },
    next(orderId, match) {
      return new Promise((resolve) => waiters.push({ orderId, match, resolve }));
    },
  };
  return rig;
}

let external = 0;

/** A canonical order with one line per [sku, quantity]. */
export function canonical(lines: [sku: string, quantity: number][], overrides: Partial<CanonicalOrder> = {}): CanonicalOrder {
  external++;
  return {
    channel: 'web',
    account: 'main',
    externalId: `ext-${external}`,
    customer: { id: `cust-${external}`, email: 'c@example.com', name: 'C', tier: 'standard' },
    currency: 'EUR',
    totalMinor: 1000,
    lines: lines.map(([sku, quantity], i) => ({ lineId: `l${i}`, sku, quantity, unitPriceMinor: 500, title: `Item ${sku}` })),
    payment: { authorizationId: `auth-${external}`, status: 'authorized' },
    shippingAddress: { name: 'C', line1: '1 Road', city: 'Town', postalCode: '1000', country: 'NL' },
    placedAt: '2026-11-23T12:00:00Z',
    preOrder: false,
    ...overrides,
  };
}

export function orderOf(answer: OrderAnswer): OrderView {
  if (!answer.ok) throw new Error(`expected success, got ${JSON.stringify(answer.error)}`);
  return answer.order;
}

export function codeOf(answer: OrderAnswer | { ok: boolean; error?: { code: string } }): string {
  if (answer.ok) throw new Error('expected an error, got success');
  return (answer as { error: { code: string } }).error.code;
}

export const DAY = 24 * 60 * 60_000;
