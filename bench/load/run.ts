// Load benchmark of the gateway: Stockade over WebSocket against PostgreSQL and Redis, the same
// reserve workload, the same client machine, in one run.
//
//   npx tsx bench/load/run.ts                  full run (about 5 minutes)
//   BENCH_QUICK=1 npx tsx bench/load/run.ts    smoke run (about 1 minute)
//
// What it does:
//   1. Starts a real Stockade process (the compiled build, as npm start runs it; 2 shards; a
//      fresh data directory under os.tmpdir()) and a separate load-generator process
//      (bench/load/generator.ts), so client and server never share a thread (they do share the
//      machine's cores: see the CPU columns).
//   2. For each system it can reach (Stockade; PostgreSQL at 127.0.0.1:5432; Redis at
//      127.0.0.1:6379 as it is configured; a durable Redis it starts itself from redis-server,
//      append-only file with fsync always — an unreachable one is reported and skipped, never
//      estimated) and each
//      workload (one hot SKU; many SKUs drawn uniformly):
//        peak      closed loop, connections × depth in flight, warm-up then a measured window;
//        25/50/75% open loop at that fraction of the measured peak: sends on a fixed schedule,
//                  latency from the scheduled send time (no coordinated omission);
//        sell-out  closed loop, stock ≈ 1 s of that system's peak, 3× as many reserves as stock.
//      Stockade starts over on a fresh process and data directory before every row (holds never
//      end here, so a long-lived process would carry hundreds of thousands of earlier holds, and
//      their checkpoints, into the next row; BENCH_STOCKADE_RESTART=workload|run to see that).
//      Every run has fresh SKUs. Peak and open-loop runs stock 10^9 units per SKU (never runs
//      out: every answer is a durable grant); the sell-out run runs out partway. After every run
//      the stock is read back and checked: grants == min(stock, attempts) per SKU, final stock
//      == initial − grants, never negative; oversold = Σ max(0, grants − initial stock).
//   3. Writes one Markdown table to stdout and bench/results/load.md, the raw figures to
//      bench/results/load.json (BENCH_QUICK: load.quick.md / load.quick.json), and removes what
//      it made: the server processes, their data directories, the PostgreSQL table, the Redis keys.
//
// Environment:
//   BENCH_QUICK=1                      smoke run
//   BENCH_SYSTEMS=stockade,postgres,redis,redis-aof   which systems (default all)
//   BENCH_REDIS_SERVER=<path>          the redis-server binary the durable Redis runs (default: redis-server on PATH)
//   BENCH_WORKLOADS=hot,many           which workloads (default both)
//   BENCH_SECONDS, BENCH_WARMUP_SECONDS     peak window and its warm-up (8 s and 2 s; quick 1.5 and 0.5)
//   BENCH_OPEN_SECONDS, BENCH_OPEN_WARMUP_SECONDS  open-loop window and warm-up (6 and 2; quick 1 and 0.5)
//   BENCH_SKUS                         size of the many-SKU workload (10000; quick 2000)
//   BENCH_CONNECTIONS, BENCH_DEPTH     Stockade and Redis connections and depth (32 × 64)
//   BENCH_PG_POOL                      PostgreSQL pool size = requests in flight (32)
//   BENCH_STOCKADE_RESTART=row|workload|run   fresh Stockade process per row (default), per workload, or one
//   BENCH_STOCKADE_SHARDS=N            the server's shards (default 2, the machine's cores)
//   BENCH_STOCKADE_YOUNG_MB=N          the shard workers' young generation, shard.youngGenerationMb (default: the configuration's, 48)
//   BENCH_STOCKADE_TURN_COMMANDS_MAX=N commands merged into one turn while a flush is pending, shard.turnCommandsMax (default: 16,384)
//   BENCH_STOCKADE_UNFLUSHED_TURNS_MAX=N  turns on their way to disk at once, shard.unflushedTurnsMax (default: 2)
//   BENCH_STOCKADE_CHECKPOINT_INTERVAL_MS=N  shard.checkpointIntervalMs (default: 30,000, longer than a row: no
//                                      checkpoint falls inside the default rows; shorter puts some there)
//   BENCH_STOCKADE_PAGE_ENTRIES=N      shard.checkpointPageEntries (default 4,096; 1048576 checkpoints the hot SKU whole)
//   BENCH_OPEN_RATES_OF=N              open-loop rates are 25/50/75 % of N reserves/s instead of the measured peak
//                                      (to compare two settings at the same offered load; not for published figures)
//   BENCH_STOCKADE_SOURCE=tsx          run the server from src/ through tsx instead of the compiled
//                                      build that npm start runs (built first with npm run build)
//   BENCH_OUT=<path without extension>    where to write the .md and .json (default bench/results/load)
//   Diagnostics (not for published figures): BENCH_STOCKADE_LOG=<file> appends the server's output
//   there; BENCH_STOCKADE_NODE_ARGS (e.g. --trace-gc) and BENCH_STOCKADE_LOG_LEVEL go to the server,
//   BENCH_GENERATOR_NODE_ARGS (e.g. --cpu-prof) to the load generator.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startDurableRedis, type DurableRedis } from './durable-redis.js';
import { fmtBound, latencyBetween, scrape, type ServerHistograms, type ServerLatency } from './server-latency.js';
import { AdminClient, serverRuntime, startStockade, type StockadeServer } from './stockade.js';
import { envNumber, fileSystemOf, QUICK, ROOT_DIR } from '../common.js';
import { LATENCY_BUCKETS_S, STALL_BUCKETS_S } from '../../src/gateway/metrics.js';
import { fmt, fmtMs, markdownTable, type FromGenerator, type Job, type JobResult, type ServerProcess, type SystemName, type Target, type WindowEdge } from './shared.js';

const RESULTS_DIR = join(ROOT_DIR, 'bench', 'results');

/** Histogram bucket bounds in seconds, as the report lists them: milliseconds. */
function inMs(bucketsS: readonly number[]): string {
  return bucketsS.map((s) => Number((s * 1000).toPrecision(6))).join(', ');
}

// ---- settings -----------------------------------------------------------------------------------

