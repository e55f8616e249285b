// `npm run demo`: a flash sale on one machine, end to end, with real servers.
//
//   1. a nats-server from nats.conf (free port, temporary store: the users and permissions apply)
//   2. Stockade (src/main.ts) with 2 shards, and a notifier wired to a webhook receiver in this
//      process that checks every signature
//   3. thousands of shoppers over WebSockets reserving a few hot SKUs; most buy (commit), some
//      abandon their cart so the hold expires; the warehouse restocks over NATS as user `wms`
//   4. a summary: reserves served, oversold (must be 0), latency, alerts raised and delivered
//
// While it runs, the dashboard is at the printed address (key: the printed admin key).
//
//   npm run demo                     about 40 s
//   DEMO_SHOPPERS=3000 DEMO_SECONDS=60 npm run demo
//   DEMO_KEEP=1 npm run demo         leave everything running after the summary (Ctrl-C ends it)

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { build } from 'hdr-histogram-js';
import WebSocket from 'ws';
import type { Alert } from '../src/alerts/alert.js';
import { verifyWebhookSignature } from '../src/notifier/connectors/webhook.js';
import { NatsServer } from '../test/nats-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOPPERS = Number(process.env.DEMO_SHOPPERS ?? 2000);
const SECONDS = Number(process.env.DEMO_SECONDS ?? 25);
const HOT_SKUS = ['DROP-SNEAKER-42', 'DROP-HOODIE-M', 'DROP-CAP'];
const START_STOCK = 400;
const RESTOCK_UNITS = 150;
const RESTOCKS = 4;
/** Share of shoppers who abandon the cart after reserving: their holds expire. */
const ABANDON_SHARE = 0.25;
const HOLD_TTL_MS = 3000;
const ADMIN_KEY = 'demo-admin-key-0001';
const SHOPPER_KEY = 'demo-web-key-0001';
const WEBHOOK_SECRET = 'demo-webhook-secret-0123456789abcdef';
const NOTIFIER_TOKEN = 'demo-notifier-token-0123456789';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stdout.write(`${line}\n`);

