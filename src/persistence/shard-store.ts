// One LMDB environment per shard, holding these databases:
//   wal      seq -> LoggedRecord (msgpackr)     the write-ahead log, one record per shard turn;
//                                               kept (walRetentionMs) as the immutable audit trail
//   history  [reservationId, seq, i] -> empty   where an ended reservation's last event is in the
//                                               WAL (each event links to the one before: codec.ts
//                                               PrevLink); an open one's is in memory and in its
//                                               snapshot. Data written before links has an entry
//                                               for every event; both are read.
//   state    sku -> SkuSnapshot                 the last checkpoint of each SKU
//   pages    [sku, kind, page] -> block         a paged SKU's holds and keys (snapshot-pages.ts)
//   outbox   noticeId -> Alert (msgpackr)      alert notices not yet confirmed by JetStream; put in
//                                               the turn's transaction, removed on confirmation
//   meta     'checkpoint' -> { seq, at }        which WAL record the checkpoint covers
//            'structures' -> string[][]         the msgpackr record structures (see codec.ts)
// Writes are lmdb-js asynchronous puts: all puts of one event-loop turn form one transaction
// (group commit), and `whenFlushed` resolves once that transaction is on disk.

import { mkdirSync } from 'node:fs';
import type { Database, RootDatabase } from 'lmdb';
import type { SkuEvent } from '../actors/types.js';
import type { Alert } from '../alerts/alert.js';
import { reservationIdOfEvent } from '../actors/sku.js';
import { eventOfLogged, prevLinkOf, RecordCodec, type LoggedRecord, type StoredEvent, type StoredRecord, type SkuSnapshot, type WalRecord } from './codec.js';
import { closeEnvironment, openEnvironment } from './open-environments.js';
import { withPages, type PageKey, type PageWrite } from './snapshot-pages.js';

/** An event's place in the WAL: record seq and index in the record's events. */
export interface WalPosition {
  seq: number;
  index: number;
}

export interface CheckpointMeta {
  seq: number;
  at: number;
}

type HistoryKey = [reservationId: string, seq: number, index: number];

const EMPTY = Buffer.alloc(0);

type MetaValue = CheckpointMeta | string[][];

export class ShardStore {
  readonly codec: RecordCodec;

  private constructor(
    private readonly root: RootDatabase,
    private readonly wal: Database<Buffer, number>,
    private readonly history: Database<Buffer, HistoryKey>,
    private readonly state: Database<Buffer, string>,
    private readonly meta: Database<MetaValue, string>,
    private readonly outbox: Database<Buffer, string>,
    private readonly pages: Database<Buffer, PageKey>,
  ) {
    // Queued before the put of the value that uses the new structure, so it commits in the same
    // transaction or an earlier one: no crash can keep that value without its table. It was a
    // putSync, a synchronous commit inside the turn: up to 43 ms in a shard's first checkpoint,
    // which waited for the write thread (docs/benchmarks.md, "Structures queued, not committed
    // on the spot").
    this.codec = new RecordCodec(meta.get('structures') as string[][] | undefined, (structures) => {
      void meta.put('structures', structures);
    });
  }

  static open(path: string): ShardStore {
    mkdirSync(path, { recursive: true });
    // overlappingSync: commits do not wait for fsync, so the next transaction can start while the
    // previous one flushes; durability comes from awaiting `flushed`, never from noSync.
    const root = openEnvironment({ path, maxDbs: 8, compression: false, overlappingSync: true, noSync: false });
    return new ShardStore(
      root,
      root.openDB<Buffer, number>({ name: 'wal', encoding: 'binary' }),
      root.openDB<Buffer, HistoryKey>({ name: 'history', encoding: 'binary' }),
      root.openDB<Buffer, string>({ name: 'state', encoding: 'binary' }),
      root.openDB<MetaValue, string>({ name: 'meta', encoding: 'msgpack' }),
      root.openDB<Buffer, string>({ name: 'outbox', encoding: 'binary' }),
      root.openDB<Buffer, PageKey>({ name: 'pages', encoding: 'binary' }),
    );
  }

  /**
   * Queue a turn's WAL record (encoded by `codec.records`) and the history index of the
   * reservations it ended (`historyIds[k]` ended with the record's event `historyIndexes[k]`);
   * they commit together.
   */
  appendTurn(seq: number, record: Buffer, historyIds: string[], historyIndexes: number[]): void {
    void this.wal.put(seq, record);
    for (let k = 0; k < historyIds.length; k++) void this.history.put([historyIds[k], seq, historyIndexes[k]], EMPTY);
  }

  /** Queue alert notices into the outbox, in the same transaction as the turn that decided them. */
  putOutbox(notices: Alert[]): void {
    for (const notice of notices) void this.outbox.put(notice.noticeId, this.codec.encode(notice));
  }

  /** Forget notices JetStream confirmed. */
  removeOutbox(noticeIds: string[]): void {
    for (const id of noticeIds) void this.outbox.remove(id);
  }

