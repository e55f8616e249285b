// The NATS connection and the JetStream streams Stockade owns. Streams are created on start
// when absent, with explicit limits and duplicate windows; an existing stream is updated to them.

import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.js';

export const STOCK_STREAM = 'STOCK_EVENTS';
export const DEAD_LETTER_STREAM = 'DEAD_LETTERS';
export const STOCK_SUBJECTS = 'wms.stock.>';
export const DEAD_LETTER_SUBJECT_PREFIX = 'dlq.';
/**
 * One stream for every order subject: channel orders on `orders.<channel>.created` and the order
 * flow's own events on `orders.events.>`. Two streams cannot hold them, because JetStream refuses
 * overlapping subjects and `orders.*.created` matches `orders.events.created`; consumers filter.
 * A channel may therefore not be named `events`.
 */
export const ORDERS_STREAM = 'ORDERS';
export const ORDERS_SUBJECTS = 'orders.>';
export const CHANNEL_ORDER_SUBJECTS = 'orders.*.created';
export const ORDER_EVENT_SUBJECTS = 'orders.events.>';
export const ALERTS_STREAM = 'ALERTS';
export const ALERTS_SUBJECTS = 'alerts.>';

const NANOS_PER_MS = 1_000_000;
export const nanos = (ms: number): number => ms * NANOS_PER_MS;

export function streamConfigs(config: NatsConfig): (Partial<StreamConfig> & { name: string })[] {
  return [
    {
      name: STOCK_STREAM,
      subjects: [STOCK_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(config.duplicateWindowMs),
      max_age: nanos(config.streamMaxAgeMs),
      max_bytes: config.streamMaxBytes,
      max_msg_size: 64 * 1024,
    },
    {
      name: ORDERS_STREAM,
      subjects: [ORDERS_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(config.duplicateWindowMs),
      max_age: nanos(config.streamMaxAgeMs),
      max_bytes: config.streamMaxBytes,
      max_msg_size: 256 * 1024,
    },
    {
      name: ALERTS_STREAM,
      subjects: [ALERTS_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(config.duplicateWindowMs),
      max_age: nanos(config.streamMaxAgeMs),
      max_bytes: config.streamMaxBytes,
      max_msg_size: 64 * 1024,
    },
    {
      name: DEAD_LETTER_STREAM,
      subjects: [`${DEAD_LETTER_SUBJECT_PREFIX}>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(config.duplicateWindowMs),
      max_age: nanos(config.streamMaxAgeMs),
      max_bytes: Math.max(1, Math.floor(config.streamMaxBytes / 4)),
    },
  ];
}

/** Create each stream when absent; bring an existing one to the configured limits. */
export async function ensureStreams(jsm: JetStreamManager, config: NatsConfig): Promise<void> {
  for (const stream of streamConfigs(config)) {
    try {
      await jsm.streams.info(stream.name);
      await jsm.streams.update(stream.name, stream);
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
      await jsm.streams.add(stream);
    }
  }
}

/** Connect, retrying forever: nats.js reconnects by itself after the first connection too. */
export async function connectNats(config: NatsConfig, name: string): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({
    servers: config.servers,
    user: config.user,
    pass: config.password,
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  return { nc, jsm: await jetstreamManager(nc) };
}
