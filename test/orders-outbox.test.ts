// The order-event outbox against a real nats-server (started from nats.conf): events are
// published on orders.events.<event>.<orderId> after the flush with Nats-Msg-Id = the event id,
// removed once JetStream confirms, and republished after a restart when the confirmation was lost
// — JetStream then drops the duplicate, so the stream holds each event once.

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { natsOrderPublisher, type OrderEventPublisher } from '../src/orders/publisher.js';
import { ensureStreams, ORDERS_STREAM } from '../src/streams/nats.js';
import { removeTempDirs } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';
import { canonical, orderOf, sharedEngine, skus, startOrders, type SharedEngine } from './orders-fixtures.js';

let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let shared: SharedEngine;

beforeAll(async () => {
  [nats, shared] = await Promise.all([NatsServer.start(), sharedEngine()]);
  nc = await connect({ servers: nats.url, ...NATS_USERS.stockade });
  jsm = await jetstreamManager(nc);
}, 60_000);

// Order ids restart with each fresh data directory, so each test gets a fresh stream: a stream's
// duplicate window would otherwise drop a later test's events that reuse an earlier test's ids.
beforeEach(async () => {
  await jsm.streams.delete(ORDERS_STREAM).catch(() => undefined);
  await ensureStreams(jsm, buildConfig({ nats: { servers: [nats.url] } }).nats);
});

afterAll(async () => {
  await nc.close();
  await nats.destroy();
  await shared.stop();
  removeTempDirs();
});

/** Every message of the ORDERS stream about one order: [subject, Nats-Msg-Id]. */
async function messagesOf(orderId: string): Promise<[string, string][]> {
  const info = await jsm.streams.info(ORDERS_STREAM);
  const found: [string, string][] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(ORDERS_STREAM, { seq });
    if (m && m.subject.endsWith(`.${orderId}`)) found.push([m.subject, m.header.get('Nats-Msg-Id')]);
  }
  return found;
}

describe('order event outbox', () => {
  it('publishes every change after its flush and empties the outbox', async () => {
    const [A] = skus('A');
    const rig = await startOrders(shared.engine, { publisher: natsOrderPublisher(nc) });
    try {
      await rig.stock(A, 5);
      const placed = orderOf(await rig.service.place(canonical([[A, 1]])));
      orderOf(await rig.service.confirm(placed.id));
      await rig.service.whenOutboxEmpty();
      expect(await messagesOf(placed.id)).toEqual([
        [`orders.events.received.${placed.id}`, `${placed.id}.1`],
        [`orders.events.reserved.${placed.id}`, `${placed.id}.2`],
        [`orders.events.confirmed.${placed.id}`, `${placed.id}.3`],
      ]);
      const m = await jsm.streams.getMessage(ORDERS_STREAM, { last_by_subj: `orders.events.confirmed.${placed.id}` });
      expect(m!.json()).toMatchObject({ id: `${placed.id}.3`, event: 'confirmed', orderId: placed.id, version: 3, channel: 'web' });
    } finally {
      await rig.stop();
    }
  });

  it('the customer notification of an unavailable line is an event with the message text', async () => {
    const [A] = skus('A');
    const rig = await startOrders(shared.engine, { publisher: natsOrderPublisher(nc), orders: { outOfStockPolicy: { default: 'backorder' } } });
    try {
      const placed = orderOf(await rig.service.place(canonical([[A, 1]], { externalId: 'N-1' })));
      await rig.service.whenOutboxEmpty();
      const m = await jsm.streams.getMessage(ORDERS_STREAM, { last_by_subj: `orders.events.customer_notification.${placed.id}` });
      expect(m!.json()).toMatchObject({ event: 'customer_notification', kind: 'unavailable', text: expect.stringContaining('Order N-1:') });
    } finally {
      await rig.stop();
    }
  });

  it('republishes after a restart what JetStream did not confirm; the stream holds each event once', async () => {
    const [A] = skus('A');
    const real = natsOrderPublisher(nc);
    // The first run publishes, but every confirmation is lost on the way back (a crash, a cut link).
    const ackLost: OrderEventPublisher = {
      async publish(subject, payload, msgId) {
        await real.publish(subject, payload, msgId);
        throw new Error('connection lost before the ack');
      },
    };
    const rig = await startOrders(shared.engine, { publisher: ackLost, orders: { outboxRetryIntervalMs: 60_000 } });
    let reopened = false;
    try {
      await rig.stock(A, 5);
      const placed = orderOf(await rig.service.place(canonical([[A, 1]])));
      const cancelled = orderOf(await rig.service.cancel(placed.id));
      expect(cancelled.version).toBe(3);
      expect(rig.service.outboxPending).toBe(3);

      // Nothing was confirmed: the restarted service publishes all three again.
      const republished: string[] = [];
      await rig.reopen({
        publish: (subject, payload, msgId) => {
          republished.push(msgId);
          return real.publish(subject, payload, msgId);
        },
      });
      reopened = true;
      expect(rig.service.outboxPending).toBe(3);
      await rig.service.whenOutboxEmpty();
      expect(republished).toEqual([`${placed.id}.1`, `${placed.id}.2`, `${placed.id}.3`]);
      expect((await messagesOf(placed.id)).map(([, id]) => id)).toEqual([`${placed.id}.1`, `${placed.id}.2`, `${placed.id}.3`]);

      // Confirmed events are gone from the outbox: a further restart publishes nothing.
      const third: string[] = [];
      await rig.reopen({
        publish: async (_s, _p, msgId) => {
          third.push(msgId);
        },
      });
      expect(rig.service.outboxPending).toBe(0);
      expect(third).toEqual([]);
    } finally {
      await rig.stop();
      expect(reopened).toBe(true);
    }
  });

  it('a failed publish is retried by the running service', async () => {
    const [A] = skus('A');
    const real = natsOrderPublisher(nc);
    let failuresLeft = 2;
    const flaky: OrderEventPublisher = {
      publish(subject, payload, msgId) {
        if (failuresLeft > 0) {
          failuresLeft--;
          return Promise.reject(new Error('no responders'));
        }
        return real.publish(subject, payload, msgId);
      },
    };
    const rig = await startOrders(shared.engine, { publisher: flaky, orders: { outboxRetryIntervalMs: 20 } });
    try {
      await rig.stock(A, 5);
      const placed = orderOf(await rig.service.place(canonical([[A, 1]])));
      await rig.service.whenOutboxEmpty();
      // Each event once; a retried one may land after a later one (consumers order by version).
      expect((await messagesOf(placed.id)).map(([, id]) => id).sort()).toEqual([`${placed.id}.1`, `${placed.id}.2`]);
      expect(failuresLeft).toBe(0);
    } finally {
      await rig.stop();
    }
  });
});

describe('the NATS publisher', () => {
  it('fails while there is no connection yet, and publishes once there is one', async () => {
    let connection: NatsConnection | null = null;
    const publisher = natsOrderPublisher(() => connection);
    await expect(publisher.publish('orders.events.received.ord-x', '{}', 'ord-x.1')).rejects.toThrow(/not connected/);
    connection = nc;
    await publisher.publish('orders.events.received.ord-x', '{}', 'ord-x.1');
    const m = await jsm.streams.getMessage(ORDERS_STREAM, { last_by_subj: 'orders.events.received.ord-x' });
    expect(m!.header.get('Nats-Msg-Id')).toBe('ord-x.1');
  });
});
