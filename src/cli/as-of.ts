// The availability of one SKU at a past moment, rebuilt offline from its shard's WAL.
//
// The state at time T is every WAL event up to the last record stamped at or before T, folded
// with the actor's own replayEvent. The fold needs a starting point:
//   - the WAL still starts at record 1: start from nothing; any T can be answered;
//   - walRetentionMs pruned the front: the only older state kept is the last checkpoint's
//     snapshot, so T can be answered only from the checkpoint's time on. Earlier moments are
//     refused (WAL_PRUNED) with the earliest moment that can be answered: the snapshot holds the
//     state at the checkpoint, not before, and the pruned records are gone.

import { existsSync, readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { shardOf } from '../actors/placement.js';
import { Shard } from '../actors/shard.js';
import { emptySku, replayEvent, skuView, type Limits, type SkuState } from '../actors/sku.js';
import type { SkuView } from '../actors/types.js';
import { stateOf } from '../persistence/codec.js';
import { CommandFailed } from './exit.js';
import { isoTime } from './output.js';
import { ShardReader } from './wal-reader.js';

/** Records folded between two looks at the event loop (progress bar redraws); ~20 ms of replay. */
const RECORDS_PER_TURN_MAX = 20_000;

export type AsOfBase = { kind: 'empty' } | { kind: 'checkpoint'; seq: number; at: number };

export interface AsOfResult {
  sku: string;
  asOf: number;
  shard: number;
  shards: number;
  base: AsOfBase;
  /** WAL records read and SKU events folded on top of the base. */
  recordsRead: number;
  eventsApplied: number;
  /** The newest event of the SKU at or before asOf (null when the base alone answers). */
  lastEventAt: number | null;
  wal: { firstSeq: number | null; firstAt: number | null; lastSeq: number };
  view: SkuView;
}

export interface AsOfOptions {
  dataDir: string;
  sku: string;
  asOf: number;
  limits: Limits;
  /** Told the number of records to read once, then each record's sequence as it goes. */
  onStart?(records: number): void;
  onRecord?(seqFromStart: number): void;
}

/** The shard count the data directory was written with (its manifest, see engine.ts). */
export function manifestShards(dataDir: string): number {
  const path = `${dataDir}/stockade.json`;
  if (!existsSync(path)) throw new CommandFailed('NOT_A_DATA_DIR', `${dataDir} is not a Stockade data directory (no stockade.json); --data-dir`);
  let shards: unknown;
  try {
    shards = (JSON.parse(readFileSync(path, 'utf8')) as { shards?: unknown }).shards;
  } catch (err) {
    throw new CommandFailed('NOT_A_DATA_DIR', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1) throw new CommandFailed('NOT_A_DATA_DIR', `${path} holds no valid shard count`);
  return shards;
}

export async function availabilityAsOf(options: AsOfOptions): Promise<AsOfResult> {
  const { dataDir, sku, asOf, limits } = options;
  const shards = manifestShards(dataDir);
  const shard = shardOf(sku, shards);
  const reader = ShardReader.open(Shard.directoryOf(dataDir, shard));
  if (!reader) throw new CommandFailed('NOT_A_DATA_DIR', `${Shard.directoryOf(dataDir, shard)} holds no LMDB environment (shard ${shard} of ${shards}, where ${sku} lives)`);
  try {
    const checkpoint = reader.checkpoint();
    const first = reader.firstRecord();
    const lastSeq = reader.lastSeq();
    const wal = { firstSeq: first?.seq ?? null, firstAt: first?.at ?? null, lastSeq };
    const complete = first ? first.seq === 1 : checkpoint.seq === 0;
    let base: AsOfBase = { kind: 'empty' };
    let state: SkuState | null = null;
    /** The SKU's events up to this record are in its snapshot already. */
    let skipUpTo = 0;
    if (!complete) {
      const snapshot = reader.snapshot(sku);
      // A paged SKU checkpointed on its own since (checkpoint-pages.ts) is as of a later record:
      // it answers from that record's time on, with the SKU's events up to it skipped.
      const ownSeq = snapshot?.paged?.[3] ?? 0;
      const own = ownSeq > checkpoint.seq;
      let earliestAt = checkpoint.at;
      if (own) {
        const ownAt = reader.recordAt(ownSeq)?.at;
        if (ownAt === undefined) throw new CommandFailed('NOT_A_DATA_DIR', `the snapshot of ${sku} on shard ${shard} is as of WAL record ${ownSeq}, which is missing`);
        earliestAt = ownAt;
        skipUpTo = ownSeq;
      }
      if (asOf < earliestAt) {
        throw new CommandFailed(
          'WAL_PRUNED',
          `the WAL of shard ${shard} no longer reaches back to ${isoTime(asOf)}${own ? ` for ${sku}` : ''}: records up to ${(first?.seq ?? lastSeq + 1) - 1} were pruned ` +
            `(shard.walRetentionMs), and ${own ? `${sku} was last checkpointed` : 'the last checkpoint is'} at ${isoTime(earliestAt)}; the earliest moment that can be rebuilt is ${isoTime(earliestAt)}`,
          { earliestAt, earliest: isoTime(earliestAt), wal },
        );
      }
      base = { kind: 'checkpoint', seq: checkpoint.seq, at: checkpoint.at };
      if (snapshot) state = stateOf(snapshot);
    }
    const startSeq = base.kind === 'checkpoint' ? base.seq : 0;
    options.onStart?.(Math.max(0, lastSeq - startSeq));
    let expected = startSeq + 1;
    let recordsRead = 0;
    let eventsApplied = 0;
    let lastEventAt: number | null = null;
    for (const record of reader.recordsAfter(startSeq)) {
      if (record.at > asOf) break;
      if (record.seq !== expected) throw new CommandFailed('NOT_A_DATA_DIR', `the WAL of shard ${shard} has a gap before record ${record.seq}`);
      expected++;
      for (const event of record.events) {
        if (event.sku !== sku || record.seq <= skipUpTo) continue;
        state ??= emptySku(sku);
        replayEvent(state, event, limits);
        eventsApplied++;
        lastEventAt = event.at;
      }
      recordsRead++;
      if (recordsRead % RECORDS_PER_TURN_MAX === 0) {
        options.onRecord?.(record.seq - startSeq);
        await nextTurn();
      }
    }
    options.onRecord?.(Math.max(0, lastSeq - startSeq));
    if (!state) {
      throw new CommandFailed('SKU_NOT_FOUND', `${sku} had no record on shard ${shard} at ${isoTime(asOf)}`, { asOf: isoTime(asOf), wal });
    }
    return { sku, asOf, shard, shards, base, recordsRead, eventsApplied, lastEventAt, wal, view: skuView(state) };
  } finally {
    await reader.close();
  }
}
