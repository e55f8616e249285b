// The LMDB environments this thread has open, so that a thread or process about to end can first
// let their writes reach the disk.
//
// Why it must: `process.exit` (and Node's own exit on an uncaught error) joins libuv's thread
// pool, where LMDB's write thread may be waiting for this thread to finish the batch it queued.
// Exiting with a write still queued hung the process for good in our tests (main thread: every
// try; a worker thread: 4 of 5, the fifth crashed the process with SIGSEGV).

import { open, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';

const openRoots = new Set<RootDatabase>();

/** `lmdb.open`, remembered until `closeEnvironment`. */
export function openEnvironment(options: RootDatabaseOptionsWithPath): RootDatabase {
  const root = open(options);
  openRoots.add(root);
  return root;
}

/** Close an environment opened with `openEnvironment` (its pending writes first, as `close` does). */
export async function closeEnvironment(root: RootDatabase): Promise<void> {
  await root.close();
  openRoots.delete(root);
}

/**
 * Resolves once every write queued on this thread's environments has reached the disk or failed,
 * or after `waitMsMax`. The bound is for a commit that failed (a full or broken disk): lmdb-js
 * never settles `flushed` after one, and a thread that must end still ends.
 */
export async function whenWritesSettled(waitMsMax: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMsMax)));
  await Promise.race([Promise.all([...openRoots].map((root) => root.flushed.then(noop, noop))), bound]);
  clearTimeout(timer);
}

/** End the process (or this worker thread) with `code` once whenWritesSettled(waitMsMax) resolves. */
export function exitOnceWritesSettle(code: number, waitMsMax: number): void {
  void whenWritesSettled(waitMsMax).then(() => process.exit(code));
}

function noop(): void {}
