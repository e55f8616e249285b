// The operators' live feed follows the notifiers' history: a delivery (with its latency from the
// alert's decision) and an acknowledgement recorded by a notifier reach every watchOps
// connection, and deliveries feed the per-second alert-delivery figures.

import { createHash } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import { buildConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway/server.js';
import { StreamsService } from '../src/streams/service.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NatsServer } from './nats-server.js';
import { TEST_KEYS } from './process.js';
import { TestClient } from './ws-client.js';

const quiet: EngineLogger = { info() {}, error() {} };
/** What the streams service logged as errors (a record that is not JSON is one). */
const streamErrors: string[] = [];
const streamsLog: EngineLogger = { info() {}, error: (_obj, msg) => streamErrors.push(msg) };
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

let nats: NatsServer;
let engine: Engine;
let streams: StreamsService;
let gateway: Gateway;
let notifier: NatsConnection;

beforeAll(async () => {
  nats = await NatsServer.start();
  const config = buildConfig({
    shards: 1,
    dataDir: tempDir(),
    http: { port: 0 },
    nats: { enabled: true, servers: [nats.url] },
    apiKeys: [{ id: 'reader', sha256: sha256(TEST_KEYS.reader), channel: null, scopes: ['read'] }],
  });
  engine = await Engine.start(config, quiet);
  streams = new StreamsService(engine, config.nats, streamsLog);
  streams.start();
  await streams.whenStarted();
  gateway = await startGateway(engine, config, quiet, streams);
  // As a notifier: its own user, which may publish its history subjects.
  notifier = await connect({ servers: nats.url, user: 'notifier', pass: 'notifier-dev-password' });
});
afterAll(async () => {
  await notifier.close();
  gateway.close();
  await streams.stop();
  await engine.stop();
  await nats.destroy();
  removeTempDirs();
});

describe('live feed of notifier records', () => {
  it('pushes deliveries and acknowledgements, and counts delivery latency per second', async () => {
    const client = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, { key: TEST_KEYS.reader });
    expect(await client.send('watchOps')).toMatchObject({ ok: true });
    const base = { recordedAt: Date.now(), instance: 'n1', alertId: 'A-1/zero_stock/*/1', noticeId: 'A-1/zero_stock/*/1', status: 'firing', type: 'zero_stock', severity: 'critical', sku: 'A-1', location: null };
    // The subject layout of src/notifier/history.ts: notifier.history.<type>.<sku>.<alert>.<kind>.
    notifier.publish('notifier.history.zero_stock.QS0x.QS0x.attempt', JSON.stringify({ ...base, record: 'attempt', receiver: 'ops', outcome: 'delivered', latencyMs: 12.5 }));
    notifier.publish('notifier.history.zero_stock.QS0x.QS0x.ack', JSON.stringify({ ...base, record: 'ack', by: 'duty-manager' }));
    await notifier.flush();
    let seen = 0;
    const wanted = () => client.pushes.filter((p) => p.push === 'alertDelivered' || p.push === 'alertAcked' || (p.push === 'ops' && p.alertDelivery.count > 0));
    while (wanted().length < 3) seen = (await client.pushesReceived(seen + 1)).length;
    expect(client.pushes.find((p) => p.push === 'alertDelivered')).toMatchObject({ alertId: 'A-1/zero_stock/*/1', receiver: 'ops', latencyMs: 12.5 });
    expect(client.pushes.find((p) => p.push === 'alertAcked')).toMatchObject({ alertId: 'A-1/zero_stock/*/1', by: 'duty-manager' });
    expect(client.pushes.find((p) => p.push === 'ops' && p.alertDelivery.count > 0).alertDelivery).toMatchObject({ count: 1, p99Ms: 12.5 });
    await client.close();
  });

  it('skips a history record that is not JSON, logs it, and goes on with the next', async () => {
    const client = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, { key: TEST_KEYS.reader });
    expect(await client.send('watchOps')).toMatchObject({ ok: true });
    const base = { recordedAt: Date.now(), instance: 'n1', alertId: 'B-1/zero_stock/*/1', noticeId: 'B-1/zero_stock/*/1', status: 'firing', type: 'zero_stock', severity: 'critical', sku: 'B-1', location: null };
    notifier.publish('notifier.history.zero_stock.QjEx.QjEx.attempt', '{not json');
    notifier.publish('notifier.history.zero_stock.QjEx.QjEx.attempt', JSON.stringify({ ...base, record: 'attempt', receiver: 'ops', outcome: 'delivered', latencyMs: 3 }));
    await notifier.flush();
    // One subscription delivers in order: once the good record is pushed, the bad one was read.
    const delivered = () => client.pushes.find((p) => p.push === 'alertDelivered' && p.alertId === 'B-1/zero_stock/*/1');
    let seen = 0;
    while (!delivered()) seen = (await client.pushesReceived(seen + 1)).length;
    expect(delivered()).toMatchObject({ receiver: 'ops', latencyMs: 3 });
    expect(streamErrors).toContain('notifier history record is not JSON; skipped');
    await client.close();
  });
});
