// Worker-thread host of one shard: receives command batches, answers with reply batches.
// Replies that become durable together leave together (one postMessage per turn).

import { getHeapStatistics } from 'node:v8';
import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import type { Alert } from '../alerts/alert.js';
import { whenWritesSettled } from '../persistence/open-environments.js';
import type { AvailabilityChange, DemandEvent, FromShard, ShardWorkerData, ToShard } from './messages.js';
import { toCrossing, type CrossingReply } from './reply-crossing.js';
import { Shard } from './shard.js';
import type { Reply } from './types.js';

const port = parentPort!;
const data = workerData as ShardWorkerData;

function send(message: FromShard): void {
  port.postMessage(message);
}

let dying = false;
/** How long a dying shard waits for its writes to settle before it ends anyway (see whenWritesSettled). */
const DYING_WRITES_WAIT_MS = 10_000;

/** How long a failed commit's cause is waited for, to name it in the engine's log. */
const COMMIT_CAUSE_WAIT_MS = 1_000;

function die(err: Error, writesWaitMs = DYING_WRITES_WAIT_MS): void {
  if (dying) return;
  dying = true;
  // Tell the engine why, then end the thread: a shard with a broken invariant must not go on.
  // Earlier turns' writes may still be on their way to the disk; the thread ends after them.
  send({ kind: 'failed', message: err.message, stack: err.stack });
  void whenWritesSettled(writesWaitMs).then(() => process.exit(1));
}

/**
 * lmdb-js rejects every put of a commit that failed (a full or broken disk) with an error whose
 * `commitError` promise rejects with the cause, and rejects that promise too. The puts are not
 * awaited (the turn awaits the flush), so all of these arrive as unhandled rejections.
 */
function failedCommitOf(reason: unknown): Promise<unknown> | null {
  const commitError = (reason as { commitError?: unknown } | null)?.commitError;
  return commitError instanceof Promise ? commitError : null;
}

function dieOfFailedCommit(commitError: Promise<unknown>): void {
  const cause = commitError.then(
    () => null,
    (err: unknown) => err,
  );
  const unnamed = new Promise<null>((resolve) => setTimeout(() => resolve(null), COMMIT_CAUSE_WAIT_MS));
  // No writes to wait for: lmdb-js never settles the flush of a failed commit.
  void Promise.race([cause, unnamed]).then((err) => die(new Error(`WAL commit failed: ${err instanceof Error ? err.message : 'cause not reported'}`), 0));
}

// Whatever escapes a turn's own handling ends the shard the same way, after its writes settle.
process.on('uncaughtException', (err) => die(err));
let rejections: unknown[] | null = null;
process.on('unhandledRejection', (reason) => {
  if (rejections) {
    rejections.push(reason);
    return;
  }
  rejections = [reason];
  // A failed commit's cause and puts reject together, in no set order: look at them all at once.
  setImmediate(() => {
    const all = rejections!;
    const commitError = all.map(failedCommitOf).find((p) => p !== null);
    if (commitError) dieOfFailedCommit(commitError);
    else die(all[0] instanceof Error ? all[0] : new Error(String(all[0])));
  });
});

let outgoing: { id: number; replies: CrossingReply[] }[] = [];
let flushMs: number[] = [];
let changes: AvailabilityChange[] = [];
let demand: DemandEvent[] = [];
let alerts: Alert[] = [];
let sendScheduled = false;

function scheduleSend(): void {
  if (sendScheduled) return;
  sendScheduled = true;
  setImmediate(() => {
    sendScheduled = false;
    send({ kind: 'replies', batches: outgoing, flushMs, changes, demand, alerts });
    outgoing = [];
    flushMs = [];
    changes = [];
    demand = [];
    alerts = [];
  });
}

function queueReplies(id: number, replies: CrossingReply[]): void {
  outgoing.push({ id, replies });
  scheduleSend();
}

let shard: Shard;
try {
  const opened = Shard.open({ ...data, onRecoveryProgress: (done, total) => send({ kind: 'recovering', done, total }) });
  shard = opened.shard;
  shard.onBackgroundFailure = die;
  shard.onDurable = (report) => {
    if (report.flushMs !== null) flushMs.push(report.flushMs);
    for (const change of report.changes) changes.push(change);
    for (const event of report.demand) demand.push(event);
    for (const notice of report.alerts) alerts.push(notice);
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
  if (dying) return;
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
      pending.then((replies) => queueReplies(message.id, toCrossing(commands, replies)), die);
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
