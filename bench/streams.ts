// Stock-event ingestion: JetStream to applied-and-flushed, through the real consumer and engine.
//
//   catch-up  Stockade was down while N events accumulated on STOCK_EVENTS: time from the
//             consumer's start until every one is applied (and acknowledged after its flush).
//   live      the consumer runs while a publisher sends N more: time from the first publish until
//             the last is applied; the publisher's own rate is reported beside it.
//
// A real nats-server from the project's nats.conf on a free port with a temporary store, an
// engine with 2 worker-thread shards, events spread over 1,000 SKUs, each with its own
// Nats-Msg-Id. At the end the totals are checked: every SKU holds exactly what was sent.
//
//   npm run bench:streams   (compiled first, as published; `npx tsx bench/streams.ts` runs the source)
//   BENCH_QUICK=1                 smoke run (20k events)
//   BENCH_STREAM_EVENTS           events per phase (default 200,000)

import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Engine } from '../src/actors/engine.js';
import type { SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { connectNats, ensureStreams } from '../src/streams/nats.js';
import { StockEventConsumer } from '../src/streams/stock-consumer.js';
import { NATS_USERS, NatsServer } from '../test/nats-server.js';
import { envNumber, fmt, machineInfo, machineLine, makeTempDir, markdownTable, removeTempDir, writeResult } from './common.js';

const EVENTS = Math.round(envNumber('BENCH_STREAM_EVENTS', 200_000, 20_000));
const SKUS = 1000;
/** Publishes awaited at once: enough to keep JetStream busy without unbounded memory. */
const PUBLISH_WINDOW = 2000;
const quiet = { info() {}, error() {} };

async function publishAll(url: string, from: number, count: number): Promise<{ lastSeq: number; ms: number }> {
  const nc = await connect({ servers: url, ...NATS_USERS.wms });
  const js = jetstream(nc);
  const t0 = performance.now();
  let lastSeq = 0;
  for (let base = from; base < from + count; base += PUBLISH_WINDOW) {
    const acks = [];
    for (let i = base; i < Math.min(base + PUBLISH_WINDOW, from + count); i++) {
      acks.push(js.publish(`wms.stock.dc.STREAM-${i % SKUS}`, `{"delta":1}`, { msgID: `bench-${i}` }));
    }
    for (const ack of await Promise.all(acks)) lastSeq = Math.max(lastSeq, ack.seq);
  }
  const ms = performance.now() - t0;
  await nc.close();
  return { lastSeq, ms };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.error(`# streams — ${machineLine(machine)}; ${fmt(EVENTS)} events per phase over ${SKUS} SKUs`);
  const nats = await NatsServer.start();
  const dataDir = makeTempDir('streams');
  const config = buildConfig({ shards: 2, dataDir, nats: { enabled: true, servers: [nats.url] } });
  const engine = await Engine.start(config);
  try {
    const admin = await connectNats(config.nats, 'bench-admin');
    await ensureStreams(admin.jsm, config.nats);
    await admin.nc.close();

    // Catch-up: everything is on the stream before the consumer starts.
    const backlog = await publishAll(nats.url, 0, EVENTS);
    const service = await connectNats(config.nats, 'bench-consumer');
    const consumer = new StockEventConsumer(engine, service.nc, service.jsm, config.nats, quiet);
    const t0 = performance.now();
    await consumer.start();
    await consumer.whenSettled(backlog.lastSeq);
    const catchUpMs = performance.now() - t0;

    // Live: the consumer is running while the publisher sends.
    const t1 = performance.now();
    const live = await publishAll(nats.url, EVENTS, EVENTS);
    await consumer.whenSettled(live.lastSeq);
    const liveMs = performance.now() - t1;

    // Every SKU holds exactly what was sent to it.
    let total = 0;
    for (let s = 0; s < SKUS; s++) {
      const reply = await engine.execute({ type: 'getSku', sku: `STREAM-${s}` });
      total += reply.ok ? (reply.value as SkuView).onHand : 0;
    }
    const status = consumer.snapshot();
    await consumer.stop();
    await service.nc.close();
    if (total !== 2 * EVENTS) throw new Error(`applied ${total} units, sent ${2 * EVENTS}`);

    const rows = [
      ['catch-up (backlog, consumer started after)', fmt(EVENTS), fmt(catchUpMs), fmt((EVENTS / catchUpMs) * 1000), fmt((EVENTS / backlog.ms) * 1000)],
      ['live (publishing while consuming)', fmt(EVENTS), fmt(liveMs), fmt((EVENTS / liveMs) * 1000), fmt((EVENTS / live.ms) * 1000)],
    ];
    console.log(markdownTable(['phase', 'events', 'ms to all applied', 'applied events/s', 'publish events/s'], rows));
    console.log(`\nunits applied ${fmt(total)} of ${fmt(2 * EVENTS)} sent; duplicates ${status.duplicates}; dead letters ${status.deadLettered}`);
    const path = writeResult('streams', {
      machine,
      settings: { events: EVENTS, skus: SKUS, shards: 2, publishWindow: PUBLISH_WINDOW },
      catchUp: { events: EVENTS, ms: catchUpMs, eventsPerSec: (EVENTS / catchUpMs) * 1000, publishMs: backlog.ms },
      live: { events: EVENTS, ms: liveMs, eventsPerSec: (EVENTS / liveMs) * 1000, publishMs: live.ms },
      unitsApplied: total,
      duplicates: status.duplicates,
      deadLettered: status.deadLettered,
    });
    console.error(`\nresults: ${path}`);
  } finally {
    await engine.stop();
    await nats.destroy();
    removeTempDir(dataDir);
  }
}

await main();
