// Stock events over a real nats-server (started from nats.conf): exactly once, in order per SKU,
// late absolute counts ignored, poison messages dead-lettered, survival of a consumer crash
// (redelivery) and of a nats-server restart mid-stream.

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine } from '../src/actors/engine.js';
import type { Command, SkuView } from '../src/actors/types.js';
import { buildConfig, type StockadeConfig } from '../src/config.js';
import { EngineLogger } from '../src/actors/engine.js';
import { connectNats, DEAD_LETTER_STREAM, STOCK_STREAM } from '../src/streams/nats.js';
import { parseStockEvent } from '../src/streams/stock-events.js';
import { listDeadLetters, replayDeadLetter } from '../src/streams/dead-letters.js';
import { STOCK_CONSUMER, StockEventConsumer } from '../src/streams/stock-consumer.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';

const quiet: EngineLogger = { info() {}, error() {} };

let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(async () => {
  await nats.destroy();
  removeTempDirs();
});

interface Rig {
  config: Readonly<StockadeConfig>;
  engine: Engine;
  consumer: StockEventConsumer;
  service: NatsConnection;
  wms: NatsConnection;
  publish(subject: string, payload: unknown, msgId?: string): Promise<number>;
  onHand(sku: string): Promise<number>;
  stopConsumer(): Promise<void>;
  startConsumer(): Promise<void>;
}

let rig: Rig;

async function startRig(): Promise<Rig> {
  const config = buildConfig({
    shards: 2,
    dataDir: tempDir(),
    // A short ack wait keeps the redelivery tests quick. The delivery cap is generous: before the
    // consumers sent in-progress acks, a loaded CI machine (acks later than 1 s) once exhausted
    // JetStream's deliveries and stranded a message in the consumer-dies-mid-stream test.
    nats: { enabled: true, servers: [nats.url], ackWaitMs: 1000, maxDeliver: 20, inFlightMax: 256 },
  });
  const engine = await Engine.start(config);
  const wms = await connect({ servers: nats.url, ...NATS_USERS.wms });
  let service: NatsConnection;
  let consumer: StockEventConsumer;
  const r: Rig = {
    config,
    engine,
    consumer: null as unknown as StockEventConsumer,
    service: null as unknown as NatsConnection,
    wms,
    async publish(subject, payload, msgId) {
      const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const ack = await jetstream(wms).publish(subject, data, msgId ? { msgID: msgId } : undefined);
      return ack.seq;
    },
    async onHand(sku) {
      const reply = await engine.execute({ type: 'getSku', sku });
      return reply.ok ? (reply.value as SkuView).onHand : -1;
    },
    async startConsumer() {
      const connected = await connectNats(config.nats, 'stockade-test');
      service = connected.nc;
      consumer = new StockEventConsumer(engine, connected.nc, connected.jsm, config.nats, quiet);
      await consumer.start();
      r.consumer = consumer;
      r.service = service;
    },
    async stopConsumer() {
      await consumer.stop();
      await service.close();
    },
  };
  await r.startConsumer();
  return r;
}

beforeEach(async () => {
  // A clean slate per test: streams and consumers are recreated by the consumer on start.
  const admin = await connect({ servers: nats.url, ...NATS_USERS.stockade });
  const jsm = await jetstreamManager(admin);
  for (const name of [STOCK_STREAM, DEAD_LETTER_STREAM]) await jsm.streams.delete(name).catch(() => undefined);
  await admin.close();
  rig = await startRig();
});

afterEach(async () => {
  await rig.stopConsumer();
  await rig.wms.close();
  await rig.engine.stop();
});