const PEAK_WARMUP_S = envNumber('BENCH_WARMUP_SECONDS', 2, 0.5);
const PEAK_MEASURE_S = envNumber('BENCH_SECONDS', 8, 1.5);
const OPEN_WARMUP_S = envNumber('BENCH_OPEN_WARMUP_SECONDS', 2, 0.5);
const OPEN_MEASURE_S = envNumber('BENCH_OPEN_SECONDS', 6, 1);
const MANY_SKUS = Math.round(envNumber('BENCH_SKUS', 10_000, 2_000));
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 32));
const DEPTH = Math.round(envNumber('BENCH_DEPTH', 64));
const PG_POOL = Math.round(envNumber('BENCH_PG_POOL', 32));
const OPEN_FRACTIONS = [0.25, 0.5, 0.75];
/** Diagnostics: open-loop rates as fractions of this rate, not of the run's own peak (two settings at the same offered load). */
const OPEN_RATES_OF = process.env.BENCH_OPEN_RATES_OF ? envNumber('BENCH_OPEN_RATES_OF', 0) : null;
/** The server's shards (worker threads); BENCH_STOCKADE_SHARDS changes it for a diagnostic run. */
const SHARDS = Math.round(envNumber('BENCH_STOCKADE_SHARDS', 2));
/** Stock per SKU in the peak and open-loop runs: never runs out. */
const STOCK_PLENTY = 1_000_000_000;
/** Sell-out: stock ≈ this many seconds of the system's peak, within bounds; 3× as many reserves. */
const SELLOUT_SECONDS_OF_PEAK = 1;
const SELLOUT_STOCK_MIN = 1_000;
const SELLOUT_STOCK_MAX = QUICK ? 5_000 : 20_000;
const SELLOUT_FACTOR = 3;
/** Design target of the gateway issue: Stockade p99 ≤ 5 ms at half of peak load. */
const TARGET_P99_MS = 5;
/** Everything stops by itself: the whole run is aborted (and cleaned up) past this. */
const RUN_DEADLINE_MS = (QUICK ? 5 : 15) * 60_000;
const PG = { host: '127.0.0.1', port: 5432, database: 'test', users: ['postgres', 'root'] };
const PG_TABLE = 'stockade_bench_stock';
const REDIS = { host: '127.0.0.1', port: 6379 };
/** When Stockade starts over on a fresh process and data directory: before every row, every workload, or once. */
const STOCKADE_RESTART = (process.env.BENCH_STOCKADE_RESTART ?? 'row') as 'row' | 'workload' | 'run';
if (!['row', 'workload', 'run'].includes(STOCKADE_RESTART)) throw new Error('BENCH_STOCKADE_RESTART is row, workload or run');
const SYSTEMS = (process.env.BENCH_SYSTEMS ?? 'stockade,postgres,redis,redis-aof').split(',').map((s) => s.trim()) as SystemName[];
const KNOWN_SYSTEMS: readonly SystemName[] = ['stockade', 'postgres', 'redis', 'redis-aof'];
if (SYSTEMS.some((s) => !KNOWN_SYSTEMS.includes(s))) throw new Error(`BENCH_SYSTEMS is a list of ${KNOWN_SYSTEMS.join(', ')}`);

const RUN_TAG = 'L' + Date.now().toString(36) + randomBytes(3).toString('hex');
const REDIS_PREFIX = `stockade-bench:${RUN_TAG}:`;

const REDIS_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
local q = tonumber(ARGV[1])
if tonumber(v) >= q then
  redis.call('DECRBY', KEYS[1], q)
  return 1
end
return 0
`;

type WorkloadName = 'hot' | 'many';
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'hot,many').split(',').map((w) => w.trim()) as WorkloadName[];
if (WORKLOADS.length === 0 || WORKLOADS.some((w) => w !== 'hot' && w !== 'many')) throw new Error('BENCH_WORKLOADS is a list of hot and many');
const workloadLabel = (w: WorkloadName) => (w === 'hot' ? 'hot SKU' : `${fmt(MANY_SKUS)} SKUs`);
const skuCountOf = (w: WorkloadName) => (w === 'hot' ? 1 : MANY_SKUS);

type Level = { kind: 'peak' } | { kind: 'open'; fraction: number; rate: number } | { kind: 'sellout'; stockPerSku: number; attempts: number };

interface Check {
  skus: number;
  stockPerSku: number;
  attempts: number;
  granted: number;
  oversold: number;
  /** SKUs whose grants differ from min(stock, attempts). */
  grantMismatches: number;
  /** SKUs whose final stock differs from initial − grants. */
  stockMismatches: number;
  negative: number;
  unreadable: number;
}

interface Row {
  system: SystemName;
  workload: WorkloadName;
  level: Level;
  connections: number;
  depth: number;
  result: JobResult;
  check: Check;
  setupSeconds: number;
  verifySeconds: number;
  /** Stockade's own histograms over the measured window (a sell-out row: the whole run); null for the others. */
  server: ServerLatency | null;
}

// ---- machine and environment ----------------------------------------------------------------------


function machine() {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()}`,
    tmpdir: tmpdir(),
    tmpdirFs: fileSystemOf(tmpdir()),
  };
}

/** Other benchmark processes on this machine (they would skew every figure). */
function otherBenchmarks(): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'bench/(micro|shard|replay|memory)'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The code under test: the commit, and any uncommitted changes in src/ (a figure is only as good as this). */
function sourceState(): { commit: string; changedInSrc: string[] } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return { commit: git('rev-parse', '--short', 'HEAD') || 'unknown', changedInSrc: git('status', '--short', '--', 'src').split('\n').filter((l) => l !== '') };
}

function commandLine(): string {
  const env = Object.keys(process.env)
    .filter((k) => k.startsWith('BENCH_'))
    .sort()
    .map((k) => `${k}=${process.env[k]}`);
  return [...env, 'npx tsx bench/load/run.ts'].join(' ');
}

// ---- the load generator process ---------------------------------------------------------------

class Generator {
  private child: ChildProcess;
  private waiting: ((m: FromGenerator) => void) | null = null;
  private onWindow: ((edge: WindowEdge) => void) | null = null;
  private readonly ready: Promise<void>;
  exited = false;

