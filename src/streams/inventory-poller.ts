// The inventory-database poller, for stock sources that publish no events: every pollIntervalMs
// it runs a configured query against PostgreSQL, compares the rows with the previous poll, and
// publishes each difference as a stock event on `wms.stock.<location>.<sku>` (stock-events.ts),
// so the stock consumer applies it exactly once like any warehouse event.
//
// The query returns `sku`, `location`, `on_hand` and optionally `version` (an integer that grows
// with every change of the row) or else `updated_at` (a timestamp). Each event is an absolute
// count with `sourceSeq` = the version (or updated_at in ms, or the poll time when the row has
// neither) and a deterministic event id, also its Nats-Msg-Id, from source + location + SKU +
// version. So a change sent twice — the first poll after a restart sends every row — is dropped
// by JetStream within its duplicate window and by the SKU's event-id memory and its sourceSeq
// check after it: never applied twice, never overwriting something newer.
//
// Guarantees: nothing half-applied — a poll with more than rowsPerPollMax rows sends nothing; a
// change whose publish fails stays "unsent" and is found again by the next poll. Polls never
// overlap: the next one is armed only after the last finished. Rows that disappear are reported
// (logged, counted), not zeroed, unless `missingRows: "zero"`. The session is read-only
// (default_transaction_read_only) and every statement has a timeout.

import { createHash } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Ajv } from 'ajv';
import pg from 'pg';
import type { EngineLogger } from '../actors/engine.js';
import { SKU_PATTERN } from '../actors/validate.js';
import { ConfigError } from '../config-error.js';

// ---------------------------------------------------------------------------------------------
// Configuration

export interface InventoryPollerConfig {
  /** Names the source in event ids and logs; one source per table. */
  source: string;
  /** A SELECT returning sku, location, on_hand [, version | updated_at]; run as a sub-select. */
  query: string;
  pollIntervalMs: number;
  /** A poll returning more rows is refused whole and reported. */
  rowsPerPollMax: number;
  /** PostgreSQL cancels a poll query running longer (statement_timeout). */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Stock events awaiting their JetStream ack at once. */
  publishInFlightMax: number;
  /** A row that disappears: 'report' it (log and count), or 'zero' its stock. */
  missingRows: 'report' | 'zero';
  postgres: { host: string; port: number; user: string; password?: string; database: string };
}

export const POLL_INTERVAL_MS = 30_000;

const DEFAULTS = {
  pollIntervalMs: POLL_INTERVAL_MS,
  rowsPerPollMax: 100_000,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  publishInFlightMax: 256,
  missingRows: 'report',
} as const;

/** The JSON Schema of the `inventoryPoller` configuration section. */
export const inventoryPollerConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['source', 'query', 'postgres'],
  properties: {
    source: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Name of the polled system; part of every event id.' },
    query: { type: 'string', minLength: 1, maxLength: 16_384, description: 'SQL returning sku, location, on_hand and optionally version or updated_at; run read-only.' },
    pollIntervalMs: { type: 'integer', minimum: 1000, description: 'Time between polls (30 s by default).' },
    rowsPerPollMax: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'A poll returning more rows is refused (ROWS_LIMIT) and sends nothing.' },
    statementTimeoutMs: { type: 'integer', minimum: 100, description: 'PostgreSQL statement_timeout of the poll query.' },
    connectTimeoutMs: { type: 'integer', minimum: 100, description: 'Time allowed to connect to PostgreSQL.' },
    publishInFlightMax: { type: 'integer', minimum: 1, maximum: 65_536, description: 'Stock events awaiting JetStream acks at once.' },
    missingRows: { enum: ['report', 'zero'], description: 'What a row that disappeared means: report it (default) or zero the stock.' },
    postgres: {
      description: 'Connection to the polled database.',
      type: 'object',
      additionalProperties: false,
      required: ['user', 'database'],
      properties: {
        host: { type: 'string', minLength: 1, description: 'PostgreSQL host.' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'PostgreSQL port.' },
        user: { type: 'string', minLength: 1, description: 'PostgreSQL user.' },
        password: { type: 'string', description: 'PostgreSQL password. Never logged.' },
        database: { type: 'string', minLength: 1, description: 'Database name.' },
      },
    },
  },
} as const;

