// One LMDB environment per shard, holding four databases:
//   wal      seq -> WalRecord (msgpackr)        the write-ahead log, one record per shard turn
//   history  [reservationId, seq, i] -> entry   every reservation's audit trail
//   state    sku -> SkuSnapshot                 the last checkpoint of each SKU
//   meta     'checkpoint' -> { seq, at }        which WAL record the checkpoint covers
// Writes are lmdb-js asynchronous puts: all puts of one event-loop turn form one transaction
// (group commit), and `whenFlushed` resolves once that transaction is on disk.

import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { HistoryEntry } from '../actors/types.js';
import { decodeRecord, decodeValue, encodeValue, type SkuSnapshot, type WalRecord } from './codec.js';

export interface CheckpointMeta {
  seq: number;
  at: number;
}

type HistoryKey = [reservationId: string, seq: number, index: number];

export class ShardStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly wal: Database<Buffer, number>,
    private readonly history: Database<Buffer, HistoryKey>,
    private readonly state: Database<Buffer, string>,
    private readonly meta: Database<CheckpointMeta, string>,
  ) {}

  static open(path: string): ShardStore {
    mkdirSync(path, { recursive: true });
    // overlappingSync: commits do not wait for fsync, so the next transaction can start while the
    // previous one flushes; durability comes from awaiting `flushed`, never from noSync.
    const root = open({ path, maxDbs: 8, compression: false, overlappingSync: true, noSync: false });
    return new ShardStore(
      root,
      root.openDB<Buffer, number>({ name: 'wal', encoding: 'binary' }),
      root.openDB<Buffer, HistoryKey>({ name: 'history', encoding: 'binary' }),
      root.openDB<Buffer, string>({ name: 'state', encoding: 'binary' }),
      root.openDB<CheckpointMeta, string>({ name: 'meta', encoding: 'msgpack' }),
    );
  }

  /** Queue a turn's WAL record and history lines; they commit together with the turn. */
  appendTurn(seq: number, record: Buffer, history: HistoryEntry[], historyIds: string[]): void {
    void this.wal.put(seq, record);
    for (let i = 0; i < history.length; i++) void this.history.put([historyIds[i], seq, i], encodeValue(history[i]));
  }

  /** Resolves when everything queued so far is durable on disk. Must be called in the same turn as the puts. */
  whenFlushed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.root.flushed.then(() => resolve(), reject);
    });
  }

  /** Queue a checkpoint: snapshots of the changed SKUs and the WAL position they cover. */
  writeCheckpoint(meta: CheckpointMeta, snapshots: Buffer[], skus: string[]): void {
    for (let i = 0; i < skus.length; i++) void this.state.put(skus[i], snapshots[i]);
    void this.meta.put('checkpoint', meta);
  }

  readCheckpoint(): CheckpointMeta {
    return this.meta.get('checkpoint') ?? { seq: 0, at: 0 };
  }

  *snapshots(): Generator<SkuSnapshot> {
    for (const { value } of this.state.getRange()) yield decodeValue<SkuSnapshot>(value);
  }

  *recordsAfter(seq: number): Generator<WalRecord> {
    for (const { value } of this.wal.getRange({ start: seq + 1 })) yield decodeRecord(value);
  }

  lastSeq(): number {
    for (const key of this.wal.getKeys({ reverse: true, limit: 1 })) return key;
    return 0;
  }

  historyOf(reservationId: string): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    for (const { value } of this.history.getRange({ start: [reservationId], end: [reservationId, Infinity] })) {
      entries.push(decodeValue<HistoryEntry>(value));
    }
    return entries;
  }

  /**
   * Remove WAL records covered by the checkpoint and older than `beforeAt`, at most `max` of them.
   * Returns how many were queued for removal.
   */
  pruneWal(coveredSeq: number, beforeAt: number, max: number): number {
    let removed = 0;
    for (const { key, value } of this.wal.getRange({ end: coveredSeq + 1, limit: max })) {
      if (decodeRecord(value).at >= beforeAt) break;
      void this.wal.remove(key);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.whenFlushed();
    await this.root.close();
  }
}
