// How a shard worker ends when it must not go on: a broken invariant, a failed commit, anything
// thrown or rejected outside a turn's own handling. It tells the engine why (`failed`), takes
// nothing more, and ends its thread once its queued writes have settled: exiting under them hung
// the worker or crashed the process (persistence/open-environments.ts). The engine then restarts
// the shard, which recovers from what is on disk.

import { exitOnceWritesSettle } from '../persistence/open-environments.js';
import type { FromShard } from './messages.js';

/** How long a dying shard waits for its writes to settle before it ends anyway. */
const DYING_WRITES_WAIT_MS = 10_000;
/** How long a failed commit's cause is waited for, to name it in the engine's log. */
const COMMIT_CAUSE_WAIT_MS = 1_000;

/**
 * lmdb-js rejects every put of a commit that failed (a full or broken disk) with an error whose
 * `commitError` promise rejects with the cause, and rejects that promise too. The puts are not
 * awaited (the turn awaits the flush), so all of these arrive as unhandled rejections.
 */
function failedCommitOf(reason: unknown): Promise<unknown> | null {
  const commitError = (reason as { commitError?: unknown } | null)?.commitError;
  return commitError instanceof Promise ? commitError : null;
}

export interface ShardDeath {
  die(err: Error): void;
  isDying(): boolean;
}

/** Install the worker's handlers for what escapes a turn; `die` for the failures the worker sees itself. */
export function shardDeath(send: (message: FromShard) => void): ShardDeath {
  let dying = false;

  const die = (err: Error, writesWaitMs = DYING_WRITES_WAIT_MS): void => {
    if (dying) return;
    dying = true;
    send({ kind: 'failed', message: err.message, stack: err.stack });
    exitOnceWritesSettle(1, writesWaitMs);
  };

  const dieOfFailedCommit = (commitError: Promise<unknown>): void => {
    const cause = commitError.then(
      () => null,
      (err: unknown) => err,
    );
    const unnamed = new Promise<null>((resolve) => setTimeout(() => resolve(null), COMMIT_CAUSE_WAIT_MS));
    // No writes to wait for: lmdb-js never settles the flush of a failed commit.
    void Promise.race([cause, unnamed]).then((err) => die(new Error(`WAL commit failed: ${err instanceof Error ? err.message : 'cause not reported'}`), 0));
  };

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

  return { die: (err) => die(err), isDying: () => dying };
}
