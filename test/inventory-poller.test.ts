// The inventory-database poller against the real PostgreSQL (127.0.0.1:5432, database `test`, a
// uniquely named table per test, dropped afterwards) and a real nats-server started from
// nats.conf. Polls are triggered by pollOnce() or by hand-driven timers: no sleeps.

import type { JetStreamManager } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import type { SkuView } from '../src/actors/types.js';
import { buildConfig, ConfigError, type StockadeConfig } from '../src/config.js';
import {
  buildInventoryPollerConfig,
  InventoryPoller,
  pollEventId,
  type InventoryPollerConfig,
  type PollOutcome,
  type PollTimers,
} from '../src/streams/inventory-poller.js';
import { connectNats, DEAD_LETTER_STREAM, ensureStreams, STOCK_STREAM } from '../src/streams/nats.js';
import { StockEventConsumer } from '../src/streams/stock-consumer.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { NatsServer } from './nats-server.js';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const RUN = `${process.pid}_${Date.now().toString(36)}`;

let nats: NatsServer;
let db: pg.Client;
let config: Readonly<StockadeConfig>;
let nc: NatsConnection;
let jsm: JetStreamManager;
let tableSeq = 0;
const tables: string[] = [];
const pollers: InventoryPoller[] = [];

interface LogLine {
  level: 'info' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}
let logs: LogLine[];
const log: EngineLogger = {
  info: (obj, msg) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  error: (obj, msg) => logs.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
};

beforeAll(async () => {
  nats = await NatsServer.start();
  db = new pg.Client(PG);
  await db.connect();
  config = buildConfig({ shards: 2, dataDir: tempDir(), nats: { enabled: true, servers: [nats.url], ackWaitMs: 1000, maxDeliver: 3, inFlightMax: 256 } });
  ({ nc, jsm } = await connectNats(config.nats, 'poller-test'));
});

afterAll(async () => {
  await nc.close();
  await db.end();
  await nats.destroy();
  removeTempDirs();
});

beforeEach(async () => {
  logs = [];
  for (const name of [STOCK_STREAM, DEAD_LETTER_STREAM]) await jsm.streams.delete(name).catch(() => undefined);
  await ensureStreams(jsm, config.nats);
});

afterEach(async () => {
  for (const poller of pollers.splice(0)) await poller.stop();
  for (const table of tables.splice(0)) await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`DROP SEQUENCE IF EXISTS stockade_poll_seq_${RUN}`);
});

/** A fresh table named for this run and test; `columns` as in CREATE TABLE. */
async function makeTable(columns = 'sku text, location text, on_hand integer, version bigint'): Promise<string> {
  const name = `stockade_poll_${RUN}_${++tableSeq}`;
  tables.push(name);
  await db.query(`CREATE TABLE ${name} (${columns})`);
  return name;
}

function pollerFor(query: string, overrides: Partial<InventoryPollerConfig> = {}, extra: { timers?: PollTimers; clock?: () => number } = {}): InventoryPoller {
  const poller = new InventoryPoller({
    config: buildInventoryPollerConfig({ source: 'legacy', query, postgres: PG, ...overrides }),
    nc,
    log,
    ...extra,
  });
  pollers.push(poller);
  return poller;
}

async function storedCount(): Promise<number> {
  return (await jsm.streams.info(STOCK_STREAM)).state.messages;
}

async function stored(seq: number): Promise<{ subject: string; msgId: string | undefined; payload: Record<string, unknown> }> {
  const m = await jsm.streams.getMessage(STOCK_STREAM, { seq });
  return { subject: m!.subject, msgId: m!.header?.get('Nats-Msg-Id'), payload: JSON.parse(Buffer.from(m!.data).toString()) as Record<string, unknown> };
}

function ok(outcome: PollOutcome): Extract<PollOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`expected a successful poll, got ${outcome.failure}: ${outcome.message}`);
  return outcome;
}