  /** Notices not yet confirmed, oldest key first, at most `max`. */
  outboxEntries(max: number): Alert[] {
    const notices: Alert[] = [];
    for (const { value } of this.outbox.getRange({ limit: max })) notices.push(this.codec.decode<Alert>(value));
    return notices;
  }

  /** Resolves when everything queued so far is durable on disk. Must be called in the same turn as the puts. */
  whenFlushed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.root.flushed.then(() => resolve(), reject);
    });
  }

  /**
   * Queue a checkpoint: snapshots of the changed SKUs, the pages of those kept in pages that
   * changed, and the WAL position they cover.
   */
  writeCheckpoint(meta: CheckpointMeta, snapshots: SkuSnapshot[], pageWrites: readonly PageWrite[] = []): void {
    this.writeSnapshots(snapshots, pageWrites);
    void this.meta.put('checkpoint', meta);
  }

  /** Queue snapshots and page writes without moving the checkpoint position (paged SKUs checkpointed on their own). */
  writeSnapshots(snapshots: SkuSnapshot[], pageWrites: readonly PageWrite[]): void {
    for (const snapshot of snapshots) void this.state.put(snapshot.sku, this.codec.encodeSnapshot(snapshot));
    for (const { key, block } of pageWrites) void (block !== null ? this.pages.put(key, block) : this.pages.remove(key));
  }

  readCheckpoint(): CheckpointMeta {
    return (this.meta.get('checkpoint') as CheckpointMeta | undefined) ?? { seq: 0, at: 0 };
  }

  *snapshots(): Generator<SkuSnapshot> {
    for (const { value } of this.state.getRange()) yield withPages(this.codec.decode<SkuSnapshot>(value), this.pages);
  }

  *recordsAfter(seq: number): Generator<WalRecord> {
    for (const { value } of this.wal.getRange({ start: seq + 1 })) yield this.codec.decodeRecord(value);
  }

  lastSeq(): number {
    for (const key of this.wal.getKeys({ reverse: true, limit: 1 })) return key;
    return 0;
  }

  /**
   * The events of one reservation, in WAL order, read back from the records that hold them: from
   * its latest event (`latest` when it is open, the history index when it ended) along each
   * event's link to the one before. Index entries written before links are followed too.
   */
  eventsOf(reservationId: string, latest: WalPosition | null): { seq: number; event: SkuEvent }[] {
    const starts = this.historyIndexOf(reservationId);
    if (latest) starts.push(latest);
    const records = new Map<number, StoredRecord | null>();
    const seen = new Set<string>();
    const lines: { seq: number; index: number; event: SkuEvent }[] = [];
    // Latest first: its chain usually covers every other start.
    for (let s = starts.length - 1; s >= 0; s--) {
      let at: WalPosition | null = starts[s];
      while (at !== null) {
        const place = `${at.seq}:${at.index}`;
        if (seen.has(place)) break;
        seen.add(place);
        const stored = this.storedEventAt(records, at);
        // A record pruned by walRetentionMs takes its part of the trail, and every older part, with it.
        if (stored === null) break;
        const event = eventOfLogged(stored);
        if (reservationIdOfEvent(event) !== reservationId) {
          throw new Error(`WAL record ${at.seq} event ${at.index} is not an event of reservation ${reservationId}: the history index or a link is damaged`);
        }
        lines.push({ seq: at.seq, index: at.index, event });
        const link = prevLinkOf(stored);
        at = link ? { seq: link.prevSeq, index: link.prevIndex } : null;
      }
    }
    lines.sort((a, b) => a.seq - b.seq || a.index - b.index);
    return lines.map(({ seq, event }) => ({ seq, event }));
  }

  /** The history index entries of one reservation, oldest first. */
  historyIndexOf(reservationId: string): WalPosition[] {
    const positions: WalPosition[] = [];
    for (const [, seq, index] of this.history.getKeys({ start: [reservationId], end: [reservationId, Infinity] })) positions.push({ seq, index });
    return positions;
  }

  /** One stored event, its record decoded once per read; null when the record is gone. */
  private storedEventAt(records: Map<number, StoredRecord | null>, at: WalPosition): StoredEvent | null {
    let record = records.get(at.seq);
    if (record === undefined) {
      const bytes = this.wal.get(at.seq);
      record = bytes ? this.codec.decodeLogged(bytes) : null;
      records.set(at.seq, record);
    }
    return record?.events[at.index] ?? null;
  }

  /**
   * Remove WAL records covered by the checkpoint and older than `beforeAt`, at most `max` of them.
   * Returns how many were queued for removal.
   */
  pruneWal(coveredSeq: number, beforeAt: number, max: number): number {
    let removed = 0;
    for (const { key, value } of this.wal.getRange({ end: coveredSeq + 1, limit: max })) {
      if (this.codec.decodeLogged(value).at >= beforeAt) break;
      void this.wal.remove(key);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.whenFlushed();
    await closeEnvironment(this.root);
  }
}
