// The catalogue views over a real socket: server-side SKU search across shards (the dashboard
// never loads the whole catalogue), a SKU's reservations list, and fulfilment-failure reports.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/actors/engine.js';
import type { SkuSearchPage } from '../src/actors/sku-search.js';
import type { ReservationListView, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway/server.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { TEST_KEYS, call } from './process.js';
import { TestClient } from './ws-client.js';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

let engine: Engine;
let gateway: Gateway;
let http: string;

beforeAll(async () => {
  const config = buildConfig({
    shards: 2,
    dataDir: tempDir(),
    http: { port: 0 },
    apiKeys: [
      { id: 'admin', sha256: sha256(TEST_KEYS.admin), channel: null, scopes: ['admin'] },
      { id: 'web', sha256: sha256(TEST_KEYS.web), channel: 'web', scopes: ['reserve', 'read'] },
      { id: 'reader', sha256: sha256(TEST_KEYS.reader), channel: null, scopes: ['read'] },
    ],
  });
  engine = await Engine.start(config);
  gateway = await startGateway(engine, config);
  http = `http://127.0.0.1:${gateway.port}`;
  // 60 SKUs over both shards: CAT-00 … CAT-59, available = index; every tenth is a lamp.
  const commands = [];
  for (let i = 0; i < 60; i++) {
    const sku = `CAT-${String(i).padStart(2, '0')}`;
    commands.push({ type: 'setStock', sku, location: 'dc', onHand: i, eventId: `e-${sku}` });
    if (i % 10 === 0) commands.push({ type: 'defineSku', sku, category: 'lamps', tags: ['flash-sale'] });
  }
  const replies = await engine.executeBatch(commands as never);
  expect(replies.every((r) => r.ok)).toBe(true);
});
afterAll(async () => {
  gateway.close();
  await engine.stop();
  removeTempDirs();
});

const search = async (query: string, key: string = TEST_KEYS.reader) => call(http, 'GET', `/v1/skus?${query}`, undefined, key);

describe('catalogue search', () => {
  it('pages across shards in a stable order, with the total', async () => {
    const first = await search('limit=25');
    expect(first.status).toBe(200);
    const page1 = first.body as SkuSearchPage;
    expect(page1.total).toBe(60);
    expect(page1.skus.map((s) => s.sku)).toEqual(Array.from({ length: 25 }, (_, i) => `CAT-${String(i).padStart(2, '0')}`));
    const page3 = (await search('limit=25&offset=50')).body as SkuSearchPage;
    expect(page3.skus.map((s) => s.sku)).toEqual(Array.from({ length: 10 }, (_, i) => `CAT-${50 + i}`));
  });

  it('sorts by a level, descending, and filters by text in the id, category or tags', async () => {
    const top = (await search('sort=available&order=desc&limit=3')).body as SkuSearchPage;
    expect(top.skus.map((s) => [s.sku, s.available])).toEqual([['CAT-59', 59], ['CAT-58', 58], ['CAT-57', 57]]);
    const lamps = (await search('q=LAMP&limit=100')).body as SkuSearchPage;
    expect(lamps.total).toBe(6);
    expect((await search('q=flash&limit=100')).body).toMatchObject({ total: 6 });
    expect((await search('q=cat-1&limit=100')).body).toMatchObject({ total: 10 });
  });

  it('lists only SKUs with open alerts on request, naming the episodes', async () => {
    // CAT-00 has 0 units: a zero-stock episode is open.
    const alerting = (await search('alerting=true&limit=100')).body as SkuSearchPage;
    expect(alerting.skus.map((s) => [s.sku, s.alerts])).toEqual([['CAT-00', ['zero_stock']]]);
  });

  it('answers each bad parameter with VALIDATION_FAILED and the field', async () => {
    for (const [query, field] of [
      ['sort=price', 'sort'],
      ['order=up', 'order'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['offset=-1', 'offset'],
      ['offset=9990&limit=20', 'offset'],
      ['alerting=yes', 'alerting'],
      [`q=${'x'.repeat(65)}`, 'q'],
    ]) {
      const reply = await search(query);
      expect(reply.status, query).toBe(400);
      expect(reply.body, query).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { field } } });
    }
  });

  it('needs a key with the read scope', async () => {
    expect((await search('limit=1', null as never)).status).toBe(401);
  });
});

