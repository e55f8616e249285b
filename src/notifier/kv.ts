// A small key-value bucket on a JetStream stream, laid out as NATS KV lays out its buckets
// (stream KV_<bucket>, subjects $KV.<bucket>.<key>, one message per key, KV-Operation: DEL for a
// delete), so the `nats kv` tools read it too. Written here because @nats-io/kv is not among the
// project's dependencies. Compare-and-set uses Nats-Expected-Last-Subject-Sequence: a create
// expects no message under the key, an update expects the revision it read.
//
// Keys are base64url of the logical key: alert and delivery ids hold `/`, `*` and dots, which
// would be wildcards or extra tokens in a subject.

import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';

const OPERATION_HEADER = 'KV-Operation';
const NANOS_PER_MS = 1_000_000;

export interface KvEntry<T> {
  key: string;
  value: T;
  revision: number;
}

export const encodeKey = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');
export const decodeKey = (token: string): string => Buffer.from(token, 'base64url').toString('utf8');

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || /wrong last sequence/i.test(err.message));
}

export class KvBucket<T> {
  readonly stream: string;
  private readonly js: JetStreamClient;

  private constructor(
    readonly name: string,
    nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {
    this.stream = `KV_${name}`;
    this.js = jetstream(nc);
  }

  /** Open the bucket, creating its stream when absent (concurrent creators agree on one config). */
  static async open<T>(nc: NatsConnection, jsm: JetStreamManager, name: string, maxAgeMs: number): Promise<KvBucket<T>> {
    const bucket = new KvBucket<T>(name, nc, jsm);
    const config = {
      name: bucket.stream,
      subjects: [`$KV.${name}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_msgs_per_subject: 1,
      max_age: maxAgeMs * NANOS_PER_MS,
      allow_rollup_hdrs: true,
      deny_delete: true,
      allow_direct: true,
    };
    try {
      await jsm.streams.info(bucket.stream);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      try {
        await jsm.streams.add(config);
      } catch (addErr) {
        // Another notifier created it in between.
        if (!/already in use|exists/i.test((addErr as Error).message)) throw addErr;
      }
    }
    return bucket;
  }

  private subject(key: string): string {
    return `$KV.${this.name}.${encodeKey(key)}`;
  }

  async get(key: string): Promise<KvEntry<T> | null> {
    const m = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(key) });
    if (m === null) return null;
    if (m.header?.get(OPERATION_HEADER)) return null;
    return { key, value: m.json<T>(), revision: m.seq };
  }

  /** Create the key when absent; null when it exists (someone else holds it). */
  async create(key: string, value: T): Promise<number | null> {
    try {
      const ack = await this.js.publish(this.subject(key), JSON.stringify(value), { expect: { lastSubjectSequence: 0 } });
      return ack.seq;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    // The key may hold only a delete marker: creating over it is an update of the marker.
    const m = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(key) });
    if (m === null || !m.header?.get(OPERATION_HEADER)) return null;
    return this.update(key, value, m.seq);
  }

  /** Replace the value read at `revision`; null when it changed since. */
  async update(key: string, value: T, revision: number): Promise<number | null> {
    try {
      const ack = await this.js.publish(this.subject(key), JSON.stringify(value), { expect: { lastSubjectSequence: revision } });
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw err;
    }
  }

  async put(key: string, value: T): Promise<number> {
    return (await this.js.publish(this.subject(key), JSON.stringify(value))).seq;
  }

  /** Delete the key; with `revision`, only if it is still the one read (false when it changed). */
  async delete(key: string, revision?: number): Promise<boolean> {
    const h = natsHeaders();
    h.set(OPERATION_HEADER, 'DEL');
    try {
      await this.js.publish(this.subject(key), new Uint8Array(0), { headers: h, ...(revision !== undefined ? { expect: { lastSubjectSequence: revision } } : {}) });
      return true;
    } catch (err) {
      if (revision !== undefined && isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  /**
   * Every live entry, then every change, in order: `onEntry(key, value or null when deleted)`.
   * `ready` resolves once the entries present at the start have been delivered. stop() ends it.
   */
  async watch(onEntry: (key: string, entry: KvEntry<T> | null) => void): Promise<{ ready: Promise<void>; stop: () => Promise<void> }> {
    const consumer = await this.js.consumers.get(this.stream, { filter_subjects: `$KV.${this.name}.>`, deliver_policy: DeliverPolicy.LastPerSubject });
    const info = await consumer.info(true);
    let initial = info.num_pending;
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    if (initial === 0) markReady();
    const messages: ConsumerMessages = await consumer.consume();
    const prefix = `$KV.${this.name}.`;
    const done = (async () => {
      for await (const m of messages) {
        const key = decodeKey(m.subject.slice(prefix.length));
        const deleted = Boolean(m.headers?.get(OPERATION_HEADER));
        try {
          onEntry(key, deleted ? null : { key, value: m.json<T>(), revision: m.seq });
        } finally {
          if (initial > 0 && (--initial === 0 || m.info.pending === 0)) {
            initial = 0;
            markReady();
          }
        }
      }
    })();
    return {
      ready,
      stop: async () => {
        void messages.close();
        await done.catch(() => undefined);
      },
    };
  }
}
