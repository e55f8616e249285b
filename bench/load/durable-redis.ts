// A Redis of the load benchmark's own that answers only after the write is on disk: append-only
// file with `appendfsync always`, its data in a fresh directory under os.tmpdir() (the same file
// system as Stockade's data directory in the same run), on a free loopback port.
//
// Why a second Redis: the machine's Redis (127.0.0.1:6379) runs without persistence, so beside
// Stockade — which answers after fsync — it measures a different promise. Redis with
// `appendfsync always` writes and fsyncs the append-only file once per event-loop pass, before
// it sends that pass's replies: group commit, the same promise Stockade makes.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/nats-server.js';

export interface DurableRedis {
  host: string;
  port: number;
  pid: number;
  dataDir: string;
  /** The command line it runs with (for the report). */
  args: string[];
  /** Stop the server and remove its data directory; safe to call twice. */
  stop(): Promise<void>;
}

const READY_LINE = 'Ready to accept connections';
const START_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 10_000;

/** Start it and resolve once its log says it accepts connections; reject (and clean up) if it exits or is late. */
export async function startDurableRedis(binary = 'redis-server'): Promise<DurableRedis> {
  const host = '127.0.0.1';
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'stockade-bench-redis-'));
  const args = [
    '--bind', host,
    '--port', String(port),
    '--dir', dataDir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--loglevel', 'notice',
  ];
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A binary that cannot be spawned emits 'error' and never 'exit': nothing to stop then.
  let spawned = true;
  child.once('error', () => (spawned = child.pid !== undefined));
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      if (spawned && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const late = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await exited;
        clearTimeout(late);
      }
      rmSync(dataDir, { recursive: true, force: true });
    })());

  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const late = setTimeout(() => reject(new Error(`redis-server did not report ready within ${START_DEADLINE_MS / 1000} s:\n${log}`)), START_DEADLINE_MS);
      const onData = (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes(READY_LINE)) {
          clearTimeout(late);
          child.stdout!.off('data', onData);
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(late);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(late);
        reject(new Error(`redis-server exited before it was ready (code ${code}, signal ${signal}):\n${log}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  return { host, port, pid: child.pid!, dataDir, args, stop };
}