describe('stock event parsing', () => {
  const source = (subject: string, payload: unknown, msgId?: string) => ({
    subject,
    data: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    msgId,
    stream: 'STOCK_EVENTS',
    streamSequence: 42,
  });

  it('reads location and a dotted SKU from the subject, and the event id from payload, header or position', () => {
    expect(parseStockEvent(source('wms.stock.dc-1.SKU.9', { delta: 3, eventId: 'e-1' }))).toEqual({
      ok: true,
      command: { type: 'adjustStock', sku: 'SKU.9', location: 'dc-1', delta: 3, eventId: 'e-1' },
    });
    expect(parseStockEvent(source('wms.stock.dc.A', { onHand: 5 }, 'hdr-7'))).toMatchObject({ command: { type: 'setStock', eventId: 'hdr-7' } });
    expect(parseStockEvent(source('wms.stock.dc.A', { onHand: 5 }))).toMatchObject({ command: { eventId: 'STOCK_EVENTS:42' } });
    expect(parseStockEvent(source('wms.stock.dc.A', { onHand: 5, sourceTime: '2026-11-23T10:00:00Z' }))).toMatchObject({
      command: { sourceSeq: Date.parse('2026-11-23T10:00:00Z') },
    });
  });

  it.each([
    ['not JSON', 'wms.stock.dc.A', '{nope'],
    ['both onHand and delta', 'wms.stock.dc.A', { onHand: 1, delta: 1 }],
    ['neither', 'wms.stock.dc.A', { eventId: 'x' }],
    ['a zero delta', 'wms.stock.dc.A', { delta: 0 }],
    ['a negative count', 'wms.stock.dc.A', { onHand: -1 }],
    ['an unknown field', 'wms.stock.dc.A', { onHand: 1, colour: 'red' }],
    ['a payload SKU that differs from the subject', 'wms.stock.dc.A', { onHand: 1, sku: 'B' }],
    ['no SKU in the subject', 'wms.stock.dc', { onHand: 1 }],
    ['a bad time', 'wms.stock.dc.A', { onHand: 1, sourceTime: 'yesterday' }],
  ])('refuses %s', (_name, subject, payload) => {
    expect(parseStockEvent(source(subject, payload)).ok).toBe(false);
  });
});