describe('inventory poller: changes', () => {
  it('sends every row on the first poll, then only what changed, once each', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('PA', 'dc1', 10, 1), ('PB', 'dc1', 5, 1), ('PA', 'dc2', 7, 1)`);
    const poller = pollerFor(`SELECT sku, location, on_hand, version FROM ${t}`);

    expect(ok(await poller.pollOnce())).toMatchObject({ rows: 3, changesSent: 3, unchanged: 0, missing: 0, invalid: 0, duplicatesDropped: 0, lastStreamSequence: 3 });
    const first = await Promise.all([1, 2, 3].map(stored));
    expect(first.map((m) => m.subject).sort()).toEqual(['wms.stock.dc1.PA', 'wms.stock.dc1.PB', 'wms.stock.dc2.PA']);
    const pa1 = first.find((m) => m.subject === 'wms.stock.dc1.PA')!;
    expect(pa1.payload).toEqual({ eventId: 'legacy:dc1:PA:1', onHand: 10, sourceSeq: 1, sku: 'PA', location: 'dc1' });
    expect(pa1.msgId).toBe('legacy:dc1:PA:1');

    expect(ok(await poller.pollOnce())).toMatchObject({ rows: 3, changesSent: 0, unchanged: 3, lastStreamSequence: null });
    expect(await storedCount()).toBe(3);

    await db.query(`UPDATE ${t} SET on_hand = 4, version = 2 WHERE sku = 'PB'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 1, unchanged: 2, lastStreamSequence: 4 });
    expect(await stored(4)).toEqual({
      subject: 'wms.stock.dc1.PB',
      msgId: 'legacy:dc1:PB:2',
      payload: { eventId: 'legacy:dc1:PB:2', onHand: 4, sourceSeq: 2, sku: 'PB', location: 'dc1' },
    });
    expect(poller.snapshot()).toMatchObject({ source: 'legacy', polls: 3, lastRows: 3, rowsKnown: 3, changesSent: 4, errors: 0, lastError: null });
  });

  it('takes sourceSeq from updated_at without a version column, else from the poll time', async () => {
    const withTime = await makeTable('sku text, location text, on_hand integer, updated_at timestamptz');
    await db.query(`INSERT INTO ${withTime} VALUES ('UT', 'dc', 3, '2026-11-23T10:00:00.250Z')`);
    const bare = await makeTable('sku text, location text, on_hand integer');
    await db.query(`INSERT INTO ${bare} VALUES ('PT', 'dc', 8)`);
    const pollTime = Date.UTC(2026, 10, 23, 12, 0, 0);

    ok(await pollerFor(`SELECT * FROM ${withTime}`).pollOnce());
    ok(await pollerFor(`SELECT * FROM ${bare}`, {}, { clock: () => pollTime }).pollOnce());
    const at = Date.parse('2026-11-23T10:00:00.250Z');
    expect((await stored(1)).payload).toEqual({ eventId: `legacy:dc:UT:${at}`, onHand: 3, sourceSeq: at, sku: 'UT', location: 'dc' });
    expect((await stored(2)).payload).toEqual({ eventId: `legacy:dc:PT:${pollTime}`, onHand: 8, sourceSeq: pollTime, sku: 'PT', location: 'dc' });
  });

  it('is applied exactly once end to end by the stock consumer, across a poller restart', async () => {
    const engine = await Engine.start(buildConfig({ shards: 2, dataDir: tempDir(), nats: config.nats }));
    const consumer = new StockEventConsumer(engine, nc, jsm, config.nats, log);
    await consumer.start();
    const onHand = async (sku: string, location: string) => {
      const reply = await engine.execute({ type: 'getSku', sku });
      if (!reply.ok) return -1;
      return (reply.value as SkuView).locations.find((l) => l.location === location)?.onHand ?? -1;
    };
    try {
      const t = await makeTable();
      await db.query(`INSERT INTO ${t} VALUES ('E2E-A', 'dc1', 10, 1), ('E2E-A', 'dc2', 4, 1), ('E2E-B', 'dc1', 6, 1)`);
      const query = `SELECT sku, location, on_hand, version FROM ${t}`;
      const poller = pollerFor(query);
      await consumer.whenSettled(ok(await poller.pollOnce()).lastStreamSequence!);
      expect([await onHand('E2E-A', 'dc1'), await onHand('E2E-A', 'dc2'), await onHand('E2E-B', 'dc1')]).toEqual([10, 4, 6]);

      await db.query(`UPDATE ${t} SET on_hand = 2, version = 2 WHERE sku = 'E2E-B'`);
      await consumer.whenSettled(ok(await poller.pollOnce()).lastStreamSequence!);
      expect(await onHand('E2E-B', 'dc1')).toBe(2);
      expect(consumer.snapshot()).toMatchObject({ applied: 4, duplicates: 0, deadLettered: 0 });

      // A restarted poller knows nothing and sends every row again, with the same event ids:
      // JetStream drops them (Nats-Msg-Id inside its duplicate window) and nothing is stored.
      await poller.stop();
      const restarted = pollerFor(query);
      expect(ok(await restarted.pollOnce())).toMatchObject({ changesSent: 3, duplicatesDropped: 3, lastStreamSequence: null });
      expect(await storedCount()).toBe(4);

      // After the window, the same event reaches the consumer again: the engine remembers its id.
      const again = await stored(1);
      const seq = (await jetstream(nc).publish(again.subject, JSON.stringify(again.payload))).seq;
      await consumer.whenSettled(seq);
      expect(consumer.snapshot()).toMatchObject({ applied: 5, duplicates: 1, deadLettered: 0 });
      expect([await onHand('E2E-A', 'dc1'), await onHand('E2E-A', 'dc2'), await onHand('E2E-B', 'dc1')]).toEqual([10, 4, 2]);
    } finally {
      await consumer.stop();
      await engine.stop();
    }
  });

  it('reports rows that disappear, once, without zeroing them', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('GONE', 'dc', 5, 1), ('STAY', 'dc', 5, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t}`);
    ok(await poller.pollOnce());
    await db.query(`DELETE FROM ${t} WHERE sku = 'GONE'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ rows: 1, changesSent: 0, missing: 1 });
    expect(logs.find((l) => l.msg === 'inventory rows disappeared')!.obj).toMatchObject({
      source: 'legacy',
      missingRows: 1,
      examples: [{ sku: 'GONE', location: 'dc' }],
      action: 'report',
    });
    expect(ok(await poller.pollOnce())).toMatchObject({ missing: 0, changesSent: 0 });
    expect(poller.snapshot()).toMatchObject({ missingRows: 1, rowsKnown: 1 });
    expect(await storedCount()).toBe(2);
  });

  it('zeroes rows that disappear when configured, as a newer count', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('ZERO', 'dc', 5, 7), ('KEEP', 'dc', 5, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t}`, { missingRows: 'zero' });
    ok(await poller.pollOnce());
    await db.query(`DELETE FROM ${t} WHERE sku = 'ZERO'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 1, missing: 1, lastStreamSequence: 3 });
    expect((await stored(3)).payload).toEqual({ eventId: 'legacy:dc:ZERO:gone-8', onHand: 0, sourceSeq: 8, sku: 'ZERO', location: 'dc' });
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 0, missing: 0 });
    expect(poller.snapshot().rowsKnown).toBe(1);
  });
});

