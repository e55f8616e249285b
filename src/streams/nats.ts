// The NATS connection and the JetStream streams Stockade owns. Streams are created on start
// when absent, with explicit limits and duplicate windows; an existing stream is updated to them.

import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.js';

export const STOCK_STREAM = 'STOCK_EVENTS';
export const DEAD_LETTER_STREAM = 'DEAD_LETTERS';
export const STOCK_SUBJECTS = 'wms.stock.>';
export const DEAD_LETTER_SUBJECT_PREFIX = 'dlq.';

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
