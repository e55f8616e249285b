// The order flow's own LMDB environment (`<dataDir>/orders`), records encoded with msgpackr:
//   wal      seq -> { seq, at, orderIds, events }  every change, in order (the audit trail)
//   orders   orderId -> Order                      the state after the change: a snapshot kept
//                                                  current in the same transaction as the WAL
//   keys     "<channel>\0<account>\0<externalId>" -> orderId   idempotent placement
//   skus     sku -> SkuOrderSettings               pre-order settings, substitutes, units taken
//   outbox   "<seq padded>.<n>" -> OutboxEntry     events written, not yet confirmed by JetStream
//   meta     'orderNo' | 'queueSeq' -> number; 'instance' -> the store's random id
// Every change is one group of puts queued in one synchronous block, so lmdb-js writes it as one
// transaction; the caller awaits `flushed` (on disk, never noSync) before it answers.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Database, RootDatabase } from 'lmdb';
import { closeEnvironment, openEnvironment } from '../persistence/open-environments.js';
import type { Order, OrderEvent } from './model.js';
import type { SkuOrderSettings } from './preorders.js';

export interface OrderWalRecord {
  seq: number;
  at: number;
  /** `[orderId, versionAfter]` of each order the record changed. */
  orders: [string, number][];
  events: { orderId: string; event: OrderEvent }[];
}

export interface OutboxEntry {
  /** The Nats-Msg-Id: `<orderId>.<version>` of the event. */
  id: string;
  subject: string;
  payload: string;
}

export interface OrderChange {
  order: Order;
  events: OrderEvent[];
}

export class OrderStore {
  private walSeq: number;

  private constructor(
    private readonly root: RootDatabase,
    private readonly wal: Database<OrderWalRecord, number>,
    readonly orders: Database<Order, string>,
    private readonly keys: Database<string, string>,
    readonly skus: Database<SkuOrderSettings, string>,
    private readonly outbox: Database<OutboxEntry, string>,
    private readonly meta: Database<number | string, string>,
  ) {
    this.walSeq = 0;
    for (const key of wal.getKeys({ reverse: true, limit: 1 })) this.walSeq = key;
  }

  static open(dataDir: string): OrderStore {
    const path = `${dataDir}/orders`;
    mkdirSync(path, { recursive: true });
    // As the shard stores: commits overlap their fsync, durability comes from awaiting `flushed`.
    const root = openEnvironment({ path, maxDbs: 8, compression: false, overlappingSync: true, noSync: false });
    return new OrderStore(
      root,
      root.openDB<OrderWalRecord, number>({ name: 'wal', encoding: 'msgpack' }),
      root.openDB<Order, string>({ name: 'orders', encoding: 'msgpack' }),
      root.openDB<string, string>({ name: 'keys', encoding: 'string' }),
      root.openDB<SkuOrderSettings, string>({ name: 'skus', encoding: 'msgpack' }),
      root.openDB<OutboxEntry, string>({ name: 'outbox', encoding: 'msgpack' }),
      root.openDB<number | string, string>({ name: 'meta', encoding: 'msgpack' }),
    );
  }

  static externalKey(channel: string, account: string, externalId: string): string {
    return `${channel}\u0000${account}\u0000${externalId}`;
  }

  orderIdOf(externalKey: string): string | undefined {
    return this.keys.get(externalKey);
  }

  counter(name: 'orderNo' | 'queueSeq'): number {
    return (this.meta.get(name) as number | undefined) ?? 0;
  }

  /**
   * A random id made when the store is created. It prefixes the engine idempotency keys derived
   * from order ids: order numbers restart with a new store, and a new store in front of an engine
   * that still remembers the old one's keys must not meet IDEMPOTENCY_KEY_REUSED (or a replay).
   */
  instanceId(): string {
    let id = this.meta.get('instance') as string | undefined;
    if (id === undefined) {
      id = randomBytes(4).toString('hex');
      this.meta.putSync('instance', id);
    }
    return id;
  }

  /**
   * Queue one change: the WAL record, the orders' new state, their placement keys, settings, the
   * counters and the outbox entries. Must run in one synchronous block; returns the flush.
   */
  write(
    at: number,
    changes: readonly OrderChange[],
    outbox: readonly OutboxEntry[],
    extra: { settings?: SkuOrderSettings[]; externalKeys?: [string, string][]; counters?: [string, number][] } = {},
  ): { seq: number; flushed: Promise<void> } {
    const seq = ++this.walSeq;
    const record: OrderWalRecord = {
      seq,
      at,
      orders: changes.map((c) => [c.order.id, c.order.version]),
      events: changes.flatMap((c) => c.events.map((event) => ({ orderId: c.order.id, event }))),
    };
    void this.wal.put(seq, record);
    for (const c of changes) void this.orders.put(c.order.id, c.order);
    for (const [key, orderId] of extra.externalKeys ?? []) void this.keys.put(key, orderId);
    for (const s of extra.settings ?? []) void this.skus.put(s.sku, s);
    for (const [name, value] of extra.counters ?? []) void this.meta.put(name, value);
    for (let i = 0; i < outbox.length; i++) void this.outbox.put(outboxKey(seq, i), outbox[i]);
    return { seq, flushed: this.flushed() };
  }

  /** Resolves once everything queued so far is on disk. */
  flushed(): Promise<void> {
    return new Promise((resolve, reject) => this.root.flushed.then(() => resolve(), reject));
  }

  /** JetStream confirmed the event: its outbox entry goes (losing this removal only republishes it). */
  confirmOutbox(key: string): void {
    void this.outbox.remove(key);
  }

  *pendingOutbox(): Generator<{ key: string; entry: OutboxEntry }> {
    for (const { key, value } of this.outbox.getRange()) yield { key, entry: value };
  }

  outboxSize(): number {
    return this.outbox.getCount();
  }

  *allOrders(): Generator<Order> {
    for (const { value } of this.orders.getRange()) yield value;
  }

  *allSettings(): Generator<SkuOrderSettings> {
    for (const { value } of this.skus.getRange()) yield value;
  }

  lastRecord(): OrderWalRecord | undefined {
    return this.walSeq === 0 ? undefined : this.wal.get(this.walSeq);
  }

  *records(): Generator<OrderWalRecord> {
    for (const { value } of this.wal.getRange()) yield value;
  }

  async close(): Promise<void> {
    await this.flushed();
    await closeEnvironment(this.root);
  }
}

export function outboxKey(seq: number, index: number): string {
  return `${seq.toString().padStart(15, '0')}.${index.toString().padStart(4, '0')}`;
}
