// The order routes over a real socket (uWS on 127.0.0.1, port 0) with the auth rules: channel
// keys act on their own channel's orders only, settings and reports need admin, bodies validated.

import { createHash } from 'node:crypto';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { KeyRing } from '../src/gateway/auth.js';
import { Metrics } from '../src/gateway/metrics.js';
import { Operations } from '../src/gateway/operations.js';
import { installOrderRoutes, orderRoutesBehindGateway } from '../src/gateway/orders-routes.js';
import { removeTempDirs } from './helpers.js';
import { canonical, DAY, sharedEngine, skus, startOrders, type OrdersRig, type SharedEngine } from './orders-fixtures.js';

const KEYS = { admin: 'orders-admin-key-1', web: 'orders-web-key-1', pos: 'orders-pos-key-1', reader: 'orders-reader-key-1' };
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = new KeyRing([
  { id: 'admin', sha256: sha256(KEYS.admin), channel: null, scopes: ['admin'] },
  { id: 'web', sha256: sha256(KEYS.web), channel: 'web', scopes: ['reserve', 'read'] },
  { id: 'pos', sha256: sha256(KEYS.pos), channel: 'pos', scopes: ['reserve', 'read'] },
  { id: 'reader', sha256: sha256(KEYS.reader), channel: null, scopes: ['read'] },
]);

let shared: SharedEngine;
let rig: OrdersRig;
let base: string;
let listen: uWS.us_listen_socket;

beforeAll(async () => {
  shared = await sharedEngine();
  rig = await startOrders(shared.engine, { orders: { outOfStockPolicy: { default: 'backorder' } } });
  const app = uWS.App();
  installOrderRoutes(app, { service: rig.service, keys, bodyBytesMax: 64 * 1024 });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => {
      if (!socket) return reject(new Error('cannot listen'));
      listen = socket;
      resolve(uWS.us_socket_local_port(socket));
    }),
  );
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  uWS.us_listen_socket_close(listen);
  await rig.stop();
  await shared.stop();
  removeTempDirs();
});

