// The gateway's alert routes forward to the notifier's HTTP API (acknowledgement, history, CSV)
// with the notifier's token, which never reaches the caller. A stand-in notifier records what
// arrives; an unconfigured or unreachable notifier is NOTIFIER_UNAVAILABLE.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/actors/engine.js';
import { buildConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway/server.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { TEST_KEYS, call } from './process.js';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const NOTIFIER_TOKEN = 'notifier-admin-token-for-tests';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let notifier: Server;
const seen: Seen[] = [];
let engine: Engine;
const gateways: Gateway[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function gatewayWith(url: string | null): Promise<string> {
  const config = buildConfig({
    shards: 1,
    dataDir: tempDir(),
    http: { port: 0 },
    apiKeys: [
      { id: 'admin', sha256: sha256(TEST_KEYS.admin), channel: null, scopes: ['admin'] },
      { id: 'reader', sha256: sha256(TEST_KEYS.reader), channel: null, scopes: ['read'] },
    ],
    notifier: { url, adminToken: NOTIFIER_TOKEN, timeoutMs: 2000 },
  });
  engine ??= await Engine.start(config);
  const gateway = await startGateway(engine, config);
  gateways.push(gateway);
  return `http://127.0.0.1:${gateway.port}`;
}

beforeAll(async () => {
  notifier = createServer(async (req, res) => {
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: await readBody(req) });
    if (req.url!.startsWith('/v1/alerts.csv')) {
      res
        .writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="alerts.csv"' })
        .end('alertId,type\r\nA/zero_stock/*/1,zero_stock\r\n');
    } else if (req.url!.includes('/missing/ack')) {
      // As the real notifier answers errors: a bare {code, message}.
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'ALERT_NOT_OPEN', message: 'no open alert' }));
    } else if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ alertId: 'x', ackedBy: 'ops', ackedAt: '2026-11-23T17:00:00.000Z' }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ alerts: [], limit: 5 }));
    }
  });
  notifier.listen(0, '127.0.0.1');
  await once(notifier, 'listening');
});
afterAll(async () => {
  for (const g of gateways) g.close();
  await engine.stop();
  notifier.close();
  removeTempDirs();
});

describe('alert routes', () => {
  it('forward an acknowledgement with the notifier token, and its answer', async () => {
    const http = await gatewayWith(`http://127.0.0.1:${(notifier.address() as { port: number }).port}`);
    const reply = await call(http, 'POST', `/v1/alerts/${encodeURIComponent('SKU-1/zero_stock/*/1')}/ack`, { by: 'ops' }, TEST_KEYS.admin);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ ackedBy: 'ops' });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'POST', url: '/v1/alerts/SKU-1%2Fzero_stock%2F*%2F1/ack', authorization: `Bearer ${NOTIFIER_TOKEN}` });
    expect(JSON.parse(last.body)).toEqual({ by: 'ops' });

    const missing = await call(http, 'POST', '/v1/alerts/missing/ack', { by: 'ops' }, TEST_KEYS.admin);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'ALERT_NOT_OPEN' } });
  });

  it('need the admin scope to acknowledge and the read scope for history', async () => {
    const http = await gatewayWith(`http://127.0.0.1:${(notifier.address() as { port: number }).port}`);
    const before = seen.length;
    expect((await call(http, 'POST', '/v1/alerts/a/ack', { by: 'x' }, TEST_KEYS.reader)).status).toBe(403);
    expect((await call(http, 'GET', '/v1/alerts?sku=A', undefined, null)).status).toBe(401);
    expect(seen.length).toBe(before);
    const history = await call(http, 'GET', '/v1/alerts?sku=A&limit=5', undefined, TEST_KEYS.reader);
    expect(history.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/v1/alerts?sku=A&limit=5' });
    const csv = await fetch(`${http}/v1/alerts.csv?type=zero_stock`, { headers: { authorization: `Bearer ${TEST_KEYS.reader}` } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="alerts.csv"');
    expect(await csv.text()).toContain('A/zero_stock/*/1');
  });

  it('answer NOTIFIER_UNAVAILABLE when no notifier is configured or it does not answer', async () => {
    const unconfigured = await gatewayWith(null);
    expect((await call(unconfigured, 'POST', '/v1/alerts/a/ack', { by: 'x' }, TEST_KEYS.admin)).body).toMatchObject({ error: { code: 'NOTIFIER_UNAVAILABLE' } });
    // A port nobody listens on: the listener is closed before the call.
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    closed.close();
    await once(closed, 'close');
    const away = await gatewayWith(`http://127.0.0.1:${port}`);
    const reply = await call(away, 'GET', '/v1/alerts', undefined, TEST_KEYS.reader);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ error: { code: 'NOTIFIER_UNAVAILABLE' } });
  });
});