describe('stock events from JetStream', () => {
  it('applies every event exactly once, whatever the duplicates', async () => {
    const skus = ['EV-A', 'EV-B', 'EV-C'];
    let last = 0;
    for (let i = 0; i < 300; i++) last = await rig.publish(`wms.stock.dc.${skus[i % 3]}`, { delta: 1 }, `evt-${i}`);
    // Re-published with the same Nats-Msg-Id: JetStream drops them in the duplicate window.
    for (let i = 0; i < 30; i++) await rig.publish(`wms.stock.dc.${skus[i % 3]}`, { delta: 1 }, `evt-${i}`);
    // Same event id in the payload, no header: stored twice, applied once (the WAL has the id).
    for (let i = 0; i < 30; i++) last = await rig.publish(`wms.stock.dc.${skus[i % 3]}`, { delta: 1, eventId: `evt-${i}` });
    await rig.consumer.whenSettled(last);
    expect(await Promise.all(skus.map((s) => rig.onHand(s)))).toEqual([100, 100, 100]);
    expect(rig.consumer.snapshot()).toMatchObject({ applied: 330, duplicates: 30, deadLettered: 0, lastAppliedSequence: last });
  });

  it('keeps the newest absolute count when an older one arrives late', async () => {
    await rig.publish('wms.stock.dc.LATE', { onHand: 50, sourceSeq: 10 }, 'late-1');
    const last = await rig.publish('wms.stock.dc.LATE', { onHand: 80, sourceSeq: 9 }, 'late-2');
    await rig.consumer.whenSettled(last);
    expect(await rig.onHand('LATE')).toBe(50);
  });

  it('dead-letters poison messages with the reason and original headers, and goes on', async () => {
    const h = natsHeaders();
    h.set('Wms-Batch', 'batch-77');
    await jetstream(rig.wms).publish('wms.stock.dc.POISON', '{oops', { headers: h, msgID: 'poison-1' });
    await rig.publish('wms.stock.dc.POISON', { delta: -5 }, 'poison-2'); // below zero: never applies
    const last = await rig.publish('wms.stock.dc.POISON', { delta: 4 }, 'fine-1');
    await rig.consumer.whenSettled(last);
    expect(await rig.onHand('POISON')).toBe(4);
    expect(rig.consumer.snapshot().deadLettered).toBe(2);

    const jsm = await jetstreamManager(rig.service);
    const first = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq: 1 });
    const second = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq: 2 });
    const byReason = new Map([first, second].map((m) => [m!.header.get('Stockade-Reason'), m!]));
    expect(byReason.get('VALIDATION_FAILED')!.header.get('Wms-Batch')).toBe('batch-77');
    expect(byReason.get('VALIDATION_FAILED')!.header.get('Stockade-Original-Subject')).toBe('wms.stock.dc.POISON');
    expect(Buffer.from(byReason.get('VALIDATION_FAILED')!.data).toString()).toBe('{oops');
    expect(byReason.get('STOCK_WOULD_BE_NEGATIVE')).toBeDefined();
  });

  it('lists dead letters and replays one once its cause is fixed, applying it once', async () => {
    const dead = await rig.publish('wms.stock.dc.DLQ-R', { delta: -3 }, 'dlq-r-1');
    await rig.consumer.whenSettled(dead);
    const jsm = await jetstreamManager(rig.service);
    const [letter, ...others] = await listDeadLetters(jsm, 0, 10);
    expect(others).toHaveLength(0);
    expect(letter).toMatchObject({
      reason: 'STOCK_WOULD_BE_NEGATIVE',
      original: { subject: 'wms.stock.dc.DLQ-R', stream: 'STOCK_EVENTS', sequence: dead },
      payload: '{"delta":-3}',
    });
    const stocked = await rig.publish('wms.stock.dc.DLQ-R', { onHand: 10 }, 'dlq-r-2');
    await rig.consumer.whenSettled(stocked);

    const outcome = await replayDeadLetter(rig.service, jsm, letter.seq);
    expect(outcome).toMatchObject({ replayed: true, subject: 'wms.stock.dc.DLQ-R' });
    await rig.consumer.whenSettled((outcome as { streamSequence: number }).streamSequence);
    expect(await rig.onHand('DLQ-R')).toBe(7);
    expect(await listDeadLetters(jsm, 0, 10)).toEqual([]);
    expect(await replayDeadLetter(rig.service, jsm, letter.seq)).toEqual({ replayed: false, reason: 'NOT_FOUND' });
    expect(await rig.onHand('DLQ-R')).toBe(7);
  });

  it('does not apply a redelivered event twice (applied, then the ack was lost)', async () => {
    await rig.stopConsumer();
    let last = 0;
    for (let i = 0; i < 50; i++) last = await rig.publish('wms.stock.dc.REDO', { delta: 2 }, `redo-${i}`);
    // The engine applied them (as before a crash), but JetStream never got an ack.
    for (let i = 0; i < 50; i++) await rig.engine.execute({ type: 'adjustStock', sku: 'REDO', location: 'dc', delta: 2, eventId: `redo-${i}` });
    await rig.startConsumer();
    await rig.consumer.whenSettled(last);
    expect(await rig.onHand('REDO')).toBe(100);
    expect(rig.consumer.snapshot()).toMatchObject({ applied: 50, duplicates: 50 });
  });

  it('keeps an event it is still applying from being redelivered, however long the engine takes', async () => {
    await rig.stopConsumer();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    // The engine holds one event well past ack_wait (1 s here); everything else goes straight through.
    const slowEngine = {
      async execute(command: Command) {
        if ('eventId' in command && command.eventId?.startsWith('slow-')) {
          seen.push(command.eventId);
          await released;
        }
        return rig.engine.execute(command);
      },
    } as unknown as Engine;
    const connected = await connectNats(rig.config.nats, 'stockade-test');
    const consumer = new StockEventConsumer(slowEngine, connected.nc, connected.jsm, rig.config.nats, quiet);
    await consumer.start();
    try {
      const seq = await rig.publish('wms.stock.dc.SLOW', { delta: 5 }, 'slow-1');
      // Six in-progress acks a quarter of ack_wait apart: the event has been held for at least 1.5 ack_waits.
      await vi.waitFor(() => expect(consumer.snapshot().inProgressAcks).toBeGreaterThanOrEqual(6), { timeout: 20_000, interval: 50 });
      expect(seen).toEqual(['slow-1']);
      expect(consumer.snapshot().redeliveries).toBe(0);
      // JetStream's own count: one delivery in all.
      expect((await connected.jsm.consumers.info(STOCK_STREAM, STOCK_CONSUMER)).delivered.consumer_seq).toBe(1);
      release();
      await consumer.whenSettled(seq);
      expect(await rig.onHand('SLOW')).toBe(5);
    } finally {
      release();
      await consumer.stop();
      await connected.nc.close();
      await rig.startConsumer();
    }
  });

  it('loses and doubles nothing when the consumer dies mid-stream and a new one takes over', async () => {
    const publishing = (async () => {
      let seq = 0;
      for (let i = 0; i < 400; i++) seq = await rig.publish(`wms.stock.dc.MID-${i % 4}`, { delta: 1 }, `mid-${i}`);
      return seq;
    })();
    await rig.consumer.whenSettled(100);
    // Drop the connection without a clean stop: in-flight acks are lost, JetStream redelivers.
    await rig.service.close();
    await rig.consumer.stop();
    const last = await publishing;
    await rig.startConsumer();
    await rig.consumer.whenSettled(last);
    expect(await Promise.all([0, 1, 2, 3].map((i) => rig.onHand(`MID-${i}`)))).toEqual([100, 100, 100, 100]);
  });

  it('passes messages a dead consumer acknowledged out of order, which JetStream never redelivers', async () => {
    await rig.stopConsumer();
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) seqs.push(await rig.publish(`wms.stock.dc.OOO-${i}`, { delta: 1 }, `ooo-${i}`));
    // The process that died took all three and acknowledged the first and the last (JetStream
    // confirmed both), leaving its ack floor at the first.
    const dead = await connect({ servers: nats.url, ...NATS_USERS.stockade });
    const taken = await (await jetstream(dead).consumers.get(STOCK_STREAM, STOCK_CONSUMER)).fetch({ max_messages: 3, expires: 5000 });
    const messages = [];
    for await (const m of taken) {
      messages.push(m);
      if (messages.length === 3) break;
    }
    expect(messages.map((m) => m.seq)).toEqual(seqs);
    expect(await messages[0].ackAck()).toBe(true);
    expect(await messages[2].ackAck()).toBe(true);
    expect((await (await jetstreamManager(dead)).consumers.info(STOCK_STREAM, STOCK_CONSUMER)).ack_floor.stream_seq).toBe(seqs[0]);
    await dead.close();
    // The new consumer gets only the middle one (after ack_wait); its floor must still pass the last.
    await rig.startConsumer();
    await rig.consumer.whenSettled(seqs[2]);
    expect(rig.consumer.snapshot()).toMatchObject({ lastAppliedSequence: seqs[2], applied: 1 });
    expect(await Promise.all([0, 1, 2].map((i) => rig.onHand(`OOO-${i}`)))).toEqual([-1, 1, -1]);
  });

  it('reconnects after a nats-server restart mid-stream and finishes the stream exactly once', async () => {
    let last = 0;
    for (let i = 0; i < 200; i++) last = await rig.publish(`wms.stock.dc.RST-${i % 2}`, { delta: 1 }, `rst-${i}`);
    await rig.consumer.whenSettled(50);
    await nats.restart();
    const wms = await connect({ servers: nats.url, ...NATS_USERS.wms });
    for (let i = 200; i < 300; i++) last = (await jetstream(wms).publish(`wms.stock.dc.RST-${i % 2}`, JSON.stringify({ delta: 1 }), { msgID: `rst-${i}` })).seq;
    await wms.close();
    await rig.consumer.whenSettled(last);
    expect(await Promise.all([rig.onHand('RST-0'), rig.onHand('RST-1')])).toEqual([150, 150]);
  });
});
