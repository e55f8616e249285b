// Start a real Stockade process (src/main.ts through tsx) and wait for its ready line.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** API keys of the test configuration, by role. */
export const TEST_KEYS = {
  admin: 'test-admin-key-0001',
  web: 'test-web-key-0001',
  pos: 'test-pos-key-0001',
  reader: 'test-reader-key-0001',
} as const;

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Directories writeTestConfig made, removed after the importing test file's tests (this module
 * is loaded once per test file; a process 'exit' handler never ran, as vitest ends its forks).
 */
const configDirs: string[] = [];
afterAll(() => {
  for (const dir of configDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A configuration file with the test keys and any overrides; returns its path. */
export function writeTestConfig(overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'stockade-config-'));
  configDirs.push(dir);
  const path = join(dir, 'config.json');
  const config = {
    apiKeys: [
      { id: 'test-admin', sha256: sha256(TEST_KEYS.admin), channel: null, scopes: ['admin'] },
      { id: 'test-web', sha256: sha256(TEST_KEYS.web), channel: 'web', scopes: ['reserve', 'read'] },
      { id: 'test-pos', sha256: sha256(TEST_KEYS.pos), channel: 'pos', scopes: ['reserve', 'read'] },
      { id: 'test-reader', sha256: sha256(TEST_KEYS.reader), channel: null, scopes: ['read'] },
    ],
    ...overrides,
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export interface StockadeProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  stderr: () => string;
  /** Everything written to stdout (the logs) so far. */
  stdout: () => string;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (clean shutdown) and wait for the exit code. */
  stop(): Promise<number | null>;
}

export async function startStockade(env: Record<string, string>): Promise<StockadeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, STOCKADE_CONFIG: writeTestConfig(), STOCKADE_HTTP_PORT: '0', STOCKADE_READY_LINE: '1', STOCKADE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let allOut = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (allOut += chunk.toString()));
  const port = await readyPort(child, 'stockade', () => err);
  child.stdout!.resume();
  const exited = once(child, 'exit');
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    stderr: () => err,
    stdout: () => allOut,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/**
 * The HTTP port from a Stockade process's ready line (`STOCKADE_READY <port>`, printed when
 * STOCKADE_READY_LINE is set), or a failure naming `name` and `detail()` if it exits first.
 */
export function readyPort(child: ChildProcess, name: string, detail: () => string = () => ''): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /STOCKADE_READY (\d+)/.exec(out);
      if (match) {
        child.stdout!.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before ready: ${detail()}`)));
  });
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = TEST_KEYS.admin,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}
