// Stock-out to notification: from the command that takes a SKU's last unit to the moment the
// notification request arrives at a channel endpoint on this machine. The whole real path runs:
// the shard decides the alert in the reserve's turn (WAL + outbox), the publisher sends it to the
// ALERTS stream after the flush, a notifier consumes it, routes it, claims it in its delivery
// ledger and POSTs a signed webhook to a local HTTP server, which records the arrival.
//
// A real nats-server from nats.conf on a free port, an engine with 2 worker-thread shards, the
// streams service, and the notifier (in this process, as `npm run notifier` would run it).
// Alerts are paced (BENCH_ALERTS_PER_SECOND) so the figure is latency, not a queue under load.
//
//   npm run bench:alerts   (compiled first, as published; `npx tsx bench/alert-latency.ts` runs the source)
//   BENCH_QUICK=1                  smoke run (100 alerts)
//   BENCH_ALERTS                   alerts to measure (default 1,000)
//   BENCH_ALERTS_PER_SECOND        pace (default 100)

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { Engine } from '../src/actors/engine.js';
import type { Alert } from '../src/alerts/alert.js';
import { buildConfig } from '../src/config.js';
import { CONNECTORS } from '../src/notifier/connectors/index.js';
import { buildNotifierConfig } from '../src/notifier/config.js';
import { Notifier } from '../src/notifier/notifier.js';
import { StreamsService } from '../src/streams/service.js';
import { NatsServer } from '../test/nats-server.js';
import { envNumber, fmt, latencyHistogram, machineInfo, machineLine, makeTempDir, markdownTable, removeTempDir, sleep, summarize, writeResult } from './common.js';

const ALERTS = Math.round(envNumber('BENCH_ALERTS', 1000, 100));
const PER_SECOND = envNumber('BENCH_ALERTS_PER_SECOND', 100);
const SECRET = 'bench-webhook-secret-0123456789abcdef';
const quiet = { info() {}, error() {} };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const nats = await NatsServer.start();
  const dataDir = makeTempDir('stockade-bench-alerts-');

  // The channel endpoint: records when each alert's notification arrived.
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  let duplicates = 0;
  const endpoint = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req)) as { alert: Alert; kind: string };
    const at = performance.now();
    res.writeHead(200).end();
    if (arrivals.has(body.alert.noticeId)) duplicates++;
    else arrivals.set(body.alert.noticeId, at);
    waiting.get(body.alert.noticeId)?.();
  });
  endpoint.listen(0, '127.0.0.1');
  await once(endpoint, 'listening');
  const endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/alerts`;

  const config = buildConfig({ shards: 2, dataDir, nats: { enabled: true, servers: [nats.url] } });
  const engine = await Engine.start(config, quiet);
  const streams = new StreamsService(engine, config.nats, quiet);
  streams.start();
  await streams.whenStarted();

  const notifierConfig = buildNotifierConfig(
    {
      instanceId: 'bench',
      logLevel: 'silent',
      nats: { servers: [nats.url], user: 'notifier', password: 'notifier-dev-password' },
      http: { port: 0, adminToken: 'bench-admin-token-0123456789' },
      receivers: [{ id: 'ops-webhook', stakeholder: 'logistics', type: 'webhook', config: { url: endpointUrl, secret: SECRET } }],
      rules: [{ name: 'stock-outs', match: { types: ['zero_stock'] }, receivers: ['ops-webhook'] }],
    },
    CONNECTORS,
  );
  const notifier = await Notifier.start({ config: notifierConfig, registry: CONNECTORS, log: pino({ level: process.env.BENCH_NOTIFIER_LOG ?? 'silent' }) });

  const histogram = latencyHistogram();
  const gapMs = 1000 / PER_SECOND;
  const started = performance.now();
  for (let i = 0; i < ALERTS; i++) {
    const sku = `ALERT-${i}`;
    await engine.execute({ type: 'setStock', sku, location: 'dc', onHand: 1, eventId: `e-${i}` });
    const noticeId = `${sku}/zero_stock/*/1`;
    const arrived = new Promise<void>((resolve) => waiting.set(noticeId, resolve));
    const t0 = performance.now();
    const reply = await engine.execute({ type: 'reserve', sku, idempotencyKey: `alert-bench-${i}`, orderId: `o${i}`, customerId: `c${i}`, channel: 'web', quantity: 1 });
    if (!reply.ok) throw new Error(`reserve failed: ${JSON.stringify(reply.error)}`);
    await arrived;
    waiting.delete(noticeId);
    histogram.recordValue(Math.max(1, Math.round((arrivals.get(noticeId)! - t0) * 1000)));
    const next = started + (i + 1) * gapMs;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const summary = summarize(histogram);

  await notifier.stop();
  await streams.stop();
  await engine.stop();
  endpoint.close();
  await nats.destroy();
  removeTempDir(dataDir);

  const row = [ALERTS, PER_SECOND, fmt(summary.p50Ms, 2), fmt(summary.p90Ms, 2), fmt(summary.p99Ms, 2), fmt(summary.maxMs, 2), duplicates];
  const table = markdownTable(['alerts', 'paced at /s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'duplicates at the endpoint'], [row]);
  process.stdout.write(`${machineLine(machine)}\n\nStock-out (reserve of the last unit) → webhook request at a local endpoint\n\n${table}\n`);
  writeResult('alert-latency', { machine, alerts: ALERTS, perSecond: PER_SECOND, latency: summary, duplicates });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
