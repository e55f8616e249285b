// `npm start`, the README's way to run Stockade, must stop when whatever started it stops it.
// npm runs a script through `sh -c` and hands a SIGTERM or SIGINT it receives to that shell,
// which did not pass it on: on SIGTERM the shell died and left Stockade running, still listening
// and holding its data directory; on SIGINT nothing stopped. The script `exec`s node, so the
// signal reaches Stockade, which shuts down cleanly.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './helpers.js';
import { NatsServer } from './nats-server.js';
import { readyPort } from './process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let nats: NatsServer;

beforeAll(async () => {
  // The start script runs the build's output, which `npm start`'s prestart makes.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'ignore' });
  nats = await NatsServer.start();
}, 180_000);

afterAll(async () => {
  await nats?.destroy();
  removeTempDirs();
});

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops Stockade itself, not only npm, on ${signal}`, async () => {
      // --ignore-scripts: the build is done, and the test brings its own NATS instead of prestart's.
      const child = spawn('npm', ['start', '--silent', '--ignore-scripts'], {
        cwd: ROOT,
        env: { ...process.env, STOCKADE_HTTP_PORT: '0', STOCKADE_READY_LINE: '1', STOCKADE_DATA_DIR: tempDir(), STOCKADE_NATS_SERVERS: nats.url },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so that the finally below can end whatever is left of it.
        detached: true,
      });
      try {
        await startsAndStops(child, signal);
      } finally {
        // A Stockade left running by a failed check keeps npm's process group.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // The group is gone: nothing was left.
        }
      }
    }, 60_000);
  }
});

async function startsAndStops(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.resume();
  const port = await readyPort(child, 'npm start', () => out);
  expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);

  // Only npm is signalled, as a supervisor would. npm waits for its script's process, so once
  // npm has gone Stockade must have gone too, its port closed.
  const exited = exitWithin(child, 20_000, signal);
  const closed = once(child, 'close');
  child.kill(signal);
  const code = await exited;
  await expect(fetch(`http://127.0.0.1:${port}/health/live`), 'Stockade still answers after npm start has exited').rejects.toThrow();
  expect(code).toBe(0);
  await closed;
  expect(out).toContain(`"signal":"${signal}","msg":"stopping"`);
  expect(out).toContain('"msg":"stopped"');
}

/**
 * The exit code, or a failure if npm is still running `ms` after the signal: bounded here rather
 * than by the test's timeout, so that the test's `finally` still runs and ends what was left.
 */
function exitWithin(child: ChildProcess, ms: number, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start still running ${ms} ms after ${signal}`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
