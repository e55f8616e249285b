// The Stockade process on an error nothing handled: Node's own exit, with an LMDB write queued on
// the main thread, hung for good (a process holding its port and answering nothing). With the
// handlers src/main.ts installs it logs the error and exits with code 1, its queued writes on disk.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ShardStore } from '../src/persistence/shard-store.js';
import { removeTempDirs, tempDir } from './helpers.js';

const children: ChildProcess[] = [];
afterAll(() => {
  // A regression hangs the child: the test times out, and the child must not outlive the run.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  removeTempDirs();
});

const FIXTURE = fileURLToPath(new URL('./fixtures/fatal-after-writes.ts', import.meta.url));

function runFixture(dir: string, how: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, how], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout })));
}

describe('an error nothing handled, with writes queued', () => {
  for (const [how, origin] of [
    ['throw', 'uncaughtException'],
    ['reject', 'unhandledRejection'],
  ] as const) {
    it(`(${origin}) is logged, and the process exits 1 with its writes on disk`, async () => {
      const dir = tempDir();
      const { code, stdout } = await runFixture(dir, how);
      expect(code).toBe(1);
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ origin, msg: 'fatal error: exiting once queued writes reach the disk' });
      const store = ShardStore.open(dir);
      expect(store.lastSeq()).toBe(2_000);
      await store.close();
    });
  }
});
