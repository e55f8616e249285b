// The Stockade side of the load benchmark: start the real server process on a fresh data
// directory, and a small admin WebSocket client to stock SKUs and read them back. The load itself
// comes from generator.ts, in another process.
//
// The server runs as `npm start` runs it: the compiled build (dist/src/main.js, built here first
// with `npm run build`). BENCH_STOCKADE_SOURCE=tsx runs src/main.ts through tsx instead, for
// comparison: recovery ran 30-45 % slower through tsx; see docs/benchmarks.md.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';

const packr = new Packr({ useRecords: false });

export interface StockadeServer {
  child: ChildProcess;
  port: number;
  url: string;
  key: string;
  dataDir: string;
  configPath: string;
  config: Record<string, unknown>;
  stderr(): string;
  /** SIGTERM, wait for the clean shutdown (SIGKILL after `graceMs`), then remove the temp dirs. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: string | null; killed: boolean }>;
}

function fromSource(): boolean {
  return process.env.BENCH_STOCKADE_SOURCE === 'tsx';
}

let built = false;

/** The compiled server, built once per benchmark run so it is never older than src/. */
function builtEntry(root: string): string {
  if (!built) {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
    built = true;
  }
  return join(root, 'dist', 'src', 'main.js');
}

/** How the server is run, for the results' notes. */
export function serverRuntime(): string {
  return fromSource() ? 'src/main.ts through tsx (BENCH_STOCKADE_SOURCE=tsx)' : 'the compiled build (node dist/src/main.js, as npm start runs it)';
}

/**
 * Start Stockade with `shards` shards on a fresh directory under os.tmpdir() (real disk, not
 * /dev/shm: the data directory is where the WAL is fsynced). The admin key lives only in memory.
 */
/**
 * The server's `shard` settings the environment asks for: BENCH_STOCKADE_YOUNG_MB (the workers'
 * young generation, shard.youngGenerationMb), BENCH_STOCKADE_TURN_COMMANDS_MAX (commands merged
 * into one turn while a flush is pending, shard.turnCommandsMax), BENCH_STOCKADE_UNFLUSHED_TURNS_MAX
 * (turns on their way to disk at once, shard.unflushedTurnsMax) and the two below; the
 * configuration's otherwise.
 */
function shardSettings(): Record<string, number> {
  const settings: Record<string, number> = {};
  if (process.env.BENCH_STOCKADE_YOUNG_MB) settings.youngGenerationMb = Number(process.env.BENCH_STOCKADE_YOUNG_MB);
  if (process.env.BENCH_STOCKADE_TURN_COMMANDS_MAX) settings.turnCommandsMax = Number(process.env.BENCH_STOCKADE_TURN_COMMANDS_MAX);
  if (process.env.BENCH_STOCKADE_CHECKPOINT_INTERVAL_MS) settings.checkpointIntervalMs = Number(process.env.BENCH_STOCKADE_CHECKPOINT_INTERVAL_MS);
  if (process.env.BENCH_STOCKADE_PAGE_ENTRIES) settings.checkpointPageEntries = Number(process.env.BENCH_STOCKADE_PAGE_ENTRIES);
  if (process.env.BENCH_STOCKADE_UNFLUSHED_TURNS_MAX) settings.unflushedTurnsMax = Number(process.env.BENCH_STOCKADE_UNFLUSHED_TURNS_MAX);
  return settings;
}

export async function startStockade(root: string, shards: number, limits: { quantityMax: number }): Promise<StockadeServer> {
  const base = mkdtempSync(join(tmpdir(), 'stockade-load-'));
  const dataDir = join(base, 'data');
  const configPath = join(base, 'config.json');
  const key = `bench-admin-${randomBytes(12).toString('hex')}`;
  const config = {
    apiKeys: [{ id: 'bench-admin', sha256: createHash('sha256').update(key).digest('hex'), channel: null, scopes: ['admin'] }],
    gateway: { requestsPerSecondPerKey: 10_000_000, requestBurstPerKey: 10_000_000, inFlightPerConnectionMax: 100_000 },
    limits: {
      reservationsPerCustomerMax: 1_000_000_000,
      reservationsPerSkuMax: 100_000_000,
      idempotencyKeysPerSkuMax: 100_000_000,
      quantityMax: limits.quantityMax,
    },
    shard: shardSettings(),
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  // Diagnostics only (e.g. --trace-gc): the benchmark's figures are taken without them.
  const nodeArgs = (process.env.BENCH_STOCKADE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const entry = fromSource() ? ['--import', 'tsx', 'src/main.ts'] : [builtEntry(root)];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, '--config', configPath], {
    cwd: root,
    env: {
      ...process.env,
      STOCKADE_DATA_DIR: dataDir,
      STOCKADE_SHARDS: String(shards),
      STOCKADE_HTTP_PORT: '0',
      STOCKADE_HTTP_HOST: '127.0.0.1',
      STOCKADE_READY_LINE: '1',
      STOCKADE_LOG_LEVEL: process.env.BENCH_STOCKADE_LOG_LEVEL || 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`stockade did not print its ready line within 60 s: ${err}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /STOCKADE_READY (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`stockade exited (${code ?? signal}) before it was ready: ${err}`));
    });
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
    throw e;
  });
  if (process.env.BENCH_STOCKADE_LOG) {
    // Diagnostics: the server's output, with a timestamp per chunk, appended to this file.
    const file = process.env.BENCH_STOCKADE_LOG;
    const log = (chunk: Buffer) => appendFileSync(file, `[${new Date().toISOString()}] ${chunk.toString()}`);
    child.stdout!.on('data', log);
    child.stderr!.on('data', log);
  }
  child.stdout!.resume();
  let stopping: Promise<{ code: number | null; signal: string | null; killed: boolean }> | null = null;
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    key,
    dataDir,
    configPath,
    config,
    stderr: () => err,
    stop(graceMs = 60_000) {
      stopping ??= (async () => {
        let killed = false;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, graceMs);
          const result = await exited;
          clearTimeout(timer);
          rmSync(base, { recursive: true, force: true });
          return { ...result, killed };
        }
        rmSync(base, { recursive: true, force: true });
        return { code: child.exitCode, signal: child.signalCode, killed };
      })();
      return stopping;
    },
  };
}

interface Answer {
  id: number;
  ok: boolean;
  result?: any;
  error?: { code: string; message: string };
}

/** A minimal admin client: many requests in flight, answers matched by id. */
export class AdminClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (a: Answer) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const answer = (isBinary ? packr.unpack(data) : JSON.parse(data.toString('utf8'))) as Answer;
      const resolve = this.waiting.get(answer.id);
      if (resolve) {
        this.waiting.delete(answer.id);
        resolve(answer);
      }
    });
    ws.on('close', () => {
      for (const resolve of this.waiting.values()) resolve({ id: 0, ok: false, error: { code: 'CONNECTION_CLOSED', message: 'closed' } });
      this.waiting.clear();
    });
  }

  static async connect(url: string, key: string): Promise<AdminClient> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new AdminClient(ws);
  }

  call(op: string, args: Record<string, unknown>): Promise<Answer> {
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve) => this.waiting.set(id, resolve));
    this.ws.send(packr.pack({ id, op, ...args }), { binary: true });
    return answer;
  }

  /** Run `calls` with at most `window` in flight; throws on the first failure. */
  async many(calls: { op: string; args: Record<string, unknown> }[], window = 512): Promise<Answer[]> {
    const answers: Answer[] = new Array(calls.length);
    let next = 0;
    const lane = async () => {
      while (next < calls.length) {
        const i = next++;
        const a = await this.call(calls[i].op, calls[i].args);
        if (!a.ok) throw new Error(`${calls[i].op} ${JSON.stringify(calls[i].args)} failed: ${a.error?.code} ${a.error?.message}`);
        answers[i] = a;
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, calls.length) }, lane));
    return answers;
  }

  close(): void {
    this.ws.close();
  }
}
