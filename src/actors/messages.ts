// Every message that crosses between the engine (main thread) and a shard worker, in one place.
// Commands and replies travel in batches: one postMessage per event-loop turn and direction.

import type { Alert } from '../alerts/alert.js';
import type { Limits } from './sku.js';
import type { SkuSearchPage, SkuSearchQuery } from './sku-search.js';
import type { ShardConfig } from '../config.js';
import type { DemandColumns } from './demand-crossing.js';
import type { CrossingReplies } from './reply-crossing.js';
import type { RecoveryStats, ShardStats } from './shard.js';
import type { Command } from './types.js';

export interface ShardWorkerData {
  shardId: number;
  shardCount: number;
  dataDir: string;
  limits: Limits;
  shard: ShardConfig;
}

/** A watched SKU's availability after a durable change (pushed to WebSocket subscribers). */
export interface AvailabilityChange {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  pending: number;
  at: number;
}

/** A sale (a reservation committed) or a reservation attempt, for the demand windows. */
export interface DemandEvent {
  sku: string;
  kind: 'sale' | 'attempt';
  /** Units, summed over the `count` sales or attempts the event stands for. */
  quantity: number;
  /** Sales or attempts summed into this event (one shard turn's, per SKU); 1 when absent. */
  count?: number;
  /** The SKU's total available units after the turn that recorded it. */
  available: number;
  /** The SKU's supplier lead time (thresholds.leadTimeDays), null when it has none. */
  leadTimeDays?: number | null;
  /** Shard clock, epoch milliseconds. */
  at: number;
}

export type ToShard =
  | { kind: 'batch'; id: number; commands: Command[] }
  | { kind: 'watch'; sku: string; on: boolean }
  | { kind: 'stats'; id: number }
  /** JetStream stored these alert notices: remove them from the outbox. */
  | { kind: 'alertsPublished'; noticeIds: string[] }
  /** Send the outbox's unconfirmed notices again (the publisher reconnected or lost them). */
  | { kind: 'resendOutbox' }
  | { kind: 'search'; id: number; query: SkuSearchQuery }
  | { kind: 'stop' };

export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

/** One collection's pause of a shard worker's thread, as Node's `gc` performance entries report it. */
export interface GcPause {
  kind: GcKind;
  ms: number;
}

export type FromShard =
  | { kind: 'ready'; recovery: RecoveryStats }
  /** WAL replay at start: records replayed of those after the checkpoint. */
  | { kind: 'recovering'; done: number; total: number }
  | {
      kind: 'replies';
      /** The replies to each batch, reservation answers in columns (reply-crossing.ts). */
      replies: CrossingReplies;
      flushMs: number[];
      /** Turns run and checkpoints written since the last message, in ms (Shard.onTurn, onCheckpoint). */
      turnMs: number[];
      checkpointMs: number[];
      /** The worker's garbage-collection pauses since the last message. */
      gc: GcPause[];
      changes: AvailabilityChange[];
      /** The turns' demand events, in columns (demand-crossing.ts). */
      demand: DemandColumns;
      /** Alert notices committed to the outbox, to publish. */
      alerts: Alert[];
    }
  /** Unconfirmed outbox notices (after recovery, or on request). */
  | { kind: 'outbox'; alerts: Alert[] }
  | { kind: 'stats'; id: number; stats: ShardStats }
  | { kind: 'search'; id: number; page: SkuSearchPage }
  | { kind: 'stopped' }
  | { kind: 'failed'; message: string; stack?: string };