describe('reservations list and fulfilment failures', () => {
  it('lists ACTIVE reservations and the waiting queue; channel keys may not', async () => {
    const base = { sku: 'CAT-03', orderId: 'o', customerId: 'c', channel: 'web' };
    await call(http, 'POST', '/v1/reservations', { ...base, idempotencyKey: 'cat-list-0001', quantity: 3 }, TEST_KEYS.admin);
    await call(http, 'POST', '/v1/reservations', { ...base, customerId: 'c2', idempotencyKey: 'cat-list-0002', quantity: 2, queueIfShort: true }, TEST_KEYS.admin);
    const list = await call(http, 'GET', '/v1/skus/CAT-03/reservations', undefined, TEST_KEYS.reader);
    expect(list.status).toBe(200);
    const view = list.body as ReservationListView;
    expect(view.reservations.map((r) => [r.state, r.quantity])).toEqual([['ACTIVE', 3]]);
    expect(view.pending.map((r) => [r.state, r.requested])).toEqual([['PENDING', 2]]);
    expect(view.truncated).toBe(false);
    expect((await call(http, 'GET', '/v1/skus/CAT-03/reservations?limit=1', undefined, TEST_KEYS.reader)).body).toMatchObject({ truncated: false });
    expect((await call(http, 'GET', '/v1/skus/CAT-03/reservations?limit=abc', undefined, TEST_KEYS.reader)).status).toBe(400);
    expect((await call(http, 'GET', '/v1/skus/CAT-03/reservations', undefined, TEST_KEYS.web)).body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await call(http, 'GET', '/v1/skus/NOPE/reservations', undefined, TEST_KEYS.reader)).body).toMatchObject({ error: { code: 'SKU_NOT_FOUND' } });
  });

  it('answers the stock series of a SKU (read scope), and SKU_NOT_FOUND for an unknown one', async () => {
    const series = await call(http, 'GET', '/v1/skus/CAT-07/stock-series', undefined, TEST_KEYS.reader);
    expect(series.status).toBe(200);
    expect(series.body).toMatchObject({ sku: 'CAT-07', intervalMs: 10_000 });
    expect(series.body.points.at(-1)).toMatchObject({ onHand: 7, reserved: 0, available: 7 });
    expect((await call(http, 'GET', '/v1/skus/NOPE/stock-series', undefined, TEST_KEYS.reader)).body).toMatchObject({ error: { code: 'SKU_NOT_FOUND' } });
  });

  it('opens a fulfilment_failed alert from a report (admin only)', async () => {
    const body = { orderId: 'o-9', reason: 'carrier refused', location: 'dc' };
    expect((await call(http, 'POST', '/v1/skus/CAT-05/fulfilment-failures', body, TEST_KEYS.reader)).status).toBe(403);
    expect((await call(http, 'POST', '/v1/skus/CAT-05/fulfilment-failures', { ...body, location: 'mars' }, TEST_KEYS.admin)).body).toMatchObject({
      error: { code: 'UNKNOWN_LOCATION' },
    });
    expect((await call(http, 'POST', '/v1/skus/CAT-05/fulfilment-failures', body, TEST_KEYS.admin)).status).toBe(200);
    const sku = (await call(http, 'GET', '/v1/skus/CAT-05', undefined, TEST_KEYS.reader)).body as SkuView;
    expect(sku.alerts.map((a) => a.id)).toEqual(['CAT-05/fulfilment_failed/dc/1']);
  });
});

describe('operators live feed', () => {
  it('pushes a summary every second with the reserves answered in it, to watchOps connections only', async () => {
    const watcher = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, { key: TEST_KEYS.reader });
    expect(await watcher.send('watchOps')).toMatchObject({ ok: true, result: { watchingOps: true } });
    const shopper = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, { key: TEST_KEYS.web });
    for (let i = 0; i < 5; i++) {
      const answer = await shopper.send('reserve', { sku: 'CAT-40', idempotencyKey: `ops-feed-${i}-0001`, orderId: 'o', customerId: `c${i}`, quantity: 1 });
      expect(answer.ok).toBe(true);
    }
    // Summaries arrive once a second; wait for the one that counted our reserves.
    let seen = 0;
    let counted: any = null;
    while (!counted) {
      const pushes = await watcher.pushesReceived(seen + 1);
      seen = pushes.length;
      counted = pushes.find((p) => p.push === 'ops' && p.reserve.perSecond > 0) ?? null;
    }
    expect(counted.reserve.p99Ms).toBeGreaterThan(0);
    expect(counted.shards).toMatchObject({ ready: true });
    expect(counted.shards.depths).toHaveLength(2);
    expect(counted.walCommit.commits).toBeGreaterThan(0);
    expect(shopper.pushes).toEqual([]);
    expect(await watcher.send('unwatchOps')).toMatchObject({ ok: true, result: { watchingOps: false } });
    await watcher.close();
    await shopper.close();
  });

  it('needs a key', async () => {
    const anonymous = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`);
    expect(await anonymous.send('watchOps')).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    await anonymous.close();
  });
});