describe('inventory poller: bad input and failures', () => {
  it('reports a failing query and recovers on the next poll', async () => {
    const name = `stockade_poll_${RUN}_${++tableSeq}`;
    tables.push(name);
    const poller = pollerFor(`SELECT sku, location, on_hand FROM ${name}`);
    const failed = await poller.pollOnce();
    expect(failed).toMatchObject({ ok: false, failure: 'QUERY_FAILED', changesSent: 0 });
    expect((failed as { message: string }).message).toMatch(/does not exist/);
    expect(poller.snapshot()).toMatchObject({ errors: 1, consecutiveErrors: 1, lastError: { failure: 'QUERY_FAILED' } });
    expect(logs.some((l) => l.level === 'error' && l.msg === 'inventory poll failed')).toBe(true);

    await db.query(`CREATE TABLE ${name} (sku text, location text, on_hand integer)`);
    await db.query(`INSERT INTO ${name} VALUES ('BACK', 'dc', 1)`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 1 });
    expect(poller.snapshot()).toMatchObject({ errors: 1, consecutiveErrors: 0 });
  });

  it('cancels a query past statementTimeoutMs', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('SLOW', 'dc', 1, 1)`);
    const poller = pollerFor(`SELECT sku, location, on_hand FROM ${t}, pg_sleep(5)`, { statementTimeoutMs: 100 });
    const outcome = await poller.pollOnce();
    expect(outcome).toMatchObject({ ok: false, failure: 'QUERY_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/statement timeout/);
    expect(await storedCount()).toBe(0);
  });

  it('reads in a read-only session: a query that writes fails', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('RO', 'dc', 1, 1)`);
    await db.query(`CREATE SEQUENCE stockade_poll_seq_${RUN}`);
    const poller = pollerFor(`SELECT sku, location, on_hand FROM ${t} WHERE nextval('stockade_poll_seq_${RUN}') > 0`);
    const outcome = await poller.pollOnce();
    expect(outcome).toMatchObject({ ok: false, failure: 'QUERY_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/read-only transaction/);
  });

  it('refuses a poll past rowsPerPollMax whole, and sends once the table fits', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('R1', 'dc', 1, 1), ('R2', 'dc', 1, 1), ('R3', 'dc', 1, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t};`, { rowsPerPollMax: 2 });
    expect(await poller.pollOnce()).toMatchObject({ ok: false, failure: 'ROWS_LIMIT', changesSent: 0 });
    expect(await storedCount()).toBe(0);
    expect(poller.snapshot()).toMatchObject({ rowsKnown: 0, errors: 1, lastError: { failure: 'ROWS_LIMIT' } });
    await db.query(`DELETE FROM ${t} WHERE sku = 'R3'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ rows: 2, changesSent: 2 });
  });

  it('skips and reports invalid rows, sends the rest, and never zeroes a row it could not read', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES
      ('GOOD', 'dc', 1, 1), ('bad sku', 'dc', 1, 1), ('DOT', 'd.c', 1, 1), ('NEG', 'dc', -1, 1),
      ('VER', 'dc', 1, -4), ('DUP', 'dc', 1, 1), ('DUP', 'dc', 2, 1), ('NUL', 'dc', 3, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t}`, { missingRows: 'zero' });
    expect(ok(await poller.pollOnce())).toMatchObject({ rows: 8, changesSent: 2, invalid: 6 });
    const reported = logs.find((l) => l.msg === 'inventory poll skipped invalid rows')!.obj;
    expect(reported.invalidRows).toBe(6);
    // Five examples at most, whatever order the table returns its rows in.
    const examples = reported.examples as { reason: string }[];
    expect(examples).toHaveLength(5);
    for (const e of examples) expect(['INVALID_SKU', 'INVALID_LOCATION', 'INVALID_ON_HAND', 'INVALID_VERSION', 'DUPLICATE_ROW']).toContain(e.reason);

    // A count that cannot be read is not a row that disappeared: NUL keeps its stock.
    await db.query(`UPDATE ${t} SET on_hand = NULL WHERE sku = 'NUL'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 0, missing: 0, invalid: 7 });

    // A changed count under the same version would reuse the event id of the last one: refused.
    await db.query(`UPDATE ${t} SET on_hand = 9 WHERE sku = 'GOOD'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 0, invalid: 8 });
    await db.query(`UPDATE ${t} SET version = 2 WHERE sku = 'GOOD'`);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 1, invalid: 7 });
    expect(await storedCount()).toBe(3);
  });

  it('never runs two polls at once', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('ONE', 'dc', 1, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t}`);
    const [first, second] = await Promise.all([poller.pollOnce(), poller.pollOnce()]);
    expect(first).toMatchObject({ ok: true, changesSent: 1 });
    expect(second).toMatchObject({ ok: false, failure: 'POLL_IN_PROGRESS' });
    expect(poller.snapshot()).toMatchObject({ polls: 1, overlapsRefused: 1, errors: 0 });
    expect(await storedCount()).toBe(1);
  });

  it('ends a poll that throws unexpectedly as INTERNAL, and the next poll goes on', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('LOG', 'dc', 1, 1), ('LOST', 'dc', 1, 1)`);
    let throwOnInfo = true;
    const throwing: EngineLogger = {
      info(obj, msg) {
        if (throwOnInfo) {
          throwOnInfo = false;
          throw new Error('log sink broke');
        }
        log.info(obj, msg);
      },
      error: log.error,
    };
    const poller = new InventoryPoller({ config: buildInventoryPollerConfig({ source: 'legacy', query: `SELECT * FROM ${t}`, postgres: PG }), nc, log: throwing });
    pollers.push(poller);
    ok(await poller.pollOnce());
    await db.query(`DELETE FROM ${t} WHERE sku = 'LOST'`);
    expect(await poller.pollOnce()).toMatchObject({ ok: false, failure: 'INTERNAL', message: 'log sink broke' });
    expect(poller.snapshot()).toMatchObject({ errors: 1, lastError: { failure: 'INTERNAL' } });
    // The view was not touched: the disappearance is found and reported again.
    expect(ok(await poller.pollOnce())).toMatchObject({ missing: 1, changesSent: 0 });
    expect(poller.snapshot()).toMatchObject({ missingRows: 1, rowsKnown: 1 });
  });

  it('keeps a change it could not publish and sends it with the next poll', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('PUB', 'dc', 1, 1)`);
    const poller = pollerFor(`SELECT * FROM ${t}`);
    await jsm.streams.delete(STOCK_STREAM);
    expect(await poller.pollOnce()).toMatchObject({ ok: false, failure: 'PUBLISH_FAILED', changesSent: 0 });
    expect(poller.snapshot()).toMatchObject({ rowsKnown: 0, lastError: { failure: 'PUBLISH_FAILED' } });
    await ensureStreams(jsm, config.nats);
    expect(ok(await poller.pollOnce())).toMatchObject({ changesSent: 1, lastStreamSequence: 1 });
  });
});