  constructor() {
    const nodeArgs = (process.env.BENCH_GENERATOR_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join('bench', 'load', 'generator.ts')], {
      cwd: ROOT_DIR,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.waiting?.({ type: 'failed', label: '(generator)', error: `the generator exited (${code ?? signal})` });
    });
    this.ready = new Promise((resolve, reject) => {
      this.waiting = (m) => (m.type === 'ready' ? resolve() : reject(new Error(m.type === 'failed' ? m.error : 'unexpected message')));
    });
    this.child.on('message', (m: FromGenerator) => {
      if (m.type === 'window') {
        this.onWindow?.(m.edge);
        return;
      }
      const w = this.waiting;
      this.waiting = null;
      w?.(m);
    });
  }

  /** `onWindow`: told when the job's measured window starts and ends (timed jobs only). */
  async run(job: Job, timeoutMs: number, onWindow: ((edge: WindowEdge) => void) | null = null): Promise<JobResult> {
    await this.ready;
    if (this.exited) throw new Error('the generator is not running');
    this.onWindow = onWindow;
    return new Promise<JobResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.child.kill('SIGKILL');
        reject(new Error(`job ${job.label} took longer than ${Math.round(timeoutMs / 1000)} s: generator killed`));
      }, timeoutMs);
      this.waiting = (m) => {
        clearTimeout(timer);
        this.onWindow = null;
        if (m.type === 'result') resolve(m.result);
        else reject(new Error(m.type === 'failed' ? `${m.label}: ${m.error}` : 'unexpected message'));
      };
      this.child.send({ type: 'job', job });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

// ---- systems: set-up, read-back, clean-up -------------------------------------------------------

interface System {
  name: SystemName;
  target(): Target;
  connections: number;
  depth: number;
  /** Create `count` SKUs named prefix0 … with `stock` units each. */
  stock(prefix: string, count: number, stock: number): Promise<void>;
  /** Current stock of each SKU (NaN when it cannot be read). */
  read(prefix: string, count: number): Promise<number[]>;
  /** Forget the SKUs of one run (what can be forgotten). */
  forget(prefix: string, count: number): Promise<void>;
  serverProcess(): ServerProcess | null;
  /** Start over from a fresh state, if this system does so at `when` (Stockade only). */
  restart?(when: 'row' | 'workload'): Promise<void>;
  /** The server's own latency histograms (Stockade only). */
  histograms?(): Promise<ServerHistograms>;
  close(): Promise<void>;
}

interface StockadeRecord {
  dataDir: string;
  port: number;
  shutdown?: { code: number | null; signal: string | null; killed: boolean; seconds: number };
}

/**
 * Stockade, restarted on a fresh data directory as BENCH_STOCKADE_RESTART says: before every row
 * (default), every workload, or never. Holds never end in this workload (stock 10^9, 10-minute
 * TTL), so a long-lived process carries every earlier row's holds into the next one.
 */
async function stockadeSystem(records: StockadeRecord[], configOut: { config?: Record<string, unknown> }): Promise<System> {
  let server: StockadeServer | null = null;
  let admin: AdminClient | null = null;
  const start = async () => {
    const s = await startStockade(ROOT_DIR, SHARDS, { quantityMax: STOCK_PLENTY });
    server = s;
    configOut.config ??= s.config;
    records.push({ dataDir: s.dataDir, port: s.port });
    admin = await AdminClient.connect(s.url, s.key);
  };
  const stop = async () => {
    admin?.close();
    admin = null;
    const s = server;
    server = null;
    if (!s) return;
    const started = performance.now();
    const result = await s.stop(60_000);
    const record = records.find((r) => r.dataDir === s.dataDir)!;
    record.shutdown = { ...result, seconds: Math.round(performance.now() - started) / 1000 };
    if (result.killed || result.code !== 0) process.stderr.write(`Stockade did not stop cleanly: ${JSON.stringify(result)}\n${s.stderr().slice(-5000)}\n`);
  };
  const live = () => {
    if (!server || !admin) throw new Error('Stockade is not running');
    return { server, admin };
  };
  await start();
  return {
    name: 'stockade',
    target: () => ({ system: 'stockade', url: live().server.url, key: live().server.key }),
    connections: CONNECTIONS,
    depth: DEPTH,
    async stock(prefix, count, stock) {
      await live().admin.many(
        Array.from({ length: count }, (_, i) => ({ op: 'setStock', args: { sku: `${prefix}${i}`, location: 'main', onHand: stock, eventId: `stock-${prefix}${i}` } })),
      );
    },
    async read(prefix, count) {
      const answers = await live().admin.many(Array.from({ length: count }, (_, i) => ({ op: 'availability', args: { sku: `${prefix}${i}` } })));
      return answers.map((a) => (typeof a.result?.available === 'number' ? (a.result.available as number) : NaN));
    },
    async forget() {
      // Stockade keeps the SKUs (and their open holds) until the process stops.
    },
    serverProcess: () => ({ pid: live().server.child.pid! }),
    histograms: () => scrape(live().server.url),
    async restart(when) {
      if (STOCKADE_RESTART !== when) return;
      await stop();
      await start();
    },
    close: stop,
  };
}

async function postgresSystem(pool: pg.Pool, user: string): Promise<System> {
  await pool.query(`DROP TABLE IF EXISTS ${PG_TABLE}`);
  await pool.query(`CREATE TABLE ${PG_TABLE} (sku text PRIMARY KEY, available int NOT NULL)`);
  return {
    name: 'postgres',
    target: () => ({ system: 'postgres', host: PG.host, port: PG.port, user, database: PG.database, table: PG_TABLE }),
    connections: PG_POOL,
    depth: 1,
    async stock(prefix, count, stock) {
      await pool.query(`INSERT INTO ${PG_TABLE} (sku, available) SELECT $1 || g, $2 FROM generate_series(0, $3 - 1) AS g`, [prefix, stock, count]);
      await pool.query(`ANALYZE ${PG_TABLE}`);
    },
    async read(prefix, count) {
      const { rows } = await pool.query<{ sku: string; available: number }>(`SELECT sku, available FROM ${PG_TABLE} WHERE starts_with(sku, $1)`, [prefix]);
      const bySku = new Map(rows.map((r) => [r.sku, r.available]));
      return Array.from({ length: count }, (_, i) => bySku.get(`${prefix}${i}`) ?? NaN);
    },
    async forget(prefix) {
      await pool.query(`DELETE FROM ${PG_TABLE} WHERE starts_with(sku, $1)`, [prefix]);
    },
    serverProcess: () => ({ comm: 'postgres' }),
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${PG_TABLE}`);
      await pool.end();
    },
  };
}

async function redisSystem(name: 'redis' | 'redis-aof', at: { host: string; port: number }, redis: Redis, sha: string, serverProcess: ServerProcess): Promise<System> {
  const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${REDIS_PREFIX}${prefix}${i}`);
  const chunks = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
  return {
    name,
    target: () => ({ system: 'redis', host: at.host, port: at.port, keyPrefix: REDIS_PREFIX, sha }),
    connections: CONNECTIONS,
    depth: DEPTH,
    async stock(prefix, count, stock) {
      for (const chunk of chunks(keys(prefix, count), 1000)) await redis.mset(...chunk.flatMap((k) => [k, String(stock)]));
    },
    async read(prefix, count) {
      const values: number[] = [];
      for (const chunk of chunks(keys(prefix, count), 1000)) for (const v of await redis.mget(...chunk)) values.push(v === null ? NaN : Number(v));
      return values;
    },
    async forget(prefix, count) {
      for (const chunk of chunks(keys(prefix, count), 1000)) await redis.unlink(...chunk);
    },
    serverProcess: () => serverProcess,
    async close() {
      await deleteRedisKeys(redis);
      redis.disconnect();
    },
  };
}