function spawnReady(name: string, args: string[], env: Record<string, string>, readyLine: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(readyLine);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ child, match });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready:\n${err.slice(-2000)}`)));
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

interface ShopperStats {
  attempts: number;
  served: number;
  refused: number;
  committed: number;
  abandoned: number;
  errors: number;
  /** Units the shoppers were told they bought, per SKU: what must have left the shelf. */
  unitsBought: Map<string, number>;
}

/** One shopper: connect, reserve 1–2 units of a hot SKU, then buy or walk away. */
async function shop(wsUrl: string, id: number, deadline: number, stats: ShopperStats, latency: ReturnType<typeof build>): Promise<void> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${SHOPPER_KEY}` } });
  await once(ws, 'open');
  let next = 1;
  const waiting = new Map<number, (m: any) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const call = (op: string, args: Record<string, unknown>) =>
    new Promise<any>((resolve) => {
      const reqId = next++;
      waiting.set(reqId, resolve);
      ws.send(JSON.stringify({ id: reqId, op, ...args }));
    });
  let attempt = 0;
  while (Date.now() < deadline) {
    attempt++;
    const sku = HOT_SKUS[(id + attempt) % HOT_SKUS.length];
    const t0 = performance.now();
    stats.attempts++;
    const answer = await call('reserve', {
      sku,
      quantity: 1 + (id % 2),
      idempotencyKey: `demo-${id}-${attempt}-key`,
      orderId: `order-${id}-${attempt}`,
      customerId: `shopper-${id}`,
      holdTtlMs: HOLD_TTL_MS,
      priority: id % 10 === 0 ? 5 : 0, // one shopper in ten is a VIP
    });
    latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    if (answer.ok) {
      stats.served++;
      if (Math.random() < ABANDON_SHARE) stats.abandoned++;
      else {
        await sleep(200 + Math.random() * 800); // paying
        const paid = await call('commit', { reservationId: answer.result.reservationId, idempotencyKey: `demo-${id}-${attempt}-pay` });
        if (paid.ok) {
          stats.committed++;
          stats.unitsBought.set(sku, (stats.unitsBought.get(sku) ?? 0) + paid.result.quantity);
        }
        else stats.errors++;
      }
    } else if (answer.error.code === 'INSUFFICIENT_STOCK' || answer.error.code === 'CUSTOMER_RESERVATION_LIMIT') stats.refused++;
    else stats.errors++;
    await sleep(500 + Math.random() * 2500); // browsing before the next try
  }
  ws.close();
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'stockade-demo-'));
  say(`Stockade demo: ${SHOPPERS} shoppers, ${SECONDS} s, hot SKUs ${HOT_SKUS.join(', ')}`);
  const nats = await NatsServer.start();
  say(`  nats-server from nats.conf on ${nats.url}`);

  // The channel endpoint: a webhook receiver that checks every signature and records arrivals.
  const delivered = new Map<string, { alert: Alert; latencyMs: number }>();
  let badSignatures = 0;
  const receiver = createServer(async (req, res) => {
    const body = await readBody(req);
    const check = verifyWebhookSignature({ secret: WEBHOOK_SECRET, body, timestamp: String(req.headers['x-stockade-timestamp'] ?? ''), signature: String(req.headers['x-stockade-signature'] ?? '') });
    if (!check.ok) {
      badSignatures++;
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200).end();
    const payload = JSON.parse(body) as { alerts: Alert[] };
    for (const alert of payload.alerts) {
      if (delivered.has(alert.noticeId)) continue;
      const decided = Date.parse(alert.status === 'resolved' ? alert.resolvedAt! : alert.raisedAt);
      delivered.set(alert.noticeId, { alert, latencyMs: Date.now() - decided });
    }
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/stockade`;

  const notifierConfig = join(work, 'notifier.json');
  writeFileSync(
    notifierConfig,
    JSON.stringify({
      instanceId: 'notifier-demo',
      logLevel: 'warn',
      nats: { servers: [nats.url], user: 'notifier', password: 'notifier-dev-password' },
      http: { host: '127.0.0.1', port: 0, adminToken: NOTIFIER_TOKEN },
      receivers: [
        {
          id: 'warehouse-webhook',
          stakeholder: 'logistics',
          type: 'webhook',
          config: { url: receiverUrl, secret: WEBHOOK_SECRET },
          templates: { default: { title: 'Low stock: {{sku}}', text: 'Low stock: {{sku}} – just {{available}} units left.' } },
        },
      ],
      rules: [{ name: 'every stock alert to the warehouse', match: { severities: ['info', 'warning', 'critical'] }, receivers: ['warehouse-webhook'] }],
    }),
  );
  const notifier = await spawnReady('notifier', ['src/notifier/main.ts', '--config', notifierConfig], { NOTIFIER_READY_LINE: '1' }, /NOTIFIER_READY (\d+)/);
  const notifierUrl = `http://127.0.0.1:${notifier.match[1]}`;

  const stockadeConfig = join(work, 'stockade.json');
  writeFileSync(
    stockadeConfig,
    JSON.stringify({
      dataDir: join(work, 'data'),
      shards: 2,
      logLevel: 'warn',
      http: { port: 0 },
      apiKeys: [
        { id: 'demo-admin', sha256: sha256(ADMIN_KEY), channel: null, scopes: ['admin'] },
        { id: 'demo-web', sha256: sha256(SHOPPER_KEY), channel: 'web', scopes: ['reserve', 'read'] },
      ],
      nats: { enabled: true, servers: [nats.url], user: 'stockade', password: 'stockade-dev-password' },
      notifier: { url: notifierUrl, adminToken: NOTIFIER_TOKEN },
      limits: { reservationsPerCustomerMax: 2 },
    }),
  );
  const stockade = await spawnReady('stockade', ['src/main.ts', '--config', stockadeConfig], { STOCKADE_READY_LINE: '1' }, /STOCKADE_READY (\d+)/);
  const base = `http://127.0.0.1:${stockade.match[1]}`;
  say(`  Stockade on ${base}  — dashboard: ${base}/ (key ${ADMIN_KEY})`);
  say(`  notifier on ${notifierUrl}, delivering to ${receiverUrl}`);

  for (const sku of HOT_SKUS) {
    await api(base, 'PUT', `/v1/skus/${sku}/locations/dc/stock`, { onHand: START_STOCK, eventId: `demo-initial-${sku}` });
    await api(base, 'PUT', `/v1/skus/${sku}/thresholds`, { minAvailable: 60, lowPercent: 10, referenceLevel: START_STOCK });
  }

  // The warehouse restocks over NATS as user wms, a few times during the sale.
  const wms = await connect({ servers: nats.url, user: 'wms', pass: 'wms-dev-password' });
  const js = jetstream(wms);
  const deadline = Date.now() + SECONDS * 1000;
  const restocking = (async () => {
    for (let round = 1; round <= RESTOCKS; round++) {
      await sleep((SECONDS * 1000) / (RESTOCKS + 1));
      for (const sku of HOT_SKUS) await js.publish(`wms.stock.dc.${sku}`, JSON.stringify({ delta: RESTOCK_UNITS }), { msgID: `demo-restock-${sku}-${round}` });
      say(`  warehouse: +${RESTOCK_UNITS} of each hot SKU (round ${round})`);
    }
  })();

  const stats: ShopperStats = { attempts: 0, served: 0, refused: 0, committed: 0, abandoned: 0, errors: 0, unitsBought: new Map() };
  const latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const wsUrl = `ws://127.0.0.1:${stockade.match[1]}/v1/ws`;
  say(`  ${SHOPPERS} shoppers connecting…`);
  const progress = setInterval(() => say(`  … ${stats.served} reserves served, ${stats.committed} bought, ${stats.refused} refused (sold out), ${delivered.size} alerts delivered`), 5000);
  await Promise.all(Array.from({ length: SHOPPERS }, (_, i) => shop(wsUrl, i, deadline, stats, latency)));
  await restocking;
  clearInterval(progress);
  // Let abandoned holds expire and their alerts (recoveries) go out.
  await sleep(HOLD_TTL_MS + 2000);

  // Oversold check: what left the shelf never exceeds what arrived, and equals exactly what the
  // shoppers were told they bought.
  let oversold = 0;
  const received = START_STOCK + RESTOCKS * RESTOCK_UNITS;
  const lines: string[] = [];
  for (const sku of HOT_SKUS) {
    const view = await api(base, 'GET', `/v1/skus/${sku}`);
    const shipped = received - view.onHand;
    const bought = stats.unitsBought.get(sku) ?? 0;
    if (view.onHand < 0 || view.reserved > view.onHand || shipped > received || shipped !== bought) oversold++;
    lines.push(`    ${sku.padEnd(16)} received ${received}, bought ${bought}, shipped ${shipped}, on hand ${view.onHand}, reserved ${view.reserved}`);
  }
  // Counted as the service user: the warehouse user may publish stock events and nothing else.
  const service = await connect({ servers: nats.url, user: 'stockade', pass: 'stockade-dev-password' });
  const alertsRaised = (await (await jetstreamManager(service)).streams.info('ALERTS')).state.messages;
  await service.close();
  const deliveryLatencies = [...delivered.values()].map((d) => d.latencyMs).sort((a, b) => a - b);
  const pct = (q: number) => (deliveryLatencies.length ? deliveryLatencies[Math.min(deliveryLatencies.length - 1, Math.floor(q * deliveryLatencies.length))] : NaN);

  say('');
  say('Summary');
  say(`  reserves: ${stats.attempts} attempted, ${stats.served} served, ${stats.refused} refused as sold out, ${stats.errors} errors`);
  say(`  carts: ${stats.committed} bought, ${stats.abandoned} abandoned (holds expired after ${HOLD_TTL_MS / 1000} s)`);
  say(`  oversold: ${oversold}`);
  say(`  reserve latency at the shopper: p50 ${(latency.getValueAtPercentile(50) / 1000).toFixed(2)} ms, p99 ${(latency.getValueAtPercentile(99) / 1000).toFixed(2)} ms, max ${(latency.maxValue / 1000).toFixed(2)} ms`);
  say(`  alerts: ${alertsRaised} notices raised, ${delivered.size} delivered to the webhook (p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms from decision to arrival), ${badSignatures} bad signatures`);
  for (const line of lines) say(line);

  if (process.env.DEMO_KEEP) {
    say(`\nStill running: dashboard ${base}/ (key ${ADMIN_KEY}). Ctrl-C to stop.`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  await wms.close();
  stockade.child.kill('SIGTERM');
  notifier.child.kill('SIGTERM');
  await Promise.all([once(stockade.child, 'exit'), once(notifier.child, 'exit')]);
  receiver.close();
  await nats.destroy();
  rmSync(work, { recursive: true, force: true });
  process.exit(oversold === 0 ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