/** Timers driven by the test: one armed callback at a time, fired on demand. */
class HandTimers implements PollTimers {
  private pending: { fn: () => void; delayMs: number; handle: number } | null = null;
  private waiter: ((delayMs: number) => void) | null = null;
  private handles = 0;
  cleared = 0;

  set(fn: () => void, delayMs: number): unknown {
    const handle = ++this.handles;
    this.pending = { fn, delayMs, handle };
    this.waiter?.(delayMs);
    this.waiter = null;
    return handle;
  }

  clear(handle: unknown): void {
    if (this.pending?.handle === handle) {
      this.pending = null;
      this.cleared++;
    }
  }

  /** Resolves with the delay of the armed callback, as soon as there is one. */
  armed(): Promise<number> {
    if (this.pending) return Promise.resolve(this.pending.delayMs);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  fire(): void {
    const pending = this.pending!;
    this.pending = null;
    pending.fn();
  }
}

describe('inventory poller: schedule', () => {
  it('polls at start, then pollIntervalMs after each poll ends, and stops', async () => {
    const t = await makeTable();
    await db.query(`INSERT INTO ${t} VALUES ('SCH', 'dc', 1, 1)`);
    const timers = new HandTimers();
    const poller = pollerFor(`SELECT * FROM ${t}`, {}, { timers });
    poller.start();
    expect(await timers.armed()).toBe(0);
    timers.fire();
    // The next poll is armed only once this one has finished.
    expect(await timers.armed()).toBe(30_000);
    expect(poller.snapshot()).toMatchObject({ running: true, polls: 1, changesSent: 1 });

    await db.query(`UPDATE ${t} SET on_hand = 2, version = 2`);
    timers.fire();
    expect(await timers.armed()).toBe(30_000);
    expect(poller.snapshot()).toMatchObject({ polls: 2, changesSent: 2 });

    await poller.stop();
    expect(timers.cleared).toBe(1);
    expect(poller.snapshot().running).toBe(false);
    expect(await poller.pollOnce()).toMatchObject({ ok: false, failure: 'STOPPED' });
  });
});

describe('inventory poller: configuration and event ids', () => {
  const base = { source: 'legacy', query: 'SELECT * FROM stock', postgres: { user: 'postgres', database: 'test' } };

  it('fills defaults (30 s), trims a trailing semicolon and freezes', () => {
    const built = buildInventoryPollerConfig({ ...base, query: ' SELECT * FROM stock ;  ' });
    expect(built).toEqual({
      ...base,
      query: 'SELECT * FROM stock',
      pollIntervalMs: 30_000,
      rowsPerPollMax: 100_000,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      publishInFlightMax: 256,
      missingRows: 'report',
      postgres: { user: 'postgres', database: 'test', host: '127.0.0.1', port: 5432 },
    });
    expect(Object.isFrozen(built) && Object.isFrozen(built.postgres)).toBe(true);
  });

  it.each([
    ['an unknown key, by name', { ...base, intervalMs: 5 }, '/inventoryPoller: unknown key "intervalMs"'],
    ['an unknown postgres key, by name', { ...base, postgres: { ...base.postgres, sslmode: 'off' } }, '/inventoryPoller/postgres: unknown key "sslmode"'],
    ['no query', { source: 'legacy', postgres: base.postgres }, "/inventoryPoller: must have required property 'query'"],
    ['a query of semicolons', { ...base, query: ' ; ' }, '/inventoryPoller/query: empty'],
    ['a source with a dot', { ...base, source: 'a.b' }, '/inventoryPoller/source: must match pattern'],
    ['a poll interval under a second', { ...base, pollIntervalMs: 10 }, '/inventoryPoller/pollIntervalMs: must be >= 1000'],
    ['no row limit', { ...base, rowsPerPollMax: 0 }, '/inventoryPoller/rowsPerPollMax: must be >= 1'],
    ['an unknown missing-row action', { ...base, missingRows: 'delete' }, '/inventoryPoller/missingRows: must be equal to one of the allowed values'],
    ['no database', { ...base, postgres: { user: 'postgres' } }, "/inventoryPoller/postgres: must have required property 'database'"],
  ])('refuses %s', (_name, input, message) => {
    expect(() => buildInventoryPollerConfig(input)).toThrow(ConfigError);
    expect(() => buildInventoryPollerConfig(input)).toThrow(message);
  });

  it('makes event ids from source, location, SKU and version, hashed when too long for an id', () => {
    expect(pollEventId('legacy', 'dc', 'A.1', '42')).toBe('legacy:dc:A.1:42');
    const long = pollEventId('legacy', 'l'.repeat(64), 's'.repeat(64), '1700000000000');
    expect(long).toMatch(/^legacy:sha256:[0-9a-f]{64}$/);
    expect(long).toBe(pollEventId('legacy', 'l'.repeat(64), 's'.repeat(64), '1700000000000'));
    expect(long).not.toBe(pollEventId('legacy', 'l'.repeat(64), 's'.repeat(64), '1700000000001'));
  });
});