const validatePollerConfig = new Ajv({ allErrors: true, strict: true }).compile(inventoryPollerConfigSchema);

/** Validate, fill defaults, freeze. Throws ConfigError naming the bad key. */
export function buildInventoryPollerConfig(input: unknown): Readonly<InventoryPollerConfig> {
  if (!validatePollerConfig(input)) {
    const problems = (validatePollerConfig.errors ?? []).map((e) => {
      const where = `/inventoryPoller${e.instancePath}`;
      if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      return `${where}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const o = input as Partial<Omit<InventoryPollerConfig, 'postgres'>> &
    Pick<InventoryPollerConfig, 'source' | 'query'> & { postgres: Partial<InventoryPollerConfig['postgres']> & { user: string; database: string } };
  // It runs as `SELECT … FROM (<query>) AS poll LIMIT n`: a trailing semicolon would break that.
  const query = o.query.replace(/[\s;]+$/, '').trim();
  if (query.length === 0) throw new ConfigError('invalid configuration: /inventoryPoller/query: empty');
  const config: InventoryPollerConfig = {
    ...DEFAULTS,
    ...o,
    query,
    postgres: Object.freeze({ ...o.postgres, host: o.postgres.host ?? '127.0.0.1', port: o.postgres.port ?? 5432 }),
  };
  return Object.freeze(config);
}

// ---------------------------------------------------------------------------------------------
// Rows

/** A location becomes a subject token, so unlike stock-events.ts it may not contain a dot. */
const LOCATION_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SKU_RE = new RegExp(SKU_PATTERN);
const EVENT_ID_CHARS_MAX = 128;
const INVALID_EXAMPLES_MAX = 5;
const MISSING_EXAMPLES_MAX = 20;

export type InvalidRowReason = 'INVALID_SKU' | 'INVALID_LOCATION' | 'INVALID_ON_HAND' | 'INVALID_VERSION' | 'DUPLICATE_ROW' | 'VERSION_NOT_ADVANCED';

interface StockRow {
  sku: string;
  location: string;
  onHand: number;
  /** From `version` or `updated_at`; null when the row has neither. */
  version: number | null;
}

interface Known {
  onHand: number;
  version: number | null;
}

function wholeNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  // bigint and numeric columns arrive as strings.
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

/** The remembered-rows key of a place. */
const keyOf = (location: string, sku: string): string => `${location}\u0000${sku}`;

/**
 * A row, or why it is refused — with its key when the place itself is readable, so that a row
 * with a bad count is not taken for a row that disappeared (and zeroed).
 */
function readRow(raw: Record<string, unknown>): StockRow | { reason: InvalidRowReason; key: string | null } {
  const { sku, location } = raw;
  if (typeof sku !== 'string' || !SKU_RE.test(sku)) return { reason: 'INVALID_SKU', key: null };
  if (typeof location !== 'string' || !LOCATION_RE.test(location)) return { reason: 'INVALID_LOCATION', key: null };
  const onHand = wholeNumber(raw.on_hand);
  if (onHand === null) return { reason: 'INVALID_ON_HAND', key: keyOf(location, sku) };
  let version: number | null = null;
  if (raw.version !== undefined && raw.version !== null) {
    version = wholeNumber(raw.version);
    if (version === null) return { reason: 'INVALID_VERSION', key: keyOf(location, sku) };
  } else if (raw.updated_at !== undefined && raw.updated_at !== null) {
    const at = raw.updated_at instanceof Date ? raw.updated_at.getTime() : Number.NaN;
    if (!Number.isSafeInteger(at) || at < 0) return { reason: 'INVALID_VERSION', key: keyOf(location, sku) };
    version = at;
  }
  return { sku, location, onHand, version };
}

/** source:location:sku:version, hashed when it would not fit an event id. */
export function pollEventId(source: string, location: string, sku: string, version: string): string {
  const plain = `${source}:${location}:${sku}:${version}`;
  if (plain.length <= EVENT_ID_CHARS_MAX) return plain;
  return `${source}:sha256:${createHash('sha256').update(`${location}\u0000${sku}\u0000${version}`).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// The poller

export type PollFailure = 'POLL_IN_PROGRESS' | 'STOPPED' | 'QUERY_FAILED' | 'ROWS_LIMIT' | 'PUBLISH_FAILED' | 'INTERNAL';

export type PollOutcome =
  | {
      ok: true;
      at: number;
      rows: number;
      changesSent: number;
      unchanged: number;
      missing: number;
      invalid: number;
      /** Re-sent events JetStream dropped as duplicates (its Nats-Msg-Id window). */
      duplicatesDropped: number;
      /** STOCK_EVENTS sequence of the last event stored by this poll, null when none. */
      lastStreamSequence: number | null;
    }
  | { ok: false; at: number; failure: PollFailure; message: string; changesSent: number; lastStreamSequence: number | null };

export interface InventoryPollerStatus {
  source: string;
  running: boolean;
  polls: number;
  lastPollAt: number | null;
  lastPollMs: number | null;
  lastRows: number;
  /** (sku, location) pairs remembered from the last poll (at most rowsPerPollMax). */
  rowsKnown: number;
  changesSent: number;
  duplicatesDropped: number;
  missingRows: number;
  invalidRows: number;
  errors: number;
  consecutiveErrors: number;
  overlapsRefused: number;
  lastError: { failure: PollFailure; message: string; at: number } | null;
}

/** Where the next poll is armed: real timers in production, a hand-driven fake in tests. */
export interface PollTimers {
  set(fn: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: PollTimers = {
  set: (fn, delayMs) => setTimeout(fn, delayMs),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface InventoryPollerOptions {
  config: Readonly<InventoryPollerConfig>;
  nc: NatsConnection;
  log: EngineLogger;
  timers?: PollTimers;
  clock?: () => number;
}

interface Change {
  key: string;
  row: StockRow;
  eventId: string;
  sourceSeq: number;
  /** The row disappeared and this change zeroes it (missingRows: 'zero'). */
  gone: boolean;
}

export class InventoryPoller {
  private readonly config: Readonly<InventoryPollerConfig>;
  private readonly js: JetStreamClient;
  private readonly log: EngineLogger;
  private readonly timers: PollTimers;
  private readonly clock: () => number;
  private readonly pool: pg.Pool;
  /**
   * What was last sent, by "location\0sku": at most the rows of one poll (rowsPerPollMax; a larger
   * poll is refused), plus, with missingRows "zero", disappeared rows whose zero is still unsent.
   */
  private readonly known = new Map<string, Known>();
  private polling: Promise<PollOutcome> | null = null;
  private timer: unknown = null;
  private running = false;
  private stopped = false;
  private readonly status: InventoryPollerStatus;

  constructor(options: InventoryPollerOptions) {
    this.config = options.config;
    this.js = jetstream(options.nc);
    this.log = options.log;
    this.timers = options.timers ?? REAL_TIMERS;
    this.clock = options.clock ?? Date.now;
    const { postgres } = this.config;
    this.pool = new pg.Pool({
      ...postgres,
      // Polls never overlap: one connection is all a poller uses.
      max: 1,
      statement_timeout: this.config.statementTimeoutMs,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      application_name: `stockade-poller-${this.config.source}`,
      // The poller only reads; a query that tries to write fails instead.
      options: '-c default_transaction_read_only=on',
    });
    // An idle connection dropped by the server must not crash the process; the next poll reconnects.
    this.pool.on('error', (err) => this.log.error({ source: this.config.source, err: err.message }, 'inventory poller connection lost'));
    this.status = {
      source: this.config.source,
      running: false,
      polls: 0,
      lastPollAt: null,
      lastPollMs: null,
      lastRows: 0,
      rowsKnown: 0,
      changesSent: 0,
      duplicatesDropped: 0,
      missingRows: 0,
      invalidRows: 0,
      errors: 0,
      consecutiveErrors: 0,
      overlapsRefused: 0,
      lastError: null,
    };
  }

  /** Poll now, then every pollIntervalMs after each poll ends. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.arm(0);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    await this.polling;
    await this.pool.end();
  }

  snapshot(): InventoryPollerStatus {
    return { ...this.status, running: this.running, rowsKnown: this.known.size, lastError: this.status.lastError && { ...this.status.lastError } };
  }

  /** One poll. Refused (POLL_IN_PROGRESS) while another runs: polls never overlap. */
  pollOnce(): Promise<PollOutcome> {
    const at = this.clock();
    if (this.stopped) return Promise.resolve(this.failed(at, 'STOPPED', 'the poller is stopped', 0, null));
    if (this.polling) {
      this.status.overlapsRefused++;
      return Promise.resolve({ ok: false, at, failure: 'POLL_IN_PROGRESS', message: 'a poll is still running', changesSent: 0, lastStreamSequence: null });
    }
    const started = performance.now();
    this.polling = this.poll(at)
      // poll() reports what it expects; anything else still ends the poll, reported, and the schedule goes on.
      .catch((err: Error) => this.failed(at, 'INTERNAL', err.message, 0, null))
      .finally(() => {
        this.polling = null;
        this.status.polls++;
        this.status.lastPollAt = at;
        this.status.lastPollMs = performance.now() - started;
      });
    return this.polling;
  }

  private arm(delayMs: number): void {
    this.timer = this.timers.set(() => {
      this.timer = null;
      void this.pollOnce().then(() => {
        if (this.running) this.arm(this.config.pollIntervalMs);
      });
    }, delayMs);
  }

  private async poll(at: number): Promise<PollOutcome> {
    let result: pg.QueryResult<Record<string, unknown>>;
    try {
      // One more than allowed tells "too many" from "exactly the limit" without reading them all.
      result = await this.pool.query<Record<string, unknown>>(`SELECT * FROM (${this.config.query}) AS poll LIMIT ${this.config.rowsPerPollMax + 1}`);
    } catch (err) {
      return this.failed(at, 'QUERY_FAILED', (err as Error).message, 0, null);
    }
    const rows = result.rows;
    if (rows.length > this.config.rowsPerPollMax) {
      return this.failed(at, 'ROWS_LIMIT', `the query returned more than rowsPerPollMax (${this.config.rowsPerPollMax}) rows; nothing sent`, 0, null);
    }
    this.status.lastRows = rows.length;

    const seen = new Set<string>();
    const changes: Change[] = [];
    const invalid: { reason: InvalidRowReason; row: unknown }[] = [];
    let invalidCount = 0;
    let unchanged = 0;
    const reject = (reason: InvalidRowReason, row: unknown) => {
      invalidCount++;
      if (invalid.length < INVALID_EXAMPLES_MAX) invalid.push({ reason, row });
    };
    // First every row by place: two rows for one place are two counts, neither trusted over the other.
    const byKey = new Map<string, { row: StockRow; raw: unknown } | null>();
    for (const raw of rows) {
      const row = readRow(raw);
      if ('reason' in row) {
        if (row.key !== null) seen.add(row.key);
        reject(row.reason, raw);
        continue;
      }
      const key = keyOf(row.location, row.sku);
      seen.add(key);
      if (byKey.has(key)) {
        if (byKey.get(key) !== null) reject('DUPLICATE_ROW', byKey.get(key)!.raw);
        reject('DUPLICATE_ROW', raw);
        byKey.set(key, null);
        continue;
      }
      byKey.set(key, { row, raw });
    }
    for (const [key, entry] of byKey) {
      if (entry === null) continue;
      const { row, raw } = entry;
      const before = this.known.get(key);
      if (before && before.onHand === row.onHand) {
        unchanged++;
        continue;
      }
      if (before && row.version !== null && before.version !== null && row.version <= before.version) {
        // Same id as the count already sent, or older: the stock path would drop it as a duplicate or stale.
        reject('VERSION_NOT_ADVANCED', raw);
        continue;
      }
      const version = row.version ?? at;
      changes.push({ key, row, eventId: pollEventId(this.config.source, row.location, row.sku, String(version)), sourceSeq: version, gone: false });
    }

    const missing: Change[] = [];
    for (const [key, was] of this.known) {
      if (seen.has(key)) continue;
      const cut = key.indexOf('\u0000');
      const row: StockRow = { location: key.slice(0, cut), sku: key.slice(cut + 1), onHand: 0, version: was.version };
      // Above the last version sent, so the stock path takes the zero as newer.
      const sourceSeq = was.version !== null ? was.version + 1 : at;
      missing.push({ key, row, eventId: pollEventId(this.config.source, row.location, row.sku, `gone-${sourceSeq}`), sourceSeq, gone: true });
    }

    if (invalidCount > 0) {
      this.log.error({ source: this.config.source, invalidRows: invalidCount, examples: invalid }, 'inventory poll skipped invalid rows');
      this.status.invalidRows += invalidCount;
    }
    if (missing.length > 0) {
      const examples = missing.slice(0, MISSING_EXAMPLES_MAX).map((m) => ({ sku: m.row.sku, location: m.row.location }));
      this.log.info({ source: this.config.source, missingRows: missing.length, examples, action: this.config.missingRows }, 'inventory rows disappeared');
      this.status.missingRows += missing.length;
      if (this.config.missingRows === 'zero') {
        changes.push(...missing);
      } else {
        // Reported once: a row that comes back is a new row (its count is sent again, harmlessly).
        for (const m of missing) this.known.delete(m.key);
      }
    }

    const sent = await this.publish(changes);
    if (sent.error !== null) return this.failed(at, 'PUBLISH_FAILED', sent.error, sent.count, sent.lastStreamSequence);
    this.status.consecutiveErrors = 0;
    return {
      ok: true,
      at,
      rows: rows.length,
      changesSent: sent.count,
      unchanged,
      missing: missing.length,
      invalid: invalidCount,
      duplicatesDropped: sent.duplicates,
      lastStreamSequence: sent.lastStreamSequence,
    };
  }

  /**
   * Publish in windows of publishInFlightMax and remember each change once JetStream has stored
   * it. A change not acknowledged is not remembered, so the next poll finds and sends it again.
   */
  private async publish(changes: Change[]): Promise<{ count: number; duplicates: number; lastStreamSequence: number | null; error: string | null }> {
    let count = 0;
    let duplicates = 0;
    let lastStreamSequence: number | null = null;
    let error: string | null = null;
    for (let from = 0; from < changes.length && error === null; from += this.config.publishInFlightMax) {
      const window = changes.slice(from, from + this.config.publishInFlightMax);
      const acks = await Promise.allSettled(
        window.map((c) => {
          const payload = { eventId: c.eventId, onHand: c.row.onHand, sourceSeq: c.sourceSeq, sku: c.row.sku, location: c.row.location };
          return this.js.publish(`wms.stock.${c.row.location}.${c.row.sku}`, JSON.stringify(payload), { msgID: c.eventId });
        }),
      );
      acks.forEach((ack, i) => {
        const change = window[i];
        if (ack.status === 'rejected') {
          error ??= (ack.reason as Error).message;
          return;
        }
        count++;
        if (ack.value.duplicate) duplicates++;
        else lastStreamSequence = Math.max(lastStreamSequence ?? 0, ack.value.seq);
        // A zeroed row is gone from the table: once its zero is stored, forget it.
        if (change.gone) this.known.delete(change.key);
        else this.known.set(change.key, { onHand: change.row.onHand, version: change.row.version });
      });
    }
    this.status.changesSent += count;
    this.status.duplicatesDropped += duplicates;
    return { count, duplicates, lastStreamSequence, error };
  }

  private failed(at: number, failure: PollFailure, message: string, changesSent: number, lastStreamSequence: number | null): PollOutcome {
    if (failure !== 'POLL_IN_PROGRESS' && failure !== 'STOPPED') {
      this.status.errors++;
      this.status.consecutiveErrors++;
      this.status.lastError = { failure, message, at };
      this.log.error({ source: this.config.source, failure, err: message }, 'inventory poll failed');
    }
    return { ok: false, at, failure, message, changesSent, lastStreamSequence };
  }
}