/** Remove every key this run made, whatever happened. */
async function deleteRedisKeys(redis: Redis): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) removed += await redis.unlink(...found);
  } while (cursor !== '0');
  return removed;
}

// ---- probes ------------------------------------------------------------------------------------

interface PgInfo {
  user: string;
  version: string;
  settings: Record<string, string>;
}

async function probePostgres(): Promise<{ pool: pg.Pool; info: PgInfo } | { error: string }> {
  const problems: string[] = [];
  for (const user of PG.users) {
    const pool = new pg.Pool({ host: PG.host, port: PG.port, user, database: PG.database, max: 2, connectionTimeoutMillis: 3000 });
    pool.on('error', () => undefined);
    try {
      await pool.query('select 1');
      const version = (await pool.query<{ server_version: string }>('show server_version')).rows[0].server_version;
      const { rows } = await pool.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings where name = any($1)`,
        [['synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes', 'commit_delay', 'max_connections', 'shared_buffers', 'data_directory']],
      );
      const settings = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
      return { pool, info: { user, version, settings } };
    } catch (err) {
      problems.push(`${user}: ${(err as Error).message}`);
      await pool.end().catch(() => undefined);
    }
  }
  return { error: problems.join('; ') };
}

interface RedisInfo {
  version: string;
  save: string;
  appendonly: string;
  appendfsync: string;
}

async function probeRedis(at: { host: string; port: number }): Promise<{ redis: Redis; info: RedisInfo; sha: string } | { error: string }> {
  const redis = new Redis({ host: at.host, port: at.port, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const server = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown';
    const config = async (name: string) => {
      try {
        const r = (await redis.config('GET', name)) as string[];
        return r[1] ?? 'unknown';
      } catch {
        return 'unknown (CONFIG refused)';
      }
    };
    const info = { version, save: await config('save'), appendonly: await config('appendonly'), appendfsync: await config('appendfsync') };
    const sha = (await redis.script('LOAD', REDIS_SCRIPT)) as string;
    return { redis, info, sha };
  } catch (err) {
    redis.disconnect();
    return { error: (err as Error).message };
  }
}

// ---- runs --------------------------------------------------------------------------------------

let jobNo = 0;

function checkRun(stockPerSku: number, result: JobResult, finals: number[]): Check {
  const check: Check = { skus: finals.length, stockPerSku, attempts: 0, granted: 0, oversold: 0, grantMismatches: 0, stockMismatches: 0, negative: 0, unreadable: 0 };
  for (let i = 0; i < finals.length; i++) {
    const attempts = result.attemptsPerSku[i];
    const granted = result.grantedPerSku[i];
    const final = finals[i];
    check.attempts += attempts;
    check.granted += granted;
    if (granted !== Math.min(stockPerSku, attempts)) check.grantMismatches++;
    if (Number.isNaN(final)) {
      check.unreadable++;
      check.oversold += Math.max(0, granted - stockPerSku);
      continue;
    }
    if (final < 0) check.negative++;
    if (final !== stockPerSku - granted) check.stockMismatches++;
    // Units handed out beyond the stock, by the client's count or by the system's own (a grant
    // the client never saw, e.g. unanswered, still shows in the stock read back).
    check.oversold += Math.max(0, granted - stockPerSku, -final);
  }
  return check;
}

async function runLevel(gen: Generator, system: System, workload: WorkloadName, level: Level): Promise<Row> {
  const count = skuCountOf(workload);
  const no = ++jobNo;
  if (no > 1) await system.restart?.('row');
  const prefix = `b${RUN_TAG}-${no}-${workload === 'hot' ? 'hot' : 'm'}-`;
  const stockPerSku = level.kind === 'sellout' ? level.stockPerSku : STOCK_PLENTY;
  const setupStarted = performance.now();
  await system.stock(prefix, count, stockPerSku);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const label = `${system.name} ${workloadLabel(workload)} ${level.kind === 'open' ? `open ${level.fraction * 100}%` : level.kind}`;
  const job: Job = {
    label,
    target: system.target(),
    mode: level.kind === 'open' ? 'open' : 'closed',
    skuPrefix: prefix,
    skuCount: count,
    connections: system.connections,
    depth: level.kind === 'open' ? 0 : system.depth,
    rate: level.kind === 'open' ? level.rate : 0,
    warmupSeconds: level.kind === 'peak' ? PEAK_WARMUP_S : level.kind === 'open' ? OPEN_WARMUP_S : 0,
    measureSeconds: level.kind === 'peak' ? PEAK_MEASURE_S : level.kind === 'open' ? OPEN_MEASURE_S : 0,
    attemptsMax: level.kind === 'sellout' ? level.attempts : 0,
    tag: `${RUN_TAG}-${no}`,
    seed: 0x9e3779b9 ^ no,
    serverProcess: system.serverProcess(),
  };
  const expectedMs = (job.warmupSeconds + job.measureSeconds) * 1000;
  const histogramsBefore = await system.histograms?.();
  // The server's histograms at the window's edges too: the row's server-side figures then cover
  // what the client's do, without the warm-up's cold start. A sell-out row has no window.
  const windowScrapes: Partial<Record<WindowEdge, Promise<ServerHistograms>>> = {};
  const onWindow = system.histograms
    ? (edge: WindowEdge) => {
        const scraped = system.histograms!();
        scraped.catch(() => {}); // awaited below, where a failure is reported
        windowScrapes[edge] = scraped;
      }
    : null;
  const result = await gen.run(job, expectedMs + 120_000, onWindow);
  const { start, end } = windowScrapes;
  const server = !histogramsBefore
    ? null
    : start && end
      ? latencyBetween(await start, await end)
      : latencyBetween(histogramsBefore, await system.histograms!());
  const verifyStarted = performance.now();
  const finals = await system.read(prefix, count);
  const check = checkRun(stockPerSku, result, finals);
  await system.forget(prefix, count);
  const verifySeconds = (performance.now() - verifyStarted) / 1000;
  const row: Row = { system: system.name, workload, level, connections: system.connections, depth: job.depth, result, check, setupSeconds, verifySeconds, server };
  process.stderr.write(
    `  ${label.padEnd(34)} ${fmt(result.throughput).padStart(9)}/s  p50 ${fmtMs(result.latency.p50Ms)}  p99 ${fmtMs(result.latency.p99Ms)}  p999 ${fmtMs(result.latency.p999Ms)} ms` +
      `  granted ${fmt(result.granted)}/${fmt(result.answered)}  oversold ${check.oversold}  longest gap ${fmt(result.answerGapMaxMs, 0)} ms at ${result.answerGapAtSeconds} s${checkProblems(row) ? '  ' + checkProblems(row) : ''}\n`,
  );
  return row;
}

async function runSystem(gen: Generator, system: System): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [w, workload] of WORKLOADS.entries()) {
    if (w > 0) await system.restart?.('workload');
    process.stderr.write(`${system.name}, ${workloadLabel(workload)}:\n`);
    const peak = await runLevel(gen, system, workload, { kind: 'peak' });
    rows.push(peak);
    const peakRate = peak.result.grantedPerSecond;
    if (!(peakRate > 0)) {
      process.stderr.write(`  no grants in the peak run: open-loop and sell-out runs skipped\n`);
      continue;
    }
    for (const fraction of OPEN_FRACTIONS) {
      rows.push(await runLevel(gen, system, workload, { kind: 'open', fraction, rate: Math.max(1, Math.round((OPEN_RATES_OF ?? peakRate) * fraction)) }));
    }
    const count = skuCountOf(workload);
    const totalStock = Math.min(SELLOUT_STOCK_MAX, Math.max(SELLOUT_STOCK_MIN, Math.round(peakRate * SELLOUT_SECONDS_OF_PEAK)));
    const stockPerSku = Math.max(1, Math.floor(totalStock / count));
    rows.push(await runLevel(gen, system, workload, { kind: 'sellout', stockPerSku, attempts: SELLOUT_FACTOR * stockPerSku * count }));
  }
  return rows;
}

// ---- report ------------------------------------------------------------------------------------

function checkProblems(row: Row): string {
  const c = row.check;
  const problems: string[] = [];
  if (c.grantMismatches) problems.push(`${c.grantMismatches} SKU(s) with grants ≠ min(stock, attempts)`);
  if (c.stockMismatches) problems.push(`${c.stockMismatches} SKU(s) with final stock ≠ initial − grants`);
  if (c.negative) problems.push(`${c.negative} SKU(s) with negative stock`);
  if (c.unreadable) problems.push(`${c.unreadable} SKU(s) unreadable`);
  if (row.result.unanswered) problems.push(`${row.result.unanswered} unanswered`);
  return problems.join('; ');
}

function errorsCell(r: JobResult): string {
  const entries = Object.entries(r.errors);
  if (entries.length === 0 && r.unanswered === 0) return '0';
  const parts = entries.map(([code, n]) => `${code} ×${fmt(n)}`);
  if (r.unanswered) parts.push(`unanswered ×${fmt(r.unanswered)}`);
  return parts.join(', ');
}

const SYSTEM_LABEL: Record<SystemName, string> = {
  stockade: 'Stockade (WS)',
  postgres: 'PostgreSQL',
  redis: 'Redis (no persistence)',
  'redis-aof': 'Redis (AOF, fsync always)',
};

function tableRows(rows: Row[]): string[][] {
  return rows.map((row) => {
    const r = row.result;
    const offered =
      row.level.kind === 'peak'
        ? 'peak (closed loop)'
        : row.level.kind === 'open'
          ? `${fmt(row.level.rate)}/s (${row.level.fraction * 100}%)`
          : `sell-out: ${fmt(row.level.attempts)} reserves, stock ${fmt(row.level.stockPerSku * skuCountOf(row.workload))}`;
    const depth = row.level.kind === 'open' ? `open loop (max ${fmt(r.inFlightMax)})` : `${row.depth} (${fmt(row.depth * row.connections)} total)`;
    const problems = checkProblems(row);
    return [
      SYSTEM_LABEL[row.system],
      workloadLabel(row.workload),
      String(row.connections),
      depth,
      offered,
      fmt(Math.round(r.throughput)),
      fmtMs(r.latency.p50Ms),
      fmtMs(r.latency.p99Ms),
      fmtMs(r.latency.p999Ms),
      problems ? `${fmt(row.check.oversold)} (${problems})` : fmt(row.check.oversold),
      `${fmt(r.granted)} / ${fmt(r.granted + r.refused)}`,
      errorsCell(r),
      r.serverCpuPercent === null ? '-' : `${fmt(r.serverCpuPercent, 0)}% (${r.serverBusiestThreadPercent === null ? '-' : fmt(r.serverBusiestThreadPercent, 0) + '%'})`,
      `${fmt(r.generatorCpuPercent, 0)}%`,
      r.machineCpuPercent === null || r.serverCpuPercent === null ? '-' : `${fmt(Math.max(0, r.machineCpuPercent - r.serverCpuPercent - r.generatorCpuPercent), 0)}%`,
      row.level.kind === 'open' ? `${fmtMs(r.sendLagP99Ms)} / ${fmtMs(r.sendLagMaxMs)}` : '-',
      row.server ? `${fmtBound(row.server.reserveP50Ms)} / ${fmtBound(row.server.reserveP99Ms)}` : '-',
      row.server ? `${fmtBound(row.server.walCommitP99Ms)} / ${fmtBound(row.server.walCommitMaxMs)}` : '-',
      row.server ? `${fmtBound(row.server.turnP99Ms, 5000)} / ${fmtBound(row.server.turnMaxMs, 5000)}` : '-',
      row.server ? fmtBound(row.server.gcMaxMs, 5000) : '-',
    ];
  });
}

const HEADERS = [
  'system',
  'workload',
  'connections',
  'in-flight depth',
  'offered load',
  'throughput (/s)',
  'p50 (ms)',
  'p99 (ms)',
  'p999 (ms)',
  'oversold',
  'granted / attempts',
  'errors',
  'server CPU (busiest thread)',
  'client CPU',
  'other CPU',
  'send lag p99 / max (ms)',
  'server-side p50 / p99',
  'WAL commit p99 / max',
  'shard turn p99 / max',
  'worker GC max',
];

// ---- main --------------------------------------------------------------------------------------

const cleanups: (() => Promise<unknown>)[] = [];

function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= f());
}
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`clean-up: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

async function main(): Promise<void> {
  const started = new Date();
  const startedMs = performance.now();
  const loadAtStart = loadavg();
  const othersAtStart = otherBenchmarks();
  const m = machine();
  const source = sourceState();
  process.stderr.write(`load benchmark (${QUICK ? 'quick' : 'full'}), run tag ${RUN_TAG}\n`);
  if (othersAtStart.length > 0) process.stderr.write(`warning: other benchmark processes are running:\n  ${othersAtStart.join('\n  ')}\n`);

  const skipped: Record<string, string> = {};
  const rows: Row[] = [];
  let pgInfo: PgInfo | null = null;
  let redisInfo: RedisInfo | null = null;
  let durableRedisInfo: (RedisInfo & { args: string[]; dataDirFs: string }) | null = null;
  let stockadeInfo: Record<string, unknown> | null = null;

  const gen = new Generator();
  cleanups.push(async () => gen.stop().catch(() => gen.kill()));

  for (const name of SYSTEMS) {
    if (name === 'stockade') {
      const records: StockadeRecord[] = [];
      const configOut: { config?: Record<string, unknown> } = {};
      const system = await stockadeSystem(records, configOut);
      const close = once(() => system.close());
      cleanups.push(close);
      stockadeInfo = {
        version: (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version,
        runtime: serverRuntime(),
        shards: SHARDS,
        restart: STOCKADE_RESTART,
        dataDirFs: fileSystemOf(tmpdir()),
        config: { ...configOut.config, apiKeys: '(one admin key, sha256 only)' },
        processes: records,
      };
      try {
        rows.push(...(await runSystem(gen, system)));
      } finally {
        // Stop it before the other systems run: its checkpoints must not eat their CPU.
        await close();
      }
    } else if (name === 'postgres') {
      const probe = await probePostgres();
      if ('error' in probe) {
        skipped.postgres = `PostgreSQL at ${PG.host}:${PG.port} (database ${PG.database}) is unreachable: ${probe.error}`;
        process.stderr.write(`SKIPPED: ${skipped.postgres}\n`);
        continue;
      }
      pgInfo = probe.info;
      process.stderr.write(`PostgreSQL ${pgInfo.version} as ${pgInfo.user}, synchronous_commit=${pgInfo.settings.synchronous_commit}, fsync=${pgInfo.settings.fsync}\n`);
      const system = await postgresSystem(probe.pool, pgInfo.user);
      const close = once(() => system.close());
      cleanups.push(close);
      rows.push(...(await runSystem(gen, system)));
      await close();
    } else if (name === 'redis') {
      const probe = await probeRedis(REDIS);
      if ('error' in probe) {
        skipped.redis = `Redis at ${REDIS.host}:${REDIS.port} is unreachable: ${probe.error}`;
        process.stderr.write(`SKIPPED: ${skipped.redis}\n`);
        continue;
      }
      redisInfo = probe.info;
      process.stderr.write(`Redis ${redisInfo.version}, save="${redisInfo.save}", appendonly=${redisInfo.appendonly}\n`);
      const system = await redisSystem('redis', REDIS, probe.redis, probe.sha, { comm: 'redis-server' });
      const close = once(() => system.close());
      cleanups.push(close);
      rows.push(...(await runSystem(gen, system)));
      await close();
    } else if (name === 'redis-aof') {
      let server: DurableRedis;
      try {
        server = await startDurableRedis(process.env.BENCH_REDIS_SERVER || 'redis-server');
      } catch (err) {
        skipped['redis-aof'] = `could not start a durable Redis: ${(err as Error).message.split('\n')[0]}`;
        process.stderr.write(`SKIPPED: ${skipped['redis-aof']}\n`);
        continue;
      }
      cleanups.push(server.stop);
      const probe = await probeRedis(server);
      if ('error' in probe) {
        await server.stop();
        skipped['redis-aof'] = `the durable Redis it started on port ${server.port} is unreachable: ${probe.error}`;
        process.stderr.write(`SKIPPED: ${skipped['redis-aof']}\n`);
        continue;
      }
      durableRedisInfo = { ...probe.info, args: server.args, dataDirFs: fileSystemOf(server.dataDir) };
      process.stderr.write(`durable Redis ${probe.info.version} on port ${server.port}, appendonly=${probe.info.appendonly}, appendfsync=${probe.info.appendfsync}\n`);
      // Only its own process's CPU: the machine's Redis is also a redis-server.
      const system = await redisSystem('redis-aof', server, probe.redis, probe.sha, { pid: server.pid });
      const close = once(() => system.close());
      cleanups.push(close);
      rows.push(...(await runSystem(gen, system)));
      await close();
      await server.stop();
    } else {
      throw new Error(`unknown system in BENCH_SYSTEMS: ${String(name)}`);
    }
  }
  await cleanup();

  const othersAtEnd = otherBenchmarks();
  const loadAtEnd = loadavg();
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  const md = report({ source, started, m, rows, skipped, pgInfo, redisInfo, durableRedisInfo, stockadeInfo, othersAtStart, othersAtEnd, loadAtStart, loadAtEnd, elapsedSeconds });
  process.stdout.write(md + '\n');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = process.env.BENCH_OUT || join(RESULTS_DIR, QUICK ? 'load.quick' : 'load');
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.md`, md + '\n');
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        name: 'load',
        date: started.toISOString(),
        mode: QUICK ? 'quick' : 'full',
        command: commandLine(),
        source,
        machine: m,
        loadAverage: { atStart: loadAtStart, atEnd: loadAtEnd },
        otherBenchmarkProcesses: { atStart: othersAtStart, atEnd: othersAtEnd },
        elapsedSeconds,
        settings: {
          peakWarmupSeconds: PEAK_WARMUP_S,
          peakMeasureSeconds: PEAK_MEASURE_S,
          openWarmupSeconds: OPEN_WARMUP_S,
          openMeasureSeconds: OPEN_MEASURE_S,
          manySkus: MANY_SKUS,
          connections: CONNECTIONS,
          depth: DEPTH,
          pgPool: PG_POOL,
          openFractions: OPEN_FRACTIONS,
          stockPlenty: STOCK_PLENTY,
          selloutFactor: SELLOUT_FACTOR,
          targetP99MsAtHalfPeak: TARGET_P99_MS,
        },
        systems: {
          stockade: stockadeInfo,
          postgres: pgInfo,
          redis: redisInfo ? { ...redisInfo, durable: isRedisDurable(redisInfo) } : null,
          redisAof: durableRedisInfo ? { ...durableRedisInfo, durable: isRedisDurable(durableRedisInfo) } : null,
        },
        skipped,
        runs: rows.map((r) => ({
          system: r.system,
          workload: r.workload,
          level: r.level,
          connections: r.connections,
          depth: r.depth,
          setupSeconds: r.setupSeconds,
          verifySeconds: r.verifySeconds,
          check: r.check,
          server: r.server,
          result: { ...r.result, attemptsPerSku: undefined, grantedPerSku: undefined },
        })),
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(`wrote ${base}.md and ${base}.json (${Math.round(elapsedSeconds)} s)\n`);
  const bad = rows.filter((r) => r.check.oversold > 0 || checkProblems(r) !== '');
  if (bad.length > 0) process.exitCode = 1;
}

function isRedisDurable(info: RedisInfo): boolean {
  return info.appendonly === 'yes' && info.appendfsync === 'always';
}

function report(a: {
  source: ReturnType<typeof sourceState>;
  started: Date;
  m: ReturnType<typeof machine>;
  rows: Row[];
  skipped: Record<string, string>;
  pgInfo: PgInfo | null;
  redisInfo: RedisInfo | null;
  durableRedisInfo: (RedisInfo & { args: string[]; dataDirFs: string }) | null;
  stockadeInfo: Record<string, unknown> | null;
  othersAtStart: string[];
  othersAtEnd: string[];
  loadAtStart: number[];
  loadAtEnd: number[];
  elapsedSeconds: number;
}): string {
  const out: string[] = [];
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  out.push(`# Load benchmark: Stockade vs PostgreSQL vs Redis${QUICK ? ' (quick smoke run: short windows, not for comparison)' : ''}`);
  out.push('');
  out.push(`- Date: ${a.started.toISOString()}; whole run ${Math.round(a.elapsedSeconds)} s`);
  out.push(`- Command: \`${commandLine()}\``);
  out.push(
    `- Code: commit ${a.source.commit}` + (a.source.changedInSrc.length === 0 ? ', src/ unchanged' : `, with uncommitted changes in src/ (${a.source.changedInSrc.map((l) => l.slice(3)).join(', ')})`),
  );
  out.push(`- Machine: ${a.m.cpuModel}, ${a.m.cores} cores, ${a.m.totalMemoryGiB} GiB RAM, Node ${a.m.node}, ${a.m.platform}`);
  out.push(
    `- Other load: load average ${load(a.loadAtStart)} at start, ${load(a.loadAtEnd)} at end; other benchmark processes ` +
      (a.othersAtStart.length === 0 && a.othersAtEnd.length === 0 ? 'none at start or end' : `at start: ${a.othersAtStart.length}, at end: ${a.othersAtEnd.length} (figures skewed)`),
  );
  out.push(
    `- Client: one load-generator process (Node, one thread) on the same machine as every server; it shares the ${a.m.cores} cores with the server under test. CPU columns: CPU time while the row's load ran (warm-up and drain included), in % of one core (${a.m.cores * 100}% = every core); "server" = the Stockade process (all its threads), every \`postgres\` process, or \`redis-server\`, and in brackets its busiest single thread (near 100% = that thread is the bottleneck); "client" = the generator; "other" = the rest of the machine's busy time (kernel network work, the orchestrator, and anything else running: other people's work skews the figures).`,
  );
  if (a.stockadeInfo) {
    out.push(
      `- Stockade ${String(a.stockadeInfo.version)}: separate process running ${String(a.stockadeInfo.runtime)}, ${SHARDS} shards (worker threads), data directory on ${a.m.tmpdir} (${String(a.stockadeInfo.dataDirFs)}); ` +
        `every reserve is answered after its WAL transaction is flushed to disk (LMDB, noSync off). WebSocket, msgpack binary frames, ${CONNECTIONS} connections × ${DEPTH} in flight at peak. ` +
        (STOCKADE_RESTART === 'row'
          ? 'A fresh process and data directory for every row (holds never end in this workload, so a long-lived process would carry every earlier row\'s holds, and their checkpoints, into the next row; the PostgreSQL rows and Redis keys of a row are deleted after it).'
          : STOCKADE_RESTART === 'workload'
            ? 'A fresh process and data directory for each workload; within a workload the process keeps every earlier row\'s holds.'
            : 'One process for every row: it keeps every earlier row\'s holds (and checkpoints them).'),
    );
  }
  if (a.pgInfo) {
    const s = a.pgInfo.settings;
    out.push(
      `- PostgreSQL ${a.pgInfo.version} (user ${a.pgInfo.user}): synchronous_commit=${s.synchronous_commit}, fsync=${s.fsync}, wal_sync_method=${s.wal_sync_method}, full_page_writes=${s.full_page_writes}, commit_delay=${s.commit_delay}, data in ${s.data_directory} (${fileSystemOf(s.data_directory ?? '/')}). ` +
        `One reserve = \`UPDATE ${PG_TABLE} SET available = available - $1 WHERE sku = $2 AND available >= $1\` (prepared, autocommit), granted when rowCount = 1; pg.Pool of ${PG_POOL}, as many in flight as connections.`,
    );
  }
  if (a.redisInfo) {
    const durable = isRedisDurable(a.redisInfo);
    out.push(
      `- Redis ${a.redisInfo.version}: save="${a.redisInfo.save}", appendonly=${a.redisInfo.appendonly}, appendfsync=${a.redisInfo.appendfsync} — ` +
        (durable ? 'durable (AOF fsync always).' : '**not durable**: no fsync before the answer, an acknowledged reserve can be lost on a crash (this Redis runs without persistence). ') +
        `One reserve = EVALSHA of a Lua script that checks and decrements atomically; ioredis with auto-pipelining, ${CONNECTIONS} connections × ${DEPTH} in flight at peak.`,
    );
  }
  if (a.durableRedisInfo) {
    const d = a.durableRedisInfo;
    out.push(
      `- Redis (AOF, fsync always): a redis-server ${d.version} this run started itself (\`${d.args.map((x) => (x === '' ? '""' : x)).join(' ')}\`, its data directory on ${d.dataDirFs}, removed after): appendonly=${d.appendonly}, appendfsync=${d.appendfsync} — ` +
        (isRedisDurable(d) ? 'durable: it writes and fsyncs the append-only file once per event-loop pass, before that pass\'s replies (group commit, the promise Stockade makes). ' : '**not durable as configured** (check the settings above). ') +
        `The same script, client and connections as the Redis row.`,
    );
  }
  for (const [name, why] of Object.entries(a.skipped)) out.push(`- **${name} skipped**: ${why}`);
  out.push(
    `- Workloads: reserves of quantity 1, each with its own idempotency key / order id; "hot SKU" = every request on one SKU, "${fmt(MANY_SKUS)} SKUs" = SKU drawn uniformly at random. Fresh SKUs for every row.`,
  );
  out.push(
    `- Levels: "peak" = closed loop, ${PEAK_WARMUP_S} s warm-up then ${PEAK_MEASURE_S} s measured; then open loop at 25/50/75% of that system's measured peak (${OPEN_WARMUP_S} s warm-up, ${OPEN_MEASURE_S} s measured), latency from the scheduled send time (no coordinated omission); ` +
      `"sell-out" = closed loop until ${SELLOUT_FACTOR}× the stock has been requested (stock ≈ ${SELLOUT_SECONDS_OF_PEAK} s of that system's peak, ${fmt(SELLOUT_STOCK_MIN)}–${fmt(SELLOUT_STOCK_MAX)} units), latency and throughput over the whole run. Peak and open-loop rows stock ${fmt(STOCK_PLENTY)} units per SKU (never runs out).`,
  );
  out.push(
    `- Send lag (open loop): how late the generator sent a request after its scheduled time (its own event loop was busy or descheduled), p99 and max over the measured window; that delay is part of the reported latency, so a latency percentile well above the lag's is the server's.`,
    `- Server-side p50 / p99 and WAL commit p99 / max (Stockade only): from Stockade's own Prometheus histograms (\`stockade_request_duration_seconds\` for WebSocket reserves: a request entering the gateway to its answer, the durable write included, the socket write and everything in the client not; \`stockade_wal_commit_seconds\`), scraped when the measured window starts and when every request sent in it has been answered (a sell-out row, which has no window: before and after the row). Read as bucket bounds ("≤ 5 ms": in the bucket up to 5 ms; buckets ${inMs(LATENCY_BUCKETS_S)} ms).`,
    `- Shard turn p99 / max (Stockade only): how long the shards' turns ran (\`stockade_shard_turn_seconds\`, every shard: a turn's commands, a checkpoint written in it, garbage collection inside it), p99 and the longest over the same scrapes, as bucket bounds (${inMs(STALL_BUCKETS_S)} ms). A request waits for the turns ahead of it on its shard.`,
    `- Worker GC max (Stockade only): the shard workers' longest garbage-collection pause over the same scrapes as the server-side figures (\`stockade_shard_gc_seconds\`, any kind), as a bucket bound; a pause inside a turn is part of that turn's time as well.`,
  );
  out.push(
    `- Throughput = answers per second in the measured window. Latency via hdr-histogram (µs resolution). Oversold = Σ max(0, grants − stock); after every row the stock is read back from the system and must equal stock − grants, never negative, with grants = min(stock, attempts) per SKU (any failed check is printed in the oversold cell).`,
  );
  out.push('');
  out.push(markdownTable(HEADERS, tableRows(a.rows)));
  out.push('');
  out.push(...summary(a.rows));
  return out.join('\n');
}

function summary(rows: Row[]): string[] {
  const lines: string[] = ['Summary (from the rows above):', ''];
  const find = (system: SystemName, workload: WorkloadName, pred: (l: Level) => boolean) => rows.find((r) => r.system === system && r.workload === workload && pred(r.level));
  for (const workload of WORKLOADS) {
    const peaks = KNOWN_SYSTEMS.map((s) => find(s, workload, (l) => l.kind === 'peak'));
    const [st, pgp, rd, rdAof] = peaks;
    const parts: string[] = [];
    for (const p of peaks) if (p) parts.push(`${SYSTEM_LABEL[p.system]} ${fmt(Math.round(p.result.throughput))}/s`);
    if (parts.length > 0) lines.push(`- ${workloadLabel(workload)}, peak: ${parts.join(', ')}.`);
    if (st && pgp) lines.push(`  - Stockade / PostgreSQL: ${(st.result.throughput / pgp.result.throughput).toFixed(2)}×.`);
    if (st && rd) lines.push(`  - Stockade / ${SYSTEM_LABEL.redis}: ${(st.result.throughput / rd.result.throughput).toFixed(2)}×.`);
    if (st && rdAof) lines.push(`  - Stockade / ${SYSTEM_LABEL['redis-aof']}: ${(st.result.throughput / rdAof.result.throughput).toFixed(2)}×.`);
    const half = find('stockade', workload, (l) => l.kind === 'open' && l.fraction === 0.5);
    if (half) {
      const p99 = half.result.latency.p99Ms;
      lines.push(
        `  - Design target (Stockade p99 ≤ ${TARGET_P99_MS} ms at half of peak): p99 ${fmtMs(p99)} ms at ${fmt((half.level as { rate: number }).rate)}/s → ${p99 <= TARGET_P99_MS ? 'met' : '**not met**'}.`,
      );
    }
  }
  const clientBound = rows.filter((r) => r.result.generatorCpuPercent >= 85);
  if (clientBound.length > 0) {
    lines.push(
      `- The generator used ≥ 85% of a core in ${clientBound.length} row(s) (${[...new Set(clientBound.map((r) => SYSTEM_LABEL[r.system]))].join(', ')}): there the figure may be bounded by the client, not the server.`,
    );
  }
  const other = (r: Row) => (r.result.machineCpuPercent ?? 0) - (r.result.serverCpuPercent ?? 0) - r.result.generatorCpuPercent;
  const disturbed = rows.filter((r) => r.result.machineCpuPercent !== null && other(r) >= 30);
  if (disturbed.length > 0) {
    lines.push(`- Other work used ≥ 30% of a core during ${disturbed.length} row(s) (most: ${fmt(Math.max(...disturbed.map(other)), 0)}%): those rows ran on a machine that was not otherwise idle.`);
  }
  const oversold = rows.reduce((n, r) => n + r.check.oversold, 0);
  const failed = rows.filter((r) => checkProblems(r) !== '');
  lines.push(`- Oversold across all rows: ${fmt(oversold)}; rows with a failed stock check: ${failed.length}.`);
  return lines;
}

// Bounded in time whatever happens; Ctrl-C cleans up too.
const deadline = setTimeout(() => {
  process.stderr.write(`load benchmark: over the ${RUN_DEADLINE_MS / 60_000}-minute deadline, aborting\n`);
  void cleanup().finally(() => process.exit(2));
}, RUN_DEADLINE_MS);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`load benchmark: ${signal}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch(async (err: unknown) => {
    process.stderr.write(`load benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    await cleanup();
    process.exitCode = 1;
  });
