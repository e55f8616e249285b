// Alert notices from the shards' outboxes to the ALERTS stream on a real nats-server: subject
// `alerts.<type>.<severity>.<sku>`, Nats-Msg-Id = noticeId, published after the flush, and
// published again by the next process when the one that decided it never confirmed it.

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import type { Alert } from '../src/alerts/alert.js';
import { buildConfig, type StockadeConfig } from '../src/config.js';
import { ALERTS_STREAM } from '../src/streams/nats.js';
import { StreamsService } from '../src/streams/service.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';

const quiet: EngineLogger = { info() {}, error() {} };

let nats: NatsServer;
let reader: NatsConnection;
beforeAll(async () => {
  nats = await NatsServer.start();
  reader = await connect({ servers: nats.url, ...NATS_USERS.stockade });
});
afterAll(async () => {
  await reader.close();
  await nats.destroy();
  removeTempDirs();
});

function configFor(dataDir: string): Readonly<StockadeConfig> {
  return buildConfig({ shards: 2, dataDir, nats: { enabled: true, servers: [nats.url] } });
}

/** The next `count` messages of the ALERTS stream from `startSeq`, with their msg ids. */
async function readAlerts(startSeq: number, count: number): Promise<{ subject: string; msgId: string | undefined; alert: Alert; seq: number }[]> {
  const jsm = await jetstreamManager(reader);
  const info = await jsm.consumers.add(ALERTS_STREAM, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
    inactive_threshold: 60_000_000_000,
  });
  const consumer = await jetstream(reader).consumers.get(ALERTS_STREAM, info.name);
  const out: { subject: string; msgId: string | undefined; alert: Alert; seq: number }[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), alert: m.json<Alert>(), seq: m.seq });
    if (out.length === count) break;
  }
  await jsm.consumers.delete(ALERTS_STREAM, info.name);
  return out;
}

async function lastSeq(): Promise<number> {
  const jsm = await jetstreamManager(reader);
  return (await jsm.streams.info(ALERTS_STREAM)).state.last_seq;
}

describe('alert publishing', () => {
  it('publishes each notice once, after the flush, with its notice id as Nats-Msg-Id', async () => {
    const dataDir = tempDir();
    const engine = await Engine.start(configFor(dataDir), quiet);
    const streams = new StreamsService(engine, configFor(dataDir).nats, quiet);
    streams.start();
    await streams.whenStarted();
    try {
      await engine.execute({ type: 'setStock', sku: 'PUB.1', location: 'dc', onHand: 2, eventId: 'e1' });
      const placed = await engine.execute({
        type: 'reserve', sku: 'PUB.1', idempotencyKey: 'pub-key-0001', orderId: 'o1', customerId: 'c1', channel: 'web', quantity: 2,
      });
      expect(placed.ok).toBe(true);
      const [fired] = await readAlerts(1, 1);
      expect(fired.subject).toBe('alerts.zero_stock.critical.PUB.1');
      expect(fired.msgId).toBe('PUB.1/zero_stock/*/1');
      expect(fired.alert).toMatchObject({ id: 'PUB.1/zero_stock/*/1', status: 'firing', sku: 'PUB.1', levels: { available: 0, reserved: 2 } });

      await engine.execute({ type: 'adjustStock', sku: 'PUB.1', location: 'dc', delta: 5, eventId: 'e2' });
      const [resolved] = await readAlerts(fired.seq + 1, 1);
      expect(resolved.msgId).toBe('PUB.1/zero_stock/*/1/resolved');
      expect(resolved.alert.status).toBe('resolved');
      await streams.alerts.drained();
      expect(streams.status().alerts).toMatchObject({ published: 2, duplicates: 0, pending: 0, failures: 0 });
    } finally {
      await streams.stop();
      await engine.stop();
    }
  });

  it('publishes after a restart what the process before it decided but never published', async () => {
    const dataDir = tempDir();
    // First process: NATS is never reached (no streams service), so nothing is confirmed.
    const first = await Engine.start(configFor(dataDir), quiet);
    await first.execute({ type: 'setStock', sku: 'LATE-1', location: 'dc', onHand: 0, eventId: 'e1' });
    await first.execute({ type: 'setStock', sku: 'LATE-2', location: 'dc', onHand: 0, eventId: 'e1' });
    await first.stop();
    const before = await lastSeq();

    const second = await Engine.start(configFor(dataDir), quiet);
    const streams = new StreamsService(second, configFor(dataDir).nats, quiet);
    streams.start();
    await streams.whenStarted();
    try {
      const published = await readAlerts(before + 1, 2);
      expect(published.map((p) => p.msgId).sort()).toEqual(['LATE-1/zero_stock/*/1', 'LATE-2/zero_stock/*/1']);
      expect(published.map((p) => p.subject).sort()).toEqual(['alerts.zero_stock.critical.LATE-1', 'alerts.zero_stock.critical.LATE-2']);
    } finally {
      await streams.stop();
      await second.stop();
    }
  });
});
