// The engine: N shard workers and the routing in front of them. This is the shard command
// interface the gateway and the stream consumers call: `execute(command) -> Promise<Reply>`.
//
// Commands for one shard that arrive in the same event-loop turn cross to the worker in one
// postMessage (see bench/shard-throughput.ts for batched versus unbatched crossing).

import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Alert } from '../alerts/alert.js';
import type { StockadeConfig } from '../config.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { DataDirInUseError, DataDirLock } from '../persistence/data-dir-lock.js';
import { demandFromCrossing } from './demand-crossing.js';
import type { AvailabilityChange, DemandEvent, FromShard, GcPause, ShardWorkerData, ToShard } from './messages.js';
import { shardOf } from './placement.js';
import { beginRecovery, endRecovery } from './recovery-pretenuring.js';
import { forEachCrossedBatch } from './reply-crossing.js';
import { mergeSearchPages, type SkuSearchPage, type SkuSearchQuery } from './sku-search.js';
import type { RecoveryStats, ShardStats } from './shard.js';
import { skuOfCommand } from './sku.js';
import type { Command, Reply } from './types.js';
import { oversizeBatch, validateCommand } from './validate.js';

/** What the engine reports as it runs (metrics, live pushes, demand windows subscribe here). */
export interface EngineObserver {
  /** A shard turn's WAL flush took this long. */
  walFlushed?(shardId: number, ms: number): void;
  /** A shard ran a turn for this long, answering nothing else meanwhile (Shard.onTurn). */
  turnRan?(shardId: number, ms: number): void;
  /** A shard wrote a checkpoint for this long, in a turn or on its timer (Shard.onCheckpoint). */
  checkpointWritten?(shardId: number, ms: number): void;
  /** A shard worker's thread paused this long for a garbage collection. */
  gcPaused?(shardId: number, pause: GcPause): void;
  /** Watched SKUs changed durably. */
  availabilityChanged?(changes: AvailabilityChange[]): void;
  /** Sales (commits) and reservation attempts, after their turn is durable. */
  demand?(events: DemandEvent[]): void;
  /**
   * Alert notices in a shard's outbox: decided by a durable turn, or left unconfirmed before a
   * restart. Publish them, then call `engine.alertsPublished(shardId, noticeIds)`.
   */
  alerts?(shardId: number, notices: Alert[]): void;
}

export interface EngineStartOptions {
  /** WAL replay progress of each shard at start (a progress bar, a log line). */
  onRecoveryProgress?: (shardId: number, done: number, total: number) => void;
}

export interface EngineLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const SILENT: EngineLogger = { info() {}, error() {} };

/** Data-directory manifest: the shard count is part of the on-disk layout. */
interface Manifest {
  format: 1;
  shards: number;
}

export class EngineStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineStartError';
  }
}

