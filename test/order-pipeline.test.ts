// The whole order entry path as the process wires it (src/main.ts): a Shopify orders/create body
// published by the shopify channel user → the order intake → the Shopify adapter → the order
// flow → reservations in the engine, and the order's events published on orders.events.>.
// Then the same path for a SKU that is out of stock: the order is held, confirmation refused.

import { readFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import type { SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { natsOrderPublisher } from '../src/orders/publisher.js';
import { OrderService } from '../src/orders/service.js';
import { ORDERS_STREAM } from '../src/streams/nats.js';
import { StreamsService } from '../src/streams/service.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';

const quiet: EngineLogger = { info() {}, error() {} };
const SHOPIFY_BODY = readFileSync(new URL('./fixtures/orders/shopify-orders-create.json', import.meta.url), 'utf8');

let nats: NatsServer;
let engine: Engine;
let orders: OrderService;
let streams: StreamsService;
let shopify: NatsConnection;

beforeAll(async () => {
  nats = await NatsServer.start();
  const config = buildConfig({ shards: 2, dataDir: tempDir(), nats: { enabled: true, servers: [nats.url] } });
  engine = await Engine.start(config, quiet);
  let streamsRef: StreamsService | null = null;
  orders = await OrderService.open({ engine, dataDir: config.dataDir, config: config.orders, log: quiet, publisher: natsOrderPublisher(() => streamsRef?.connection ?? null) });
  streams = streamsRef = new StreamsService(engine, config.nats, quiet, { orders: { sink: orders, channels: config.orderChannels } });
  streams.start();
  await streams.whenStarted();
  shopify = await connect({ servers: nats.url, user: 'channel-shopify', pass: 'shopify-dev-password' });
});
afterAll(async () => {
  await shopify.close();
  await streams.stop();
  await orders.close();
  await engine.stop();
  await nats.destroy();
  removeTempDirs();
});

/** Publish a Shopify order as the shopify channel would, and wait until the intake settled it. */
async function publishShopify(body: string, msgId: string): Promise<void> {
  const h = natsHeaders();
  h.set('X-Shopify-Shop-Domain', 'arcade-outlet.myshopify.com');
  const ack = await jetstream(shopify).publish('orders.shopify.created', body, { headers: h, msgID: msgId });
  await streams.whenOrderSettled(ack.seq);
}

async function orderEvents(): Promise<{ subject: string; data: any }[]> {
  const service = await connect({ servers: nats.url, ...NATS_USERS.stockade });
  const jsm = await jetstreamManager(service);
  await orders.whenOutboxEmpty();
  const last = (await jsm.streams.info(ORDERS_STREAM)).state.last_seq;
  const info = await jsm.consumers.add(ORDERS_STREAM, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: 'orders.events.>' });
  const consumer = await jetstream(service).consumers.get(ORDERS_STREAM, info.name);
  const out: { subject: string; data: any }[] = [];
  const batch = await consumer.fetch({ max_messages: 100, expires: 2000 });
  for await (const m of batch) {
    out.push({ subject: m.subject, data: m.json() });
    if (m.seq >= last) break;
  }
  await service.close();
  return out;
}

describe('channel order pipeline', () => {
  it('turns a Shopify webhook body into a reserved order, once, with its events published', async () => {
    for (const [sku, onHand] of [['ARC-MINI-BLK', 10], ['JOY-PRO', 5]] as const) {
      await engine.execute({ type: 'setStock', sku, location: 'dc', onHand, eventId: `e-${sku}` });
    }
    await publishShopify(SHOPIFY_BODY, 'shopify-5940139491234');
    // A webhook retry with a new message id: the order flow answers it as a replay.
    await publishShopify(SHOPIFY_BODY, 'shopify-5940139491234-retry');
    const sku1 = (await engine.execute({ type: 'getSku', sku: 'ARC-MINI-BLK' })) as { ok: true; value: SkuView };
    const sku2 = (await engine.execute({ type: 'getSku', sku: 'JOY-PRO' })) as { ok: true; value: SkuView };
    expect([sku1.value.reserved, sku2.value.reserved]).toEqual([2, 1]);
    const events = await orderEvents();
    const placed = events.filter((e) => e.data.orderId && e.subject.startsWith('orders.events.'));
    expect(placed.length).toBeGreaterThan(0);
    const orderId = placed[0].data.orderId as string;
    const answer = orders.get(orderId);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(answer.order).toMatchObject({ channel: 'shopify', state: 'RESERVED' });
    expect(new Set(placed.map((e) => e.data.orderId)).size).toBe(1);
  });

  it('holds an order whose SKU is out of stock and refuses its confirmation', async () => {
    const body = JSON.parse(SHOPIFY_BODY);
    body.id = 5940139499999;
    body.name = '#1099';
    body.line_items = [{ ...body.line_items[0], id: 99, sku: 'SOLD-OUT-1', quantity: 1 }];
    await engine.execute({ type: 'setStock', sku: 'SOLD-OUT-1', location: 'dc', onHand: 0, eventId: 'e-sold-out' });
    await publishShopify(JSON.stringify(body), 'shopify-5940139499999');
    const events = await orderEvents();
    const mine = events.filter((e) => JSON.stringify(e.data).includes('5940139499999'));
    expect(mine.length).toBeGreaterThan(0);
    const orderId = mine[0].data.orderId as string;
    const confirm = await orders.confirm(orderId);
    expect(confirm.ok).toBe(false);
    if (!confirm.ok) expect(confirm.error.code).toBe('ORDER_ON_HOLD');
    const held = orders.get(orderId);
    expect(held.ok && held.order.payment.authorizationId).toBeTruthy();
  });
});
