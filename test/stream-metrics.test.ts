// The stream consumer's Prometheus metrics, scraped from the registry the gateway serves at
// /metrics, after real stock events went through a real nats-server (started from nats.conf):
// applied, found applied (duplicates), dead-lettered, the sequence floor, lag and in-progress acks.

import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import { buildConfig } from '../src/config.js';
import { Metrics } from '../src/gateway/metrics.js';
import { StreamsService } from '../src/streams/service.js';
import { STOCK_CONSUMER } from '../src/streams/stock-consumer.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';

const quiet: EngineLogger = { info() {}, error() {} };

let nats: NatsServer;
let wms: NatsConnection;
beforeAll(async () => {
  nats = await NatsServer.start();
  wms = await connect({ servers: nats.url, ...NATS_USERS.wms });
});
afterAll(async () => {
  await wms.close();
  await nats.destroy();
  removeTempDirs();
});

/** The value of one sample line, or null when the registry has no such sample. */
function sample(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('stream metrics', () => {
  it('count applied, duplicate and dead-lettered stock events per consumer, with the settled sequence and no lag', async () => {
    const config = buildConfig({ shards: 2, dataDir: tempDir(), nats: { enabled: true, servers: [nats.url] } });
    const engine = await Engine.start(config, quiet);
    const streams = new StreamsService(engine, config.nats, quiet);
    const metrics = new Metrics(engine);
    metrics.observeStreams(streams);
    streams.start();
    await streams.whenStarted();
    try {
      const js = jetstream(wms);
      await js.publish('wms.stock.dc.MET-1', JSON.stringify({ delta: 5, eventId: 'met-1' }), { msgID: 'a' });
      // The same warehouse event again under another message id: JetStream stores it, the SKU
      // finds it applied.
      await js.publish('wms.stock.dc.MET-1', JSON.stringify({ delta: 5, eventId: 'met-1' }), { msgID: 'b' });
      const last = await js.publish('wms.stock.dc.MET-1', 'not json', { msgID: 'c' });
      await streams.whenStockSettled(last.seq);

      const text = await metrics.registry.metrics();
      const consumer = `consumer="${STOCK_CONSUMER}"`;
      expect(text).toMatch(/^stockade_nats_connected 1$/m);
      // Applied counts every message settled by the engine, the one found already applied too.
      expect(sample(text, 'stockade_stream_applied_total', consumer)).toBe(2);
      expect(sample(text, 'stockade_stream_duplicates_total', consumer)).toBe(1);
      expect(sample(text, 'stockade_stream_dead_letters_total', consumer)).toBe(1);
      expect(sample(text, 'stockade_stream_redeliveries_total', consumer)).toBe(0);
      expect(sample(text, 'stockade_stream_last_applied_sequence', consumer)).toBe(last.seq);
      expect(sample(text, 'stockade_stream_lag_messages', consumer)).toBe(0);
      // Each event settled well inside a quarter of ack_wait (30 s by default): none was held.
      expect(sample(text, 'stockade_stream_in_progress_acks_total', consumer)).toBe(0);
    } finally {
      await streams.stop();
      await engine.stop();
    }
  });
});
