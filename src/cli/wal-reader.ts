// A shard's LMDB environment opened read-only, for tools that run beside a live server (LMDB lets
// several processes share an environment; readers never block the writer). Every read goes
// through one read transaction, so the checkpoint, the snapshots and the WAL seen together are
// one consistent moment even while the shard keeps writing and pruning.
//
// The layout mirrors src/persistence/shard-store.ts (database names and encodings); the record
// decoding is the store's own RecordCodec, fed with the structure table stored beside the WAL.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { RecordCodec, type SkuSnapshot, type WalRecord } from '../persistence/codec.js';
import type { CheckpointMeta } from '../persistence/shard-store.js';
import { withPages, type PageKey } from '../persistence/snapshot-pages.js';

export class ShardReader {
  private readonly codec: RecordCodec;

  private constructor(
    private readonly root: RootDatabase,
    private readonly txn: Transaction,
    private readonly wal: Database<Buffer, number>,
    private readonly state: Database<Buffer, string>,
    private readonly meta: Database<unknown, string>,
    /** Null in data written before pages. */
    private readonly pages: Database<Buffer, PageKey> | null,
  ) {
    const structures = meta.get('structures', { transaction: txn }) as string[][] | undefined;
    this.codec = new RecordCodec(structures, () => {
      throw new Error('a read-only shard reader never encodes');
    });
  }

  /** Null when the directory holds no LMDB environment. */
  static open(path: string): ShardReader | null {
    if (!existsSync(join(path, 'data.mdb'))) return null;
    const root = open({ path, maxDbs: 8, compression: false, readOnly: true });
    const wal = root.openDB<Buffer, number>({ name: 'wal', encoding: 'binary' });
    const state = root.openDB<Buffer, string>({ name: 'state', encoding: 'binary' });
    const meta = root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
    // Opened before the read transaction (a database cannot be opened inside it); read-only,
    // lmdb-js gives no database where data written before pages has none.
    const pages = (root.openDB<Buffer, PageKey>({ name: 'pages', encoding: 'binary' }) as Database<Buffer, PageKey> | undefined) ?? null;
    return new ShardReader(root, root.useReadTransaction(), wal, state, meta, pages);
  }

  checkpoint(): CheckpointMeta {
    return (this.meta.get('checkpoint', { transaction: this.txn }) as CheckpointMeta | undefined) ?? { seq: 0, at: 0 };
  }

  /** The oldest WAL record still kept (walRetentionMs prunes from the front), or null when empty. */
  firstRecord(): WalRecord | null {
    for (const { value } of this.wal.getRange({ limit: 1, transaction: this.txn })) return this.codec.decodeRecord(value);
    return null;
  }

  /** One WAL record, or null when it is not (or no longer) there. */
  recordAt(seq: number): WalRecord | null {
    const bytes = this.wal.get(seq, { transaction: this.txn });
    return bytes ? this.codec.decodeRecord(bytes) : null;
  }

  lastSeq(): number {
    for (const key of this.wal.getKeys({ reverse: true, limit: 1, transaction: this.txn })) return key;
    return 0;
  }

  /** The SKU's state as of the checkpoint, if it had one then (with its pages, when it is kept in pages). */
  snapshot(sku: string): SkuSnapshot | undefined {
    const bytes = this.state.get(sku, { transaction: this.txn });
    if (!bytes) return undefined;
    const snapshot = this.codec.decode<SkuSnapshot>(bytes);
    if (!snapshot.paged) return snapshot;
    if (this.pages === null) throw new Error(`snapshot of SKU ${sku} is kept in pages, and this shard has no pages database: its data is damaged`);
    return withPages(snapshot, this.pages, { transaction: this.txn });
  }

  *recordsAfter(seq: number): Generator<WalRecord> {
    for (const { value } of this.wal.getRange({ start: seq + 1, transaction: this.txn })) yield this.codec.decodeRecord(value);
  }

  async close(): Promise<void> {
    this.txn.done();
    await this.root.close();
  }
}