function checkManifest(dataDir: string, shards: number): void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'stockade.json');
  if (!existsSync(path)) {
    writeFileSync(path, JSON.stringify({ format: 1, shards } satisfies Manifest, null, 2) + '\n');
    return;
  }
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  if (manifest.shards !== shards) {
    throw new EngineStartError(
      `data directory ${dataDir} holds ${manifest.shards} shards but the configuration asks for ${shards}; ` +
        'SKUs are placed by hash modulo the shard count, so it cannot change on existing data',
    );
  }
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. */
export function freeBytesOf(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

/**
 * Why `dir` has too little free space for a start ("N MiB free, below shard.dataDirFreeMbMin (M
 * MiB)"), or null when it has enough or the check is off (0). The start and `stockade doctor` share it.
 */
export function freeSpaceShortfall(dir: string, freeMbMin: number): string | null {
  if (freeMbMin === 0) return null;
  const freeMb = freeBytesOf(dir) / 2 ** 20;
  return freeMb < freeMbMin ? `${freeMb.toFixed(1)} MiB free, below shard.dataDirFreeMbMin (${freeMbMin} MiB)` : null;
}

function checkFreeSpace(dataDir: string, freeMbMin: number): void {
  const shortfall = freeSpaceShortfall(dataDir, freeMbMin);
  if (shortfall) {
    throw new EngineStartError(
      `data directory ${dataDir} has ${shortfall}; free space first (LMDB cannot open or grow its files on a full disk), or lower the setting`,
    );
  }
}

/**
 * Built, the worker is plain JavaScript. Run from source (tsx, vitest) it is TypeScript: Node 20
 * does not apply `--import tsx` to a worker's entry module, so a one-line bootstrap registers
 * tsx's loader inside the worker first.
 */
function spawnShardWorker(data: ShardWorkerData): Worker {
  const options = { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: data.shard.youngGenerationMb } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./shard-worker.js', import.meta.url), options);
  return workerFromSource(new URL('./shard-worker.ts', import.meta.url), options);
}

/** A worker thread running the TypeScript module `entry` through tsx's loader (see above). */
export function workerFromSource(entry: URL, options: WorkerOptions): Worker {
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const loader = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

type Resolve = (reply: Reply) => void;

class ShardHandle {
  private worker!: Worker;
  private state: 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed' = 'starting';
  private queue: Command[] = [];
  private waiting: Resolve[] = [];
  private readonly inflight = new Map<number, Resolve[]>();
  private inflightCommands = 0;
  private nextBatchId = 1;
  private sendScheduled = false;
  private restarts = 0;
  private readyWaiters: { resolve: (r: RecoveryStats) => void; reject: (e: Error) => void }[] = [];
  private statsWaiters = new Map<number, (s: ShardStats | null) => void>();
  private searchWaiters = new Map<number, (page: SkuSearchPage | null) => void>();
  private stopWaiter: (() => void) | null = null;
  recovery: RecoveryStats | null = null;
  observers: EngineObserver[] = [];
  /** Watched SKUs of this shard, re-sent to a restarted worker. */
  private readonly watched = new Set<string>();

  constructor(
    private readonly data: ShardWorkerData,
    private readonly config: Readonly<StockadeConfig>,
    private readonly log: EngineLogger,
    private readonly startOptions: EngineStartOptions = {},
  ) {
    this.spawn();
  }

  watch(sku: string, on: boolean): void {
    if (on) this.watched.add(sku);
    else this.watched.delete(sku);
    if (this.state === 'ready') this.worker.postMessage({ kind: 'watch', sku, on } satisfies ToShard);
  }

  /** Messages for the worker that matter only while it runs (a restarted one resends its outbox). */
  tell(message: ToShard): void {
    if (this.state === 'ready') this.worker.postMessage(message);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Given up on after shard.restartsMax restarts: only a process restart brings it back. */
  get hasFailed(): boolean {
    return this.state === 'failed';
  }

  get depth(): number {
    return this.queue.length + this.inflightCommands;
  }

  whenReady(): Promise<RecoveryStats> {
    if (this.state === 'ready') return Promise.resolve(this.recovery!);
    if (this.state === 'failed') return Promise.reject(new EngineStartError(`shard ${this.data.shardId} failed`));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private spawn(): void {
    this.state = 'starting';
    this.worker = spawnShardWorker(this.data);
    this.worker.on('message', (message: FromShard) => this.onMessage(message));
    this.worker.on('error', (err) => this.onDeath(err.message));
    this.worker.on('exit', (code) => {
      if (this.state === 'stopping' || this.state === 'stopped') {
        this.state = 'stopped';
        this.stopWaiter?.();
        return;
      }
      this.onDeath(`worker exited with code ${code}`);
    });
  }

  private onMessage(message: FromShard): void {
    switch (message.kind) {
      case 'ready':
        this.state = 'ready';
        this.recovery = message.recovery;
        this.log.info({ recovery: message.recovery }, 'shard recovered');
        for (const sku of this.watched) this.worker.postMessage({ kind: 'watch', sku, on: true } satisfies ToShard);
        for (const w of this.readyWaiters) w.resolve(message.recovery);
        this.readyWaiters = [];
        this.scheduleSend();
        break;
      case 'replies': {
        const demand = message.demand.skus.length > 0 && this.observers.some((o) => o.demand) ? demandFromCrossing(message.demand) : null;
        for (const o of this.observers) {
          if (o.walFlushed) for (const ms of message.flushMs) o.walFlushed(this.data.shardId, ms);
          if (o.turnRan) for (const ms of message.turnMs) o.turnRan(this.data.shardId, ms);
          if (o.checkpointWritten) for (const ms of message.checkpointMs) o.checkpointWritten(this.data.shardId, ms);
          if (o.gcPaused) for (const pause of message.gc) o.gcPaused(this.data.shardId, pause);
          if (message.changes.length > 0) o.availabilityChanged?.(message.changes);
          if (demand) o.demand?.(demand);
          if (message.alerts.length > 0) o.alerts?.(this.data.shardId, message.alerts);
        }
        forEachCrossedBatch(message.replies, (id, replies) => {
          const resolvers = this.inflight.get(id)!;
          this.inflight.delete(id);
          this.inflightCommands -= resolvers.length;
          for (let i = 0; i < resolvers.length; i++) resolvers[i](replies[i]);
        });
        break;
      }
      case 'recovering':
        this.startOptions.onRecoveryProgress?.(this.data.shardId, message.done, message.total);
        break;
      case 'outbox':
        for (const o of this.observers) o.alerts?.(this.data.shardId, message.alerts);
        break;
      case 'stats':
        this.statsWaiters.get(message.id)?.(message.stats);
        this.statsWaiters.delete(message.id);
        break;
      case 'search':
        this.searchWaiters.get(message.id)?.(message.page);
        this.searchWaiters.delete(message.id);
        break;
      case 'failed':
        this.log.error({ shardId: this.data.shardId, reason: message.message, stack: message.stack }, 'shard failed');
        break;
      case 'stopped':
        break;
    }
  }

  /**
   * The worker died (a broken invariant, a crash). Commands in flight get SHARD_UNAVAILABLE: they
   * may or may not have been applied, and a retry with the same idempotency key is safe.
   * Queued commands wait for the restarted shard, which recovers from its WAL first.
   */
  private onDeath(reason: string): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    const unavailable: Reply = { ok: false, error: errorBody('SHARD_UNAVAILABLE', undefined, { shardId: this.data.shardId }) };
    for (const resolvers of this.inflight.values()) for (const resolve of resolvers) resolve(unavailable);
    this.inflight.clear();
    // Reads the dead worker will never answer.
    for (const resolve of this.statsWaiters.values()) resolve(null);
    for (const resolve of this.searchWaiters.values()) resolve(null);
    this.statsWaiters.clear();
    this.searchWaiters.clear();
    this.inflightCommands = 0;
    if (this.restarts >= this.config.shard.restartsMax) {
      this.state = 'failed';
      this.log.error({ shardId: this.data.shardId, reason }, 'shard failed too often; not restarting');
      for (const resolve of this.waiting) resolve(unavailable);
      this.queue = [];
      this.waiting = [];
      for (const w of this.readyWaiters) w.reject(new EngineStartError(`shard ${this.data.shardId} failed: ${reason}`));
      this.readyWaiters = [];
      return;
    }
    this.restarts++;
    this.log.error({ shardId: this.data.shardId, reason, restart: this.restarts }, 'shard died; restarting');
    this.worker.removeAllListeners();
    this.spawn();
  }

  submit(command: Command, resolve: Resolve): void {
    if (this.state === 'failed' || this.state === 'stopping' || this.state === 'stopped') {
      resolve({ ok: false, error: errorBody('SHARD_UNAVAILABLE', undefined, { shardId: this.data.shardId }) });
      return;
    }
    if (this.depth >= this.config.shard.mailboxCommandsMax) {
      resolve({ ok: false, error: errorBody('OVERLOADED', undefined, { mailboxCommandsMax: this.config.shard.mailboxCommandsMax }) });
      return;
    }
    this.queue.push(command);
    this.waiting.push(resolve);
    if (this.config.shard.crossing === 'unbatched') this.send();
    else this.scheduleSend();
  }

  private scheduleSend(): void {
    if (this.sendScheduled || this.state !== 'ready') return;
    this.sendScheduled = true;
    setImmediate(() => {
      this.sendScheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.state !== 'ready') return;
    const max = this.config.shard.batchCommandsMax;
    while (this.queue.length > 0) {
      const commands = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
      const resolvers = this.queue.length <= max ? this.waiting : this.waiting.slice(0, max);
      if (commands === this.queue) {
        this.queue = [];
        this.waiting = [];
      } else {
        this.queue = this.queue.slice(max);
        this.waiting = this.waiting.slice(max);
      }
      const id = this.nextBatchId++;
      this.inflight.set(id, resolvers);
      this.inflightCommands += commands.length;
      this.worker.postMessage({ kind: 'batch', id, commands } satisfies ToShard);
    }
  }

  stats(): Promise<ShardStats | null> {
    if (this.state !== 'ready') return Promise.resolve(null);
    const id = this.nextBatchId++;
    return new Promise((resolve) => {
      this.statsWaiters.set(id, resolve);
      this.worker.postMessage({ kind: 'stats', id } satisfies ToShard);
    });
  }

  search(query: SkuSearchQuery): Promise<SkuSearchPage | null> {
    if (this.state !== 'ready') return Promise.resolve(null);
    const id = this.nextBatchId++;
    return new Promise((resolve) => {
      this.searchWaiters.set(id, resolve);
      this.worker.postMessage({ kind: 'search', id, query } satisfies ToShard);
    });
  }

  stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'failed') return Promise.resolve();
    return new Promise((resolve) => {
      this.stopWaiter = resolve;
      const wasReady = this.state === 'ready';
      // Queued commands go out first; the worker answers them before it handles 'stop'.
      if (wasReady) this.send();
      this.state = 'stopping';
      if (wasReady) this.worker.postMessage({ kind: 'stop' } satisfies ToShard);
      else void this.worker.terminate();
    });
  }
}

export class Engine {
  /** Watchers per SKU (see watch). */
  private readonly watchers = new Map<string, number>();

  private constructor(
    private readonly handles: ShardHandle[],
    readonly config: Readonly<StockadeConfig>,
    private readonly lock: DataDirLock,
  ) {}

  /** Start every shard and wait until each has recovered and checked its invariants. */
  static async start(config: Readonly<StockadeConfig>, log: EngineLogger = SILENT, options: EngineStartOptions = {}): Promise<Engine> {
    mkdirSync(config.dataDir, { recursive: true });
    let lock: DataDirLock;
    try {
      lock = await DataDirLock.acquire(config.dataDir);
    } catch (err) {
      if (err instanceof DataDirInUseError) throw new EngineStartError(err.message);
      throw err;
    }
    try {
      // Before anything is written there, the manifest included.
      checkFreeSpace(config.dataDir, config.shard.dataDirFreeMbMin);
      checkManifest(config.dataDir, config.shards);
    } catch (err) {
      await lock.release();
      throw err;
    }
    // Every shard recovers now, in parallel: V8's pretenuring stays off until all are ready.
    beginRecovery();
    try {
      const handles: ShardHandle[] = [];
      for (let shardId = 0; shardId < config.shards; shardId++) {
        const data: ShardWorkerData = {
          shardId,
          shardCount: config.shards,
          dataDir: config.dataDir,
          limits: config.limits,
          shard: config.shard,
        };
        handles.push(new ShardHandle(data, config, log, options));
      }
      const engine = new Engine(handles, config, lock);
      try {
        await Promise.all(handles.map((h) => h.whenReady()));
      } catch (err) {
        await engine.stop();
        throw err;
      }
      return engine;
    } finally {
      endRecovery();
    }
  }

  get shardCount(): number {
    return this.handles.length;
  }

  /** True when every shard has recovered and takes commands. */
  get ready(): boolean {
    return this.handles.every((h) => h.isReady);
  }

  /** The shards given up on after shard.restartsMax restarts, which answer SHARD_UNAVAILABLE until the process restarts. */
  get failedShards(): number[] {
    return this.handles.flatMap((h, shardId) => (h.hasFailed ? [shardId] : []));
  }

  recovery(): (RecoveryStats | null)[] {
    return this.handles.map((h) => h.recovery);
  }

  /** Commands queued or in flight per shard. */
  depths(): number[] {
    return this.handles.map((h) => h.depth);
  }

  shardOf(sku: string): number {
    return shardOf(sku, this.handles.length);
  }

  /**
   * Start or stop live reports of a SKU's availability (see EngineObserver). Counted: several
   * watchers (WebSocket subscribers, the order flow) may watch one SKU, and it stays watched
   * until the last one stops.
   */
  watch(sku: string, on: boolean): void {
    const count = (this.watchers.get(sku) ?? 0) + (on ? 1 : -1);
    if (count < 0) return;
    if (count === 0) this.watchers.delete(sku);
    else this.watchers.set(sku, count);
    if (count === (on ? 1 : 0)) this.handles[shardOf(sku, this.handles.length)].watch(sku, on);
  }

  /** The publisher stored these notices: the shard drops them from its outbox. */
  alertsPublished(shardId: number, noticeIds: string[]): void {
    this.handles[shardId]?.tell({ kind: 'alertsPublished', noticeIds });
  }

  /** Every shard sends its unconfirmed notices again (after the publisher lost them). */
  resendOutbox(): void {
    for (const h of this.handles) h.tell({ kind: 'resendOutbox' });
  }

  /** Add an observer; every observer hears every report. */
  observe(observer: EngineObserver): void {
    for (const h of this.handles) h.observers.push(observer);
  }

  execute(command: Command): Promise<Reply> {
    return new Promise((resolve) => this.executeThen(command, resolve));
  }

  /**
   * `execute` with a callback instead of a promise, for the gateway's per-request path (a promise
   * and a microtask fewer per request). `done` is called once, from the shard's reply delivery
   * (or at once for a command that names no SKU), and must not throw: the other replies of the
   * same delivery come after it.
   */
  executeThen(command: Command, done: (reply: Reply) => void): void {
    const sku = routingKeyOf(command);
    if (typeof sku !== 'string') done({ ok: false, error: sku });
    else this.handles[shardOf(sku, this.handles.length)].submit(command, done);
  }

  /**
   * Several commands from one caller. Refused whole with BATCH_TOO_LARGE above batchCommandsMax;
   * otherwise each command is answered on its own (a batch is not a transaction: see carts).
   */
  executeBatch(commands: Command[]): Promise<Reply[]> {
    const oversize = oversizeBatch(commands.length, this.config.shard.batchCommandsMax);
    if (oversize) return Promise.resolve(commands.map(() => ({ ok: false, error: oversize }) as Reply));
    return Promise.all(commands.map((c) => this.execute(c)));
  }

  /** One page of the catalogue across every shard; SHARD_UNAVAILABLE while one is not ready. */
  async searchSkus(query: SkuSearchQuery): Promise<{ ok: true; page: SkuSearchPage } | { ok: false; error: ErrorBody }> {
    const pages = await Promise.all(this.handles.map((h) => h.search(query)));
    const missing = pages.findIndex((p) => p === null);
    if (missing >= 0) return { ok: false, error: errorBody('SHARD_UNAVAILABLE', undefined, { shardId: missing }) };
    return { ok: true, page: mergeSearchPages(pages as SkuSearchPage[], query) };
  }

  async stats(): Promise<(ShardStats | null)[]> {
    return Promise.all(this.handles.map((h) => h.stats()));
  }

  /** Checkpoint and close every shard; commands already queued are answered first. */
  async stop(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.stop()));
    // Only once every shard has closed its store may another process take the directory.
    await this.lock.release();
  }
}

/** The SKU a command routes by, or the validation error when it names none. */
function routingKeyOf(command: Command): string | ErrorBody {
  const sku = typeof command === 'object' && command !== null ? skuOfCommand(command) : null;
  if (typeof sku === 'string' && sku.length > 0) return sku;
  return validateCommand(command) ?? errorBody('VALIDATION_FAILED', 'the command names no SKU');
}
