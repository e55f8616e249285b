// The channel-order intake against a real nats-server (started from nats.conf): native orders from
// each channel's own user reach the sink as canonical orders, once, under redelivery and duplicate
// publishes; poison goes to the dead letters with its reason and original headers; transient sink
// failures are retried with backoff and then dead-lettered; business refusals are settled; and one
// end-to-end run reserves through a real Engine.

import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import type { ReservationView, SkuView } from '../src/actors/types.js';
import { buildConfig, type NatsConfig } from '../src/config.js';
import { errorBody, type ErrorCode } from '../src/errors.js';
import type { CanonicalOrder, OrderSink, PlaceOrderResult } from '../src/orders/canonical.js';
import { listDeadLetters } from '../src/streams/dead-letters.js';
import { connectNats, DEAD_LETTER_STREAM, ORDERS_STREAM } from '../src/streams/nats.js';
import { buildOrderChannels, type OrderChannelsConfig } from '../src/streams/order-channels.js';
import { ORDER_DEAD_LETTER_SUBJECT, OrderIntakeConsumer, type OrderIntakeOptions } from '../src/streams/order-intake.js';
import { removeTempDirs, setStock, tempDir } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';

const quiet: EngineLogger = { info() {}, error() {} };
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/orders/${name}`, import.meta.url), 'utf8');

/** The channel users nats.conf defines: each may publish its own orders.<channel>.> only. */
const CHANNEL_USERS = {
  shopify: { user: 'channel-shopify', pass: 'shopify-dev-password' },
  amazon: { user: 'channel-amazon', pass: 'amazon-dev-password' },
  pos: { user: 'channel-pos', pass: 'pos-dev-password' },
  web: { user: 'channel-web', pass: 'web-dev-password' },
} as const;
type Channel = keyof typeof CHANNEL_USERS;
const SHOP = { 'X-Shopify-Shop-Domain': 'arcade-outlet.myshopify.com' };

let nats: NatsServer;
const publishers = new Map<Channel, NatsConnection>();
beforeAll(async () => {
  nats = await NatsServer.start();
  for (const [channel, creds] of Object.entries(CHANNEL_USERS)) publishers.set(channel as Channel, await connect({ servers: nats.url, ...creds }));
});
afterAll(async () => {
  for (const nc of publishers.values()) await nc.close();
  await nats.destroy();
  removeTempDirs();
});

/** An idempotent sink that records what it placed; a script of answers overrides its first calls. */
class RecordingSink implements OrderSink {
  readonly placed = new Map<string, CanonicalOrder>();
  readonly script: ((order: CanonicalOrder) => Promise<PlaceOrderResult>)[] = [];
  calls = 0;

  async placeOrder(order: CanonicalOrder): Promise<PlaceOrderResult> {
    this.calls++;
    const scripted = this.script.shift();
    if (scripted) return scripted(order);
    return this.place(order);
  }

  place(order: CanonicalOrder): PlaceOrderResult {
    const key = `${order.channel}|${order.account}|${order.externalId}`;
    if (this.placed.has(key)) return { ok: true, orderId: key, state: 'placed', replayed: true };
    this.placed.set(key, order);
    return { ok: true, orderId: key, state: 'placed' };
  }
}

const failWith = (code: ErrorCode) => async (): Promise<PlaceOrderResult> => ({ ok: false, error: errorBody(code) });

interface Rig {
  nats: NatsConfig;
  sink: RecordingSink;
  consumer: OrderIntakeConsumer;
  service: NatsConnection;
  jsm: JetStreamManager;
  start(sink?: OrderSink): Promise<OrderIntakeConsumer>;
  stop(): Promise<void>;
}

const DEFAULT_CHANNELS = buildOrderChannels({
  shopify: { adapter: 'shopify' },
  amazon: { adapter: 'amazon' },
  pos: { adapter: 'square', accounts: { L88917AVBK2S5: { skuSource: 'metadata' } } },
  web: { adapter: 'canonical' },
});
let rig: Rig;

async function startRig(channels: OrderChannelsConfig = DEFAULT_CHANNELS, options: Partial<OrderIntakeOptions> = {}): Promise<Rig> {
  const config = buildConfig({ nats: { enabled: true, servers: [nats.url], ackWaitMs: 1000, maxDeliver: 3, inFlightMax: 64 } });
  const { nc, jsm } = await connectNats(config.nats, 'stockade-orders-test');
  const r: Rig = {
    nats: config.nats,
    sink: new RecordingSink(),
    consumer: null as unknown as OrderIntakeConsumer,
    service: nc,
    jsm,
    async start(sink = r.sink) {
      r.consumer = new OrderIntakeConsumer(sink, channels, nc, jsm, config.nats, quiet, { redeliveryDelayMsBase: 20, ...options });
      await r.consumer.start();
      return r.consumer;
    },
    async stop() {
      await r.consumer.stop();
    },
  };
  await r.start();
  return r;
}

beforeEach(async () => {
  const admin = await connect({ servers: nats.url, ...NATS_USERS.stockade });
  const jsm = await jetstreamManager(admin);
  for (const name of [ORDERS_STREAM, DEAD_LETTER_STREAM]) await jsm.streams.delete(name).catch(() => undefined);
  await admin.close();
});

afterEach(async () => {
  await rig.stop();
  await rig.service.close();
});

async function publish(channel: Channel, payload: string, headers: Record<string, string> = {}, msgID?: string) {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return jetstream(publishers.get(channel)!).publish(`orders.${channel}.created`, payload, { headers: h, msgID });
}

describe('channel order intake', () => {
  it('places each channel native order once, as its canonical order', async () => {
    rig = await startRig();
    await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'shopify-5940139491234');
    await publish('amazon', fixture('amazon-order.json'), { 'Stockade-Account': 'A2EUQ1WTGCTBG2' }, 'amazon-902-3159896-1390916');
    await publish('pos', fixture('square-order.json'), {}, 'square-CAISENgvlJ6jLWAzERDzjyHVybY');
    const last = await publish('web', fixture('canonical-order.json'), {}, 'web-WEB-2026-000731');
    await rig.consumer.whenSettled(last.seq);

    expect([...rig.sink.placed.keys()].sort()).toEqual([
      'amazon|A2EUQ1WTGCTBG2|902-3159896-1390916',
      'pos|L88917AVBK2S5|CAISENgvlJ6jLWAzERDzjyHVybY',
      'shopify|arcade-outlet.myshopify.com|5940139491234',
      'web|eu-storefront|WEB-2026-000731',
    ]);
    expect(rig.sink.placed.get('pos|L88917AVBK2S5|CAISENgvlJ6jLWAzERDzjyHVybY')!.lines.map((l) => [l.sku, l.quantity])).toEqual([
      ['ARC-MINI-BLK', 1],
      ['TOKENS-50', 3],
    ]);
    expect(rig.sink.placed.get('shopify|arcade-outlet.myshopify.com|5940139491234')!.customer.tier).toBe('vip');
    expect(rig.consumer.snapshot()).toMatchObject({ consumed: 4, applied: 4, duplicates: 0, deadLettered: 0, lastAppliedSequence: last.seq, inFlight: 0 });
    expect(await rig.consumer.pending()).toBe(0);
  });

  it('places an order once when it is published again: same Nats-Msg-Id dropped, a new id answered as a replay', async () => {
    rig = await startRig();
    const first = await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'shopify-5940139491234');
    const again = await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'shopify-5940139491234');
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    const other = await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'shopify-5940139491234-retry');
    await rig.consumer.whenSettled(other.seq);
    expect(rig.sink.placed.size).toBe(1);
    expect(rig.sink.calls).toBe(2);
    expect(rig.consumer.snapshot()).toMatchObject({ applied: 1, duplicates: 1, deadLettered: 0 });
  });

  it('places an order once across a crash between the durable answer and the ack (redelivery)', async () => {
    rig = await startRig();
    // The first run's sink makes the order durable, then the process "dies" before answering.
    const store = rig.sink;
    await rig.stop();
    let stored!: () => void;
    const placedOnce = new Promise<void>((resolve) => (stored = resolve));
    const crashing: OrderSink = {
      placeOrder(order) {
        store.place(order);
        stored();
        return new Promise<PlaceOrderResult>(() => {});
      },
    };
    const crashed = await rig.start(crashing);
    const sent = await publish('pos', fixture('square-order.json'), {}, 'square-crash-1');
    await placedOnce;
    await crashed.stop();
    expect(crashed.snapshot().lastAppliedSequence).toBeLessThan(sent.seq);

    // The next run gets the unacknowledged order again once ack_wait passes.
    const restarted = await rig.start(store);
    await restarted.whenSettled(sent.seq);
    expect(store.placed.size).toBe(1);
    expect(restarted.snapshot()).toMatchObject({ applied: 0, duplicates: 1, redeliveries: 1 });
  });

  it('moves poison to the dead letters with reason, field and original headers, and goes on', async () => {
    rig = await startRig(buildOrderChannels({ shopify: { adapter: 'shopify' }, web: { adapter: 'canonical' } }));
    const malformed = await publish('shopify', '{"id": 59401394', { ...SHOP, 'X-Shopify-Topic': 'orders/create', 'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' }, 'poison-1');
    const noSku = await publish('shopify', fixture('shopify-orders-create-gift-card.json'), SHOP, 'poison-2');
    const unknownChannel = await publish('pos', fixture('square-order.json'), { 'Pos-Register': '3' }, 'poison-3');
    const good = await publish('web', fixture('canonical-order.json'), {}, 'good-1');
    await rig.consumer.whenSettled(good.seq);

    expect(rig.sink.placed.size).toBe(1);
    expect(rig.sink.calls).toBe(1);
    expect(rig.consumer.snapshot()).toMatchObject({
      applied: 1,
      deadLettered: 3,
      deadLetteredByReason: { ORDER_PAYLOAD_MALFORMED: 1, ORDER_LINE_WITHOUT_SKU: 1, ORDER_CHANNEL_UNKNOWN: 1 },
    });
    const letters = await listDeadLetters(rig.jsm, 0, 10);
    const bySequence = new Map(letters.map((l) => [l.original.sequence, l]));
    expect(letters.every((l) => l.subject === ORDER_DEAD_LETTER_SUBJECT && l.original.stream === ORDERS_STREAM)).toBe(true);
    expect(bySequence.get(malformed.seq)).toMatchObject({
      reason: 'ORDER_PAYLOAD_MALFORMED',
      original: { subject: 'orders.shopify.created' },
      payload: '{"id": 59401394',
      deliveries: 1,
    });
    expect(bySequence.get(malformed.seq)!.headers).toMatchObject({
      'X-Shopify-Topic': ['orders/create'],
      'X-Shopify-Webhook-Id': ['b54557e4-bdd9-4b37-8a5f-bf7d70bcd043'],
      'X-Shopify-Shop-Domain': ['arcade-outlet.myshopify.com'],
      'Stockade-Original-Msg-Id': ['poison-1'],
    });
    expect(bySequence.get(noSku.seq)!.reason).toBe('ORDER_LINE_WITHOUT_SKU');
    expect(bySequence.get(noSku.seq)!.detail).toContain('"field":"line_items[1].sku"');
    expect(bySequence.get(unknownChannel.seq)).toMatchObject({ reason: 'ORDER_CHANNEL_UNKNOWN', original: { subject: 'orders.pos.created' } });
    expect(bySequence.get(unknownChannel.seq)!.headers['Pos-Register']).toEqual(['3']);
  });

  it('retries a transient sink failure with backoff, then places the order once', async () => {
    rig = await startRig();
    rig.sink.script.push(failWith('OVERLOADED'), async () => {
      throw new Error('order store connection reset');
    });
    const sent = await publish('web', fixture('canonical-order.json'), {}, 'transient-1');
    await rig.consumer.whenSettled(sent.seq);
    expect(rig.sink.calls).toBe(3);
    expect(rig.sink.placed.size).toBe(1);
    expect(rig.consumer.snapshot()).toMatchObject({ applied: 1, retries: 2, redeliveries: 2, deadLettered: 0 });
  });

  it('keeps an order its sink is still placing from being redelivered, however long the sink takes', async () => {
    rig = await startRig();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The sink holds the order well past ack_wait (1 s here).
    rig.sink.script.push(async (order) => {
      await released;
      return rig.sink.place(order);
    });
    try {
      const sent = await publish('web', fixture('canonical-order.json'), {}, 'slow-1');
      // Six in-progress acks a quarter of ack_wait apart: the order has been held for at least 1.5 ack_waits.
      await vi.waitFor(() => expect(rig.consumer.snapshot().inProgressAcks).toBeGreaterThanOrEqual(6), { timeout: 20_000, interval: 50 });
      expect(rig.sink.calls).toBe(1);
      expect(rig.consumer.snapshot().redeliveries).toBe(0);
      // JetStream's own count: one delivery in all.
      expect((await rig.jsm.consumers.info(ORDERS_STREAM, rig.consumer.snapshot().consumer)).delivered.consumer_seq).toBe(1);
      release();
      await rig.consumer.whenSettled(sent.seq);
      expect(rig.sink.placed.size).toBe(1);
      expect(rig.consumer.snapshot()).toMatchObject({ applied: 1, retries: 0, redeliveries: 0, deadLettered: 0 });
    } finally {
      release();
    }
  });

  it('dead-letters an order whose sink failure outlasts maxDeliver', async () => {
    rig = await startRig();
    rig.sink.script.push(failWith('SHARD_UNAVAILABLE'), failWith('SHARD_UNAVAILABLE'), failWith('SHARD_UNAVAILABLE'));
    const sent = await publish('web', fixture('canonical-order.json'), { 'Web-Request-Id': 'req-77' }, 'transient-2');
    await rig.consumer.whenSettled(sent.seq);
    expect(rig.sink.calls).toBe(3);
    expect(rig.sink.placed.size).toBe(0);
    expect(rig.consumer.snapshot()).toMatchObject({ retries: 2, deadLettered: 1, deadLetteredByReason: { SHARD_UNAVAILABLE: 1 } });
    const [letter] = await listDeadLetters(rig.jsm, 0, 10);
    expect(letter).toMatchObject({ reason: 'SHARD_UNAVAILABLE', deliveries: 3, original: { sequence: sent.seq } });
    expect(letter.headers['Web-Request-Id']).toEqual(['req-77']);
  });

  it('settles a business refusal without retrying, and dead-letters an order the flow cannot take', async () => {
    rig = await startRig();
    rig.sink.script.push(failWith('INSUFFICIENT_STOCK'), failWith('SKU_NOT_FOUND'));
    await publish('web', fixture('canonical-order.json'), {}, 'refused-1');
    const second = await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'refused-2');
    await rig.consumer.whenSettled(second.seq);
    expect(rig.sink.calls).toBe(2);
    expect(rig.consumer.snapshot()).toMatchObject({ rejected: 1, retries: 0, deadLettered: 1, deadLetteredByReason: { SKU_NOT_FOUND: 1 } });
  });

  it("leaves the order flow's own events alone and settles past them", async () => {
    rig = await startRig();
    const js = jetstream(rig.service);
    const event = await js.publish('orders.events.created', JSON.stringify({ orderId: 'x' }));
    await js.publish('orders.events.order-1.placed', JSON.stringify({ orderId: 'order-1' }));
    const order = await publish('web', fixture('canonical-order.json'), {}, 'after-events');
    await rig.consumer.whenSettled(order.seq);
    expect(event.seq).toBeLessThan(order.seq);
    expect(rig.sink.calls).toBe(1);
    expect(rig.consumer.snapshot()).toMatchObject({ ignored: 1, applied: 1, consumed: 2, lastAppliedSequence: order.seq });
  });

  it('reports lag while it is stopped and catches up from its durable position', async () => {
    rig = await startRig();
    const first = await publish('web', fixture('canonical-order.json'), {}, 'lag-0');
    await rig.consumer.whenSettled(first.seq);
    const stopped = rig.consumer;
    await stopped.stop();
    const body = JSON.parse(fixture('canonical-order.json'));
    let last = 0;
    for (let i = 1; i <= 3; i++) last = (await publish('web', JSON.stringify({ ...body, externalId: `WEB-LAG-${i}` }), {}, `lag-${i}`)).seq;
    expect(await stopped.pending()).toBe(3);
    const resumed = await rig.start();
    expect(resumed.snapshot().lastAppliedSequence).toBe(first.seq);
    await resumed.whenSettled(last);
    expect(rig.sink.placed.size).toBe(4);
    expect(await resumed.pending()).toBe(0);
  });
});

describe('channel orders into a real engine', () => {
  /** A minimal order flow for the test: reserve every line, idempotently, all or nothing. */
  function engineSink(engine: Engine): OrderSink {
    return {
      async placeOrder(order) {
        const held: ReservationView[] = [];
        for (const line of order.lines) {
          const reply = await engine.execute({
            type: 'reserve',
            sku: line.sku,
            idempotencyKey: `order:${order.channel}:${order.externalId}:${line.lineId}`,
            orderId: order.externalId,
            customerId: order.customer.id,
            channel: order.channel,
            quantity: line.quantity,
            priority: order.customer.tier === 'vip' ? 9 : 0,
          });
          if (!reply.ok) {
            for (const r of held) await engine.execute({ type: 'release', reservationId: r.reservationId, reason: 'order line unavailable' });
            return { ok: false, error: reply.error };
          }
          held.push(reply.value as ReservationView);
        }
        return { ok: true, orderId: `${order.channel}:${order.externalId}`, state: 'reserved' };
      },
    };
  }

  it('reserves each line once, whatever the redeliveries, and settles a stock refusal', async () => {
    const engine = await Engine.start(buildConfig({ shards: 2, dataDir: tempDir() }));
    try {
      for (const sku of ['ARC-MINI-BLK', 'JOY-PRO']) expect((await engine.execute(setStock(sku, 'dc-1', 5))).ok).toBe(true);
      // A long ack wait: the first reserves may wait for shard start-up, and this test counts deliveries.
      rig = await startRig(DEFAULT_CHANNELS, { ackWaitMs: 30_000 });
      await rig.stop();
      await rig.start(engineSink(engine));
      await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'e2e-1');
      await publish('shopify', fixture('shopify-orders-create.json'), SHOP, 'e2e-1-republished');
      // Then a web order asks for more ARC-MINI-BLK than remain.
      await publish('amazon', fixture('amazon-order.json'), { 'Stockade-Account': 'A2EUQ1WTGCTBG2' }, 'e2e-2');
      const big = JSON.parse(fixture('canonical-order.json'));
      big.externalId = 'WEB-TOO-MANY';
      big.lines = [{ lineId: '1', sku: 'ARC-MINI-BLK', quantity: 3, unitPriceMinor: 9999, title: null }];
      const last = await publish('web', JSON.stringify(big), {}, 'e2e-3');
      await rig.consumer.whenSettled(last.seq);

      const view = async (sku: string) => {
        const reply = await engine.execute({ type: 'getSku', sku });
        return reply.ok ? (reply.value as SkuView) : null;
      };
      // Shopify 2 + Amazon 1 of 5 ARC-MINI-BLK; the web order's 3 would oversell and is refused.
      expect((await view('ARC-MINI-BLK'))!.reserved).toBe(3);
      expect((await view('JOY-PRO'))!.reserved).toBe(3);
      // This sink does not tell a replay from a first placement, so the republished order counts
      // as applied; the engine's idempotency keys kept it from reserving twice.
      expect(rig.consumer.snapshot()).toMatchObject({ consumed: 4, applied: 3, rejected: 1, deadLettered: 0 });
    } finally {
      await engine.stop();
    }
  });
});

describe('channel order intake across a nats-server restart', () => {
  it('reconnects mid-stream and places every order once', async () => {
    rig = await startRig();
    // Orders from 20 on stay in the sink until the server is back: in flight across the restart.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated: OrderSink = {
      async placeOrder(o) {
        if (Number(o.externalId.split('-').pop()) >= 20) await gate;
        return rig.sink.placeOrder(o);
      },
    };
    await rig.stop();
    await rig.start(gated);
    const body = JSON.parse(fixture('canonical-order.json'));
    const order = (i: number) => JSON.stringify({ ...body, externalId: `WEB-RST-${i}` });
    let twentieth = 0;
    for (let i = 0; i < 40; i++) {
      const ack = await publish('web', order(i), {}, `rst-${i}`);
      if (i === 19) twentieth = ack.seq;
    }
    await rig.consumer.whenSettled(twentieth);
    expect(rig.consumer.snapshot().lastAppliedSequence).toBe(twentieth);
    await nats.restart();
    open();
    // A fresh publisher: the shared ones reconnect on their own schedule.
    const web = await connect({ servers: nats.url, ...CHANNEL_USERS.web });
    let last = 0;
    // 30..39 again with their first ids (dropped as duplicates), then new orders.
    for (let i = 30; i < 60; i++) last = (await jetstream(web).publish('orders.web.created', order(i), { msgID: `rst-${i}` })).seq;
    await web.close();
    await rig.consumer.whenSettled(last);
    expect([...rig.sink.placed.keys()].sort()).toEqual(Array.from({ length: 60 }, (_, i) => `web|eu-storefront|WEB-RST-${i}`).sort());
    const status = rig.consumer.snapshot();
    expect(status).toMatchObject({ deadLettered: 0, lastAppliedSequence: last, inFlight: 0 });
    // An order in flight across the restart may lose its ack confirmation; JetStream then
    // redelivers it and the sink answers it as a replay: counted once as applied at most.
    expect(status.applied).toBeLessThanOrEqual(60);
    expect(status.applied + status.duplicates).toBeGreaterThanOrEqual(60);
  });
});