async function call(method: string, path: string, key: string | null, body?: unknown, raw?: string) {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

describe('order routes', () => {
  it('place (201), read, confirm, ship with a channel key; a repeat placement answers 200 replayed', async () => {
    const [A] = skus('A');
    await rig.stock(A, 5);
    const order = canonical([[A, 2]]);
    const placed = await call('POST', '/v1/orders', KEYS.web, order);
    expect(placed.status).toBe(201);
    expect(placed.body.state).toBe('RESERVED');
    const again = await call('POST', '/v1/orders', KEYS.web, order);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(placed.body.id);

    const id = placed.body.id as string;
    expect((await call('GET', `/v1/orders/${id}`, KEYS.web)).body.state).toBe('RESERVED');
    expect((await call('POST', `/v1/orders/${id}/confirm`, KEYS.web, {})).body.state).toBe('CONFIRMED');
    expect((await call('POST', `/v1/orders/${id}/ship`, KEYS.web)).body.state).toBe('SHIPPED');
    const illegal = await call('POST', `/v1/orders/${id}/cancel`, KEYS.web, { reason: 'too late' });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error.code).toBe('ILLEGAL_ORDER_TRANSITION');
  });

  it("channel keys see and change their own channel's orders only; another channel's order is not found", async () => {
    const [A] = skus('A');
    await rig.stock(A, 5);
    const placed = await call('POST', '/v1/orders', KEYS.web, canonical([[A, 1]]));
    const id = placed.body.id as string;
    const other = await call('GET', `/v1/orders/${id}`, KEYS.pos);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('ORDER_NOT_FOUND');
    expect((await call('POST', `/v1/orders/${id}/cancel`, KEYS.pos, {})).status).toBe(404);
    const forged = await call('POST', '/v1/orders', KEYS.pos, canonical([[A, 1]], { channel: 'web' }));
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('FORBIDDEN');
    // Back-office keys read every channel; a read-only key changes nothing.
    expect((await call('GET', `/v1/orders/${id}`, KEYS.reader)).status).toBe(200);
    expect((await call('POST', `/v1/orders/${id}/cancel`, KEYS.reader, {})).body.error.code).toBe('FORBIDDEN');
    expect((await call('POST', `/v1/orders/${id}/cancel`, KEYS.admin, { reason: 'fraud' })).body.cancelReason).toBe('fraud');
  });

  it('authentication: no key or an unknown key answers 401', async () => {
    expect((await call('GET', '/v1/orders/ord-00000001', null)).status).toBe(401);
    const unknown = await call('POST', '/v1/orders', 'not-a-key', canonical([['X', 1]]));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('bodies are validated: malformed JSON, unknown fields, bodies on actions that take none', async () => {
    expect((await call('POST', '/v1/orders', KEYS.web, undefined, '{not json')).body.error.code).toBe('VALIDATION_FAILED');
    const unknown = await call('POST', '/v1/orders', KEYS.web, { ...canonical([['X', 1]]), extra: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toMatchObject({ field: 'extra' });
    const [A] = skus('A');
    await rig.stock(A, 5);
    const id = (await call('POST', '/v1/orders', KEYS.web, canonical([[A, 1]]))).body.id as string;
    const confirmBody = await call('POST', `/v1/orders/${id}/confirm`, KEYS.web, { capture: 'now' });
    expect(confirmBody.status).toBe(400);
    expect(confirmBody.body.error.details).toMatchObject({ field: 'capture' });
    expect((await call('POST', `/v1/orders/${id}/cancel`, KEYS.web, { reason: 7 })).status).toBe(400);
    expect((await call('GET', `/v1/orders/${id}`, KEYS.web)).body.state).toBe('RESERVED');
  });

  it('pre-order settings need admin; placing, the queue listing, pause/resume and shipments work per channel', async () => {
    const [P] = skus('P');
    const settings = { enabled: true, capacity: 10, schedule: [{ at: new Date(rig.clock.now + 10 * DAY).toISOString(), quantity: 10 }] };
    expect((await call('PUT', `/v1/skus/${P}/preorder`, KEYS.web, settings)).status).toBe(403);
    expect((await call('PUT', `/v1/skus/bad%20sku/preorder`, KEYS.admin, settings)).body.error.code).toBe('INVALID_SKU');
    expect((await call('PUT', `/v1/skus/${P}/preorder`, KEYS.admin, { ...settings, capacity: 'ten' })).status).toBe(400);
    const set = await call('PUT', `/v1/skus/${P}/preorder`, KEYS.admin, settings);
    expect(set.status).toBe(200);
    expect(set.body.preorder.capacity).toBe(10);

    const customer = { id: 'http-customer', email: null, name: null, tier: 'standard' as const };
    const webOrder = await call('POST', '/v1/orders', KEYS.web, canonical([[P, 2]], { preOrder: true, customer }));
    expect(webOrder.status).toBe(201);
    expect(webOrder.body).toMatchObject({ state: 'PRE_ORDER', queuePosition: 1, shipmentId: webOrder.body.id });
    const posOrder = await call('POST', '/v1/orders', KEYS.pos, canonical([[P, 1]], { channel: 'pos', preOrder: true }));
    expect(posOrder.body.queuePosition).toBe(2);

    const all = await call('GET', `/v1/skus/${P}/preorders`, KEYS.admin);
    expect(all.body.preorders.map((e: { orderId: string }) => e.orderId)).toEqual([webOrder.body.id, posOrder.body.id]);
    const posView = await call('GET', `/v1/skus/${P}/preorders`, KEYS.pos);
    expect(posView.body.preorders).toEqual([expect.objectContaining({ orderId: posOrder.body.id, position: 2 })]);

    const paused = await call('POST', `/v1/orders/${webOrder.body.id}/pause`, KEYS.web, {});
    expect(paused.body.queue.paused).toBe(true);
    expect(paused.body.queuePosition).toBe(1);
    expect((await call('POST', `/v1/orders/${webOrder.body.id}/resume`, KEYS.web, {})).body.queuePosition).toBe(1);

    const shipments = await call('GET', `/v1/customers/http-customer/shipments`, KEYS.web);
    expect(shipments.body.shipments).toEqual([expect.objectContaining({ orderIds: [webOrder.body.id] })]);
    expect((await call('GET', `/v1/customers/http-customer/shipments`, KEYS.pos)).body.shipments).toEqual([]);
  });

  it('substitutes and the accuracy report need admin; an unavailable line is answered with them', async () => {
    const [A, S] = skus('A', 'S');
    await rig.stock(A, 0);
    await rig.stock(S, 3);
    expect((await call('PUT', `/v1/skus/${A}/substitutes`, KEYS.web, { substitutes: [S] })).status).toBe(403);
    expect((await call('PUT', `/v1/skus/${A}/substitutes`, KEYS.admin, { substitutes: [S] })).status).toBe(200);
    const placed = await call('POST', '/v1/orders', KEYS.web, canonical([[A, 1]]));
    expect(placed.status).toBe(201);
    expect(placed.body.state).toBe('PENDING_BACKORDER');
    expect(placed.body.hold.lines).toEqual([{ line: 0, sku: A, status: 'OUT_OF_STOCK', available: 0, expectedAt: null, substitutes: [{ sku: S, available: 3 }] }]);
    expect((await call('POST', `/v1/orders/${placed.body.id}/confirm`, KEYS.web, {})).body.error.code).toBe('ILLEGAL_ORDER_TRANSITION');

    expect((await call('GET', '/v1/reports/availability-accuracy', KEYS.reader)).status).toBe(403);
    const report = await call('GET', '/v1/reports/availability-accuracy', KEYS.admin);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ targetPercent: 5 });
  });
});

describe('order routes behind the gateway admission', () => {
  it('spend the key rate like every other call: past the burst, RATE_LIMITED with Retry-After', async () => {
    // The routes as main.ts installs them, behind the gateway's own Operations.admit.
    const config = buildConfig({ apiKeys: [], gateway: { requestsPerSecondPerKey: 1, requestBurstPerKey: 2 } });
    const operations = new Operations(rig.engine, config, new Metrics(rig.engine), { info() {}, error() {} });
    const app = uWS.App();
    orderRoutesBehindGateway(rig.service, 64 * 1024)(app, keys, operations);
    let socket: uWS.us_listen_socket | null = null;
    const port = await new Promise<number>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => {
        if (!s) return reject(new Error('cannot listen'));
        socket = s;
        resolve(uWS.us_socket_local_port(s));
      }),
    );
    try {
      const get = () => fetch(`http://127.0.0.1:${port}/v1/orders/ord-missing1`, { headers: { authorization: `Bearer ${KEYS.reader}` } });
      // A bucket of 2 refilled once a second, ten calls at once: the limiter reads the wall
      // clock, so the bound on those served is taken from the time the ten really took.
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 10 }, get));
      const refillsAtMost = Math.ceil((performance.now() - started) / 1000);
      const served = answers.filter((a) => a.status === 404);
      const limited = answers.filter((a) => a.status === 429);
      expect(served.length + limited.length).toBe(10);
      expect(served.length).toBeGreaterThanOrEqual(2);
      expect(served.length).toBeLessThanOrEqual(2 + refillsAtMost);
      expect(limited.length).toBeGreaterThan(0);
      for (const answer of limited) {
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      }
      // Another key's bucket is its own.
      const other = await fetch(`http://127.0.0.1:${port}/v1/orders/ord-missing1`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
      expect(other.status).toBe(404);
    } finally {
      if (socket) uWS.us_listen_socket_close(socket);
    }
  });
});
