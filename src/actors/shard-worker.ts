// Worker-thread host of one shard: receives command batches, answers with reply batches.
// Replies that become durable together leave together (one postMessage per turn).

import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import type { Alert } from '../alerts/alert.js';
import { demandToCrossing } from './demand-crossing.js';
import type { AvailabilityChange, DemandEvent, FromShard, GcKind, GcPause, ShardWorkerData, ToShard } from './messages.js';
import { CrossingRepliesWriter } from './reply-crossing.js';
import { Shard } from './shard.js';
import { shardDeath } from './shard-death.js';
import type { Command, Reply } from './types.js';

const port = parentPort!;
const data = workerData as ShardWorkerData;

function send(message: FromShard): void {
  port.postMessage(message);
}

// A shard that must not go on (a broken invariant, a failed commit, anything thrown outside a
// turn) tells the engine why and ends its thread once its writes have settled.
const { die, isDying } = shardDeath((message) => send(message));

const outgoing = new CrossingRepliesWriter();
let flushMs: number[] = [];
let turnMs: number[] = [];
let checkpointMs: number[] = [];
let gc: GcPause[] = [];
let changes: AvailabilityChange[] = [];
let demand: DemandEvent[] = [];
let alerts: Alert[] = [];
let sendScheduled = false;
/** The shard's waiting batches, to run once the answers they waited behind have been posted. */
let waitingTurns: (() => void) | null = null;

function scheduleSend(): void {
  if (sendScheduled) return;
  sendScheduled = true;
  setImmediate(() => {
    sendScheduled = false;
    send({ kind: 'replies', replies: outgoing.take(), flushMs, turnMs, checkpointMs, gc, changes, demand: demandToCrossing(demand), alerts });
    flushMs = [];
    turnMs = [];
    checkpointMs = [];
    gc = [];
    changes = [];
    demand = [];
    alerts = [];
    const run = waitingTurns;
    waitingTurns = null;
    run?.();
  });
}

function queueReplies(id: number, commands: Command[], replies: Reply[]): void {
  outgoing.add(id, commands, replies);
  scheduleSend();
}

const GC_KINDS: Record<number, GcKind> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

// This thread's collections, for the host's metrics: prom-client's own GC metric sees only the
// main thread, and a hot SKU's worker is where the long pauses are (docs/benchmarks.md).
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
    if (kind) gc.push({ kind, ms: entry.duration });
  }
  scheduleSend();
});
gcObserver.observe({ entryTypes: ['gc'] });

let shard: Shard;
try {
  const opened = Shard.open({ ...data, onRecoveryProgress: (done, total) => send({ kind: 'recovering', done, total }) });
  shard = opened.shard;
  shard.onBackgroundFailure = die;
  // The answers of a flushed turn leave before the turn that waited for the flush runs
  // (docs/benchmarks.md, "Answers before the next turn").
  shard.scheduleWaiting = (run) => {
    waitingTurns = run;
    scheduleSend();
  };
  shard.onDurable = (report) => {
    if (report.flushMs !== null) flushMs.push(report.flushMs);
    for (const change of report.changes) changes.push(change);
    for (const event of report.demand) demand.push(event);
    for (const notice of report.alerts) alerts.push(notice);
    scheduleSend();
  };
  // A turn's replies follow it, and carry its time; a checkpoint on the timer has no replies.
  shard.onTurn = (ms) => turnMs.push(ms);
  shard.onCheckpoint = (ms) => {
    checkpointMs.push(ms);
    scheduleSend();
  };
  send({ kind: 'ready', recovery: opened.recovery });
  // Notices decided before a crash or stop and never confirmed: published again (same msg ids).
  const unconfirmed = shard.unconfirmedAlerts();
  if (unconfirmed.length > 0) send({ kind: 'outbox', alerts: unconfirmed });
} catch (err) {
  die(err as Error);
}

port.on('message', (message: ToShard) => {
  // A dying shard takes nothing more; the engine answers what it sent once the thread has ended.
  if (isDying()) return;
  switch (message.kind) {
    case 'batch': {
      let pending: Promise<Reply[]>;
      try {
        pending = shard.execute(message.commands);
      } catch (err) {
        die(err as Error);
        break;
      }
      const commands = message.commands;
      pending.then((replies) => queueReplies(message.id, commands, replies), die);
      break;
    }
    case 'stats':
      send({
        kind: 'stats',
        id: message.id,
        stats: { ...shard.stats(), heap: { usedBytes: getHeapStatistics().used_heap_size, youngGenerationMb: resourceLimits.maxYoungGenerationSizeMb ?? 0 } },
      });
      break;
    case 'watch':
      shard.watch(message.sku, message.on);
      break;
    case 'alertsPublished':
      shard.alertsPublished(message.noticeIds);
      break;
    case 'search':
      send({ kind: 'search', id: message.id, page: shard.search(message.query) });
      break;
    case 'resendOutbox':
      send({ kind: 'outbox', alerts: shard.unconfirmedAlerts() });
      break;
    case 'stop':
      gcObserver.disconnect();
      shard.close().then(
        () => {
          send({ kind: 'stopped' });
          port.close();
        },
        die,
      );
      break;
  }
});
