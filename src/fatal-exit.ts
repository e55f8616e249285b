// How the Stockade process ends on an error nothing else handled: logged, then exit code 1 once
// the LMDB writes already queued on this thread (the order flow's) have reached the disk. Node's
// own exit on an uncaught error would hang for good with such a write queued (see
// persistence/open-environments.ts), leaving a process that holds its port and answers nothing.

import { exitOnceWritesSettle } from './persistence/open-environments.js';

/** Longest wait for queued writes before exiting anyway (a failed commit never settles). */
export const FATAL_WRITES_WAIT_MS = 10_000;

export interface FatalLog {
  fatal(obj: object, msg: string): void;
}

let ending = false;

/** Log `err` and exit with code 1 once this thread's queued writes have settled. Only the first call acts. */
export function exitOnFatal(log: FatalLog, err: unknown, origin: string): void {
  if (ending) return;
  ending = true;
  log.fatal({ err, origin }, 'fatal error: exiting once queued writes reach the disk');
  exitOnceWritesSettle(1, FATAL_WRITES_WAIT_MS);
}

/** Route uncaught exceptions and unhandled rejections through exitOnFatal. */
export function installFatalHandlers(log: FatalLog): void {
  process.on('uncaughtException', (err) => exitOnFatal(log, err, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => exitOnFatal(log, reason, 'unhandledRejection'));
}
