// Shared test scaffolding: temporary data directories (on tmpfs when the machine has one, so
// thousands of durable turns stay fast) and an in-process shard with a clock the test moves.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Engine, workerFromSource } from '../src/actors/engine.js';
import { Shard } from '../src/actors/shard.js';
import type { Command, Reply, ReplyValue, ReserveCommand, SkuEvent } from '../src/actors/types.js';
import { buildConfig, type StockadeConfig } from '../src/config.js';
import { ShardStore } from '../src/persistence/shard-store.js';

const made: string[] = [];

export function tempDir(prefix = 'stockade-test-', onTmpfs = true): string {
  const base = onTmpfs && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A TypeScript fixture run from source in a worker thread, as the engine runs shard workers in tests. */
export function tsWorker(entry: URL, workerData: object): Worker {
  return workerFromSource(entry, { workerData });
}

export class FakeClock {
  constructor(public now = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export interface TestShard {
  shard: Shard;
  clock: FakeClock;
  config: Readonly<StockadeConfig>;
  dataDir: string;
  /** One command, one turn; returns its reply. */
  run(command: Command): Promise<Reply>;
  /** One command that must succeed; returns its value. */
  ok<T extends ReplyValue>(command: Command): Promise<T>;
  /** One command that must fail; returns its error code. */
  code(command: Command): Promise<string>;
  /** Open the same data directory again, as a restart would (with or without a clean close). */
  reopen(options?: { clean?: boolean }): Promise<void>;
}

export function openTestShard(overrides: Record<string, unknown> = {}, clock = new FakeClock()): TestShard {
  const config = buildConfig({ shards: 1, ...overrides, shard: { invariantsFullEveryTransition: true, ...(overrides.shard as object) } });
  const dataDir = tempDir();
  const open = () =>
    Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, clock: clock.read, timers: false }).shard;
  const t: TestShard = {
    shard: open(),
    clock,
    config,
    dataDir,
    async run(command) {
      const [reply] = await t.shard.execute([command]);
      return reply;
    },
    async ok<T extends ReplyValue>(command: Command) {
      const reply = await t.run(command);
      if (!reply.ok) throw new Error(`expected success, got ${JSON.stringify(reply.error)}`);
      return reply.value as T;
    },
    async code(command) {
      const reply = await t.run(command);
      if (reply.ok) throw new Error(`expected an error, got ${JSON.stringify(reply.value)}`);
      return reply.error.code;
    },
    async reopen(options = {}) {
      // Without a clean close nothing is checkpointed: recovery must replay the WAL. A crashed
      // process writes nothing more, so what the old shard queued lands first (a crash just
      // after its last commit): in one process it would otherwise land after the new shard read
      // the store, a state no crash can leave (a SKU's pages on disk that its new owner never saw).
      if (options.clean) await t.shard.close();
      else await t.shard.settled();
      t.shard = open();
    },
  };
  return t;
}

let keySeq = 0;
/**
 * The manifest an engine writes on its first start (engine.ts), for a data directory written by a
 * test's in-process shard, so that tools reading it (replay --as-of) find its shard count.
 */
export function writeManifest(dataDir: string, shards = 1): void {
  writeFileSync(join(dataDir, 'stockade.json'), JSON.stringify({ format: 1, shards }));
}

export function key(): string {
  keySeq++;
  return `test-key-${keySeq.toString().padStart(6, '0')}`;
}

export function reserve(sku: string, quantity: number, extra: Partial<ReserveCommand> = {}): ReserveCommand {
  const idempotencyKey = key();
  return { type: 'reserve', sku, idempotencyKey, orderId: `order-${keySeq}`, customerId: `cust-${keySeq}`, channel: 'web', quantity, ...extra };
}

let eventSeq = 0;
export function setStock(sku: string, location: string, onHand: number, extra: Record<string, unknown> = {}): Command {
  eventSeq++;
  return { type: 'setStock', sku, location, onHand, eventId: `evt-${eventSeq}`, ...extra } as Command;
}

/**
 * Leave `config`'s data directory (one shard) so that shard 0 cannot recover: after a real reserve
 * of 2 of SKU S's 10 units at w, a WAL record sets S's stock at w to 1 without the bumps a live
 * recount decides, so replay finds reserved above on hand and the shard dies at every start.
 */
export async function breakRecoveryOfShard0(config: Readonly<StockadeConfig>): Promise<void> {
  const engine = await Engine.start(config);
  await engine.execute(setStock('S', 'w', 10));
  const reserved = await engine.execute(reserve('S', 2));
  await engine.stop();
  if (!reserved.ok) throw new Error(`the reserve before the damage failed: ${JSON.stringify(reserved.error)}`);
  const store = ShardStore.open(Shard.directoryOf(config.dataDir, 0));
  const seq = store.lastSeq() + 1;
  const recount: SkuEvent = { type: 'StockSet', sku: 'S', at: Date.now(), location: 'w', onHand: 1, eventId: 'damaged-1' };
  store.appendTurn(seq, store.codec.encodeRecord({ seq, at: Date.now(), events: [recount] }), [], []);
  await store.close();
}
