// Configuration: validated once at start-up, unknown keys rejected by name, then frozen.
// Every limit carries its unit in its name, with `Max` last.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Ajv } from 'ajv';
import { ConfigError, QUANTITY_MAX } from './config-error.js';
import { buildOrdersConfig, type OrdersConfig } from './orders/config.js';
import { buildDemandConfig, demandConfigSchema, type DemandConfig } from './streams/demand.js';
import { buildInventoryPollerConfig, inventoryPollerConfigSchema, type InventoryPollerConfig } from './streams/inventory-poller.js';
import { buildOrderChannels, OrderChannelsConfigError, type OrderChannelsConfig } from './streams/order-channels.js';

export interface DomainLimits {
  quantityMax: number;
  reservationsPerSkuMax: number;
  /** Anti-hoarding: open (PENDING or ACTIVE) reservations one customer may hold on one SKU. */
  reservationsPerCustomerMax: number;
  pendingPerSkuMax: number;
  locationsPerSkuMax: number;
  idempotencyKeysPerSkuMax: number;
  idempotencyTtlMs: number;
  /** Stock event ids remembered per SKU for de-duplication (oldest forgotten first). */
  stockEventIdsPerSkuMax: number;
  holdTtlMsDefault: number;
  holdTtlMsMax: number;
  queueTtlMsDefault: number;
}

export interface ShardConfig {
  /** Commands waiting for one shard (queued plus in flight) before callers get OVERLOADED. */
  mailboxCommandsMax: number;
  /** Commands per cross-thread message; larger batches are split. */
  batchCommandsMax: number;
  /**
   * Turns written but not yet flushed. Each LMDB transaction costs its own fsync, so while this
   * many are on their way to disk, arriving batches wait and then run together as one turn
   * (group commit that adapts to the disk's speed).
   */
  unflushedTurnsMax: number;
  /** Commands merged into one turn from batches that waited for a flush. */
  turnCommandsMax: number;
  /** 'batched' crosses threads once per event-loop turn; 'unbatched' once per command (benchmarks only). */
  crossing: 'batched' | 'unbatched';
  /** Write a checkpoint after this many WAL records (turns) … */
  checkpointWalRecordsMax: number;
  /** … or after this long, whichever comes first. */
  checkpointIntervalMs: number;
  /**
   * Open holds, or remembered idempotency keys, per page of a checkpoint: a SKU with more than
   * this many of either is checkpointed in pages, and only the pages that changed are rewritten
   * (src/actors/checkpoint-pages.ts).
   */
  checkpointPageEntries: number;
  /**
   * A paged SKU with this many pages changed since its last checkpoint is checkpointed on its own
   * in that turn, which bounds how long any checkpoint of it stops the shard.
   */
  checkpointSkuPagesMax: number;
  /**
   * The WAL is also the immutable audit trail of every reservation. Records older than this, and
   * covered by a checkpoint, are pruned (their history goes with them). 0 keeps everything.
   */
  walRetentionMs: number;
  /** WAL records pruned per checkpoint, so one checkpoint never stalls the shard for long. */
  walPruneRecordsPerCheckpointMax: number;
  /** O(reservations) check of reserved == sum(ACTIVE) after every transition (tests turn it on). */
  invariantsFullEveryTransition: boolean;
  /** Restarts of a failed shard before the process gives up. */
  restartsMax: number;
  /**
   * Every SKU with thresholds is evaluated this often even when nothing changes it: time-of-day
   * minimums move with the clock (the scheduled batch check). 0 turns the check off.
   */
  thresholdCheckIntervalMs: number;
  /** SKUs evaluated per turn of that check, so a large catalogue never stalls the shard. */
  thresholdCheckSkusPerTurnMax: number;
  /** Unconfirmed alert notices handed to the publisher at once (at start and on request). */
  outboxResendMax: number;
  /**
   * Stock-over-time series kept in memory for the dashboard and drop-percent alerts: SKUs per
   * shard, points per SKU, points per shard, spacing (stock-series.ts).
   */
  stockSeriesSkusMax: number;
  stockSeriesPointsMax: number;
  stockSeriesPointsTotalMax: number;
  stockSeriesIntervalMs: number;
  /**
   * The young generation of each shard worker's heap (Worker `resourceLimits.maxYoungGenerationSizeMb`;
   * V8 gives each of its two semi-spaces a third). Larger makes recovery faster — its reservations
   * live a little longer than the default young generation is wide, and hundreds of scavenges
   * copied them — but each live scavenge longer: measured on 2 cores, 96 recovered 36 % faster
   * with one shard and 7 % with two, and gave a higher WebSocket p99 at a quarter of peak
   * (docs/benchmarks.md, "Recovery").
   * The default is V8's own for a worker.
   */
  youngGenerationMb: number;
  /**
   * Free space the data directory's filesystem must have for the shards to start, in MiB; 0
   * turns the check off. Opening a new LMDB environment on a full disk crashed the process inside
   * lmdb-js in our tests, so a start refuses first, and says so (docs/operations.md).
   */
  dataDirFreeMbMin: number;
}

export interface HttpConfig {
  host: string;
  port: number;
  /** Largest request body accepted. */
  bodyBytesMax: number;
}

export type Scope = 'reserve' | 'read' | 'admin';

export interface ApiKeyConfig {
  /** Shown in logs and metrics instead of the key. */
  id: string;
  /** sha256 of the key, hex: configuration never holds the key itself. */
  sha256: string;
  /** The sales channel the key acts for; null for back-office keys. */
  channel: string | null;
  scopes: Scope[];
}

export interface GatewayConfig {
  /** Larger frames are answered FRAME_TOO_LARGE and dropped; the connection stays. */
  frameBytesMax: number;
  /** Frames larger than this drop the connection before they are read (the client sees 1006). */
  frameBytesHardMax: number;
  /** No traffic for this long closes the connection; pings are sent before that. */
  idleTimeoutSeconds: number;
  /** A client that stops reading is disconnected once this much is buffered for it. */
  backpressureBytesMax: number;
  inFlightPerConnectionMax: number;
  subscriptionsPerConnectionMax: number;
  cartLinesMax: number;
  /** Token bucket per API key: sustained rate and burst size. */
  requestsPerSecondPerKey: number;
  requestBurstPerKey: number;
}

export interface NatsConfig {
  /** Off by default so the engine runs alone (tests, tools); config/development.json turns it on. */
  enabled: boolean;
  servers: string[];
  user: string;
  password: string;
  /** How long JetStream waits for an ack before redelivering; held messages get in-progress acks (streams/in-progress.ts). */
  ackWaitMs: number;
  /** Deliveries of one message before it goes to the dead-letter stream. */
  maxDeliver: number;
  /** Stock events being applied at once (JetStream max_ack_pending). */
  inFlightMax: number;
  /** JetStream drops a re-published Nats-Msg-Id within this window. */
  duplicateWindowMs: number;
  streamMaxAgeMs: number;
  streamMaxBytes: number;
}

/** Where the notifier's HTTP API is, for the gateway's alert acknowledgement and history routes. */
export interface NotifierLinkConfig {
  /** e.g. http://127.0.0.1:8090; null: those routes answer NOTIFIER_UNAVAILABLE. */
  url: string | null;
  /** The notifier's http.adminToken. Never logged. */
  adminToken: string;
  /** Longest wait for the notifier's answer. */
  timeoutMs: number;
}

export interface StockadeConfig {
  dataDir: string;
  shards: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  http: HttpConfig;
  gateway: GatewayConfig;
  apiKeys: ApiKeyConfig[];
  nats: NatsConfig;
  shard: ShardConfig;
  limits: DomainLimits;
  notifier: NotifierLinkConfig;
  /** Demand windows (sales velocity, high demand, lead-time exhaustion): src/streams/demand.ts. */
  demand: DemandConfig;
  /** The inventory-database poller (src/streams/inventory-poller.ts); null: not run. */
  inventoryPoller: InventoryPollerConfig | null;
  /** Sales channels whose orders arrive on orders.<channel>.created: adapter and per-account rules. */
  orderChannels: OrderChannelsConfig;
  /** The order flow: out-of-stock policies, pre-orders, reminders (src/orders/config.ts). */
  orders: OrdersConfig;
}

export const HOLD_TTL_MS_DEFAULT = 10 * 60_000;
export const HOLD_TTL_MS_MAX = 24 * 60 * 60_000;
export const QUEUE_TTL_MS_DEFAULT = 5 * 60_000;
export const IDEMPOTENCY_TTL_MS = 60 * 60_000;
export const CHECKPOINT_INTERVAL_MS = 30_000;
export const THRESHOLD_CHECK_INTERVAL_MS = 60_000;

export const DEFAULT_LIMITS: DomainLimits = Object.freeze({
  quantityMax: QUANTITY_MAX,
  reservationsPerSkuMax: 1_000_000,
  reservationsPerCustomerMax: 10,
  pendingPerSkuMax: 100_000,
  locationsPerSkuMax: 64,
  idempotencyKeysPerSkuMax: 1_000_000,
  idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
  stockEventIdsPerSkuMax: 10_000,
  holdTtlMsDefault: HOLD_TTL_MS_DEFAULT,
  holdTtlMsMax: HOLD_TTL_MS_MAX,
  queueTtlMsDefault: QUEUE_TTL_MS_DEFAULT,
});

export const DEFAULT_SHARD_CONFIG: ShardConfig = Object.freeze({
  mailboxCommandsMax: 200_000,
  batchCommandsMax: 4096,
  unflushedTurnsMax: 2,
  turnCommandsMax: 16_384,
  crossing: 'batched',
  checkpointWalRecordsMax: 50_000,
  checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
  checkpointPageEntries: 4096,
  checkpointSkuPagesMax: 4,
  walRetentionMs: 0,
  walPruneRecordsPerCheckpointMax: 100_000,
  invariantsFullEveryTransition: false,
  restartsMax: 5,
  thresholdCheckIntervalMs: THRESHOLD_CHECK_INTERVAL_MS,
  thresholdCheckSkusPerTurnMax: 2_000,
  outboxResendMax: 10_000,
  // About 140 B per SKU with one point and 40–60 B per further point: at most some 15 MB of SKUs
  // and 80–120 MB of points per shard.
  stockSeriesSkusMax: 100_000,
  stockSeriesPointsMax: 360,
  stockSeriesPointsTotalMax: 2_000_000,
  stockSeriesIntervalMs: 10_000,
  youngGenerationMb: 48,
  dataDirFreeMbMin: 16,
});

export const DEFAULT_GATEWAY: GatewayConfig = Object.freeze({
  frameBytesMax: 16 * 1024,
  frameBytesHardMax: 256 * 1024,
  idleTimeoutSeconds: 60,
  backpressureBytesMax: 1024 * 1024,
  inFlightPerConnectionMax: 1024,
  subscriptionsPerConnectionMax: 256,
  cartLinesMax: 50,
  requestsPerSecondPerKey: 200_000,
  requestBurstPerKey: 400_000,
});

export const DEFAULT_NATS: NatsConfig = Object.freeze({
  enabled: false,
  servers: ['127.0.0.1:4222'],
  user: 'stockade',
  password: 'stockade-dev-password',
  ackWaitMs: 30_000,
  maxDeliver: 5,
  inFlightMax: 10_000,
  duplicateWindowMs: 2 * 60_000,
  streamMaxAgeMs: 7 * 24 * 60 * 60_000,
  streamMaxBytes: 1024 * 1024 * 1024,
});

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataDir: { type: 'string', minLength: 1, description: 'Where the shards keep their LMDB environments (one per shard) and the order flow its own.' },
    shards: { type: 'integer', minimum: 1, maximum: 256, description: 'Worker-thread shards; default the machine\'s cores. Fixed once data exists (SKUs are placed by hash modulo this).' },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'pino log level.' },
    http: {
      description: 'The gateway\'s HTTP listener.',
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1, description: 'Address the gateway listens on.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'HTTP and WebSocket port; 0 picks a free one.' },
        bodyBytesMax: { ...positiveInt, description: 'Largest HTTP request body accepted.' },
      },
    },
    gateway: {
      description: 'WebSocket and request limits.',
      type: 'object',
      additionalProperties: false,
      properties: {
        frameBytesMax: { ...positiveInt, description: 'Larger WebSocket frames are answered FRAME_TOO_LARGE and dropped; the connection stays.' },
        frameBytesHardMax: { ...positiveInt, description: 'Frames larger than this drop the connection before they are read.' },
        idleTimeoutSeconds: { type: 'integer', minimum: 8, maximum: 960, description: 'No traffic for this long closes a WebSocket; pings are sent before that.' },
        backpressureBytesMax: { ...positiveInt, description: 'A client that stops reading is disconnected once this much is buffered for it.' },
        inFlightPerConnectionMax: { ...positiveInt, description: 'Requests in flight per WebSocket connection (IN_FLIGHT_LIMIT past it).' },
        subscriptionsPerConnectionMax: { ...positiveInt, description: 'SKUs one connection may watch (SUBSCRIPTION_LIMIT past it).' },
        cartLinesMax: { type: 'integer', minimum: 1, maximum: 1000, description: 'Lines per cart.' },
        requestsPerSecondPerKey: { ...positiveInt, description: 'Token bucket per API key: sustained rate (RATE_LIMITED past it).' },
        requestBurstPerKey: { ...positiveInt, description: 'Token bucket per API key: burst size.' },
      },
    },
    nats: {
      description: 'NATS JetStream connection and stream limits.',
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', description: 'Run the NATS side (stock events, order intake, alert publishing, poller).' },
        servers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'NATS servers, host:port.' },
        user: { type: 'string', minLength: 1, description: 'NATS user (see nats.conf).' },
        password: { type: 'string', minLength: 1, description: 'NATS password. Never logged.' },
        ackWaitMs: { type: 'integer', minimum: 100, description: 'How long JetStream waits for an ack before redelivering. A message the consumer is still working on gets an in-progress ack every quarter of it, so only a lost consumer causes a redelivery.' },
        maxDeliver: { type: 'integer', minimum: 1, maximum: 100, description: 'Deliveries of one message before it goes to the dead-letter stream.' },
        inFlightMax: { ...positiveInt, description: 'Messages being applied at once per consumer (max_ack_pending).' },
        duplicateWindowMs: { type: 'integer', minimum: 1000, description: 'JetStream drops a re-published Nats-Msg-Id within this window.' },
        streamMaxAgeMs: { ...positiveInt, description: 'Age limit of Stockade\'s streams.' },
        streamMaxBytes: { ...positiveInt, description: 'Size limit of Stockade\'s streams.' },
      },
    },
    demand: { ...demandConfigSchema, description: 'Demand windows: docs/demand-and-poller.md.' },
    inventoryPoller: { ...inventoryPollerConfigSchema, description: 'The inventory-database poller (absent: off): docs/demand-and-poller.md.' },
    // Validated by buildOrderChannels (docs/channel-orders.md), which names the bad key.
    // Validated by buildOrdersConfig, which names the bad key.
    orders: { type: 'object', description: 'The order flow: out-of-stock policy per channel and SKU, holds, pre-order reminders and estimates: docs/orders.md.' },
    orderChannels: { type: 'object', description: 'Sales channels, their adapter and per-account rules: docs/channel-orders.md. Default: shopify, amazon, pos (Square), web (canonical).' },
    notifier: {
      description: 'Where the notifier\'s HTTP API is.',
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { anyOf: [{ type: 'string', pattern: '^https?://[^\\s]+$' }, { type: 'null' }], description: 'The notifier\'s HTTP API (e.g. http://127.0.0.1:8090) for alert acknowledgement and history; null turns those routes off.' },
        adminToken: { type: 'string', description: 'The notifier\'s http.adminToken. Never logged.' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, description: 'Longest wait for the notifier\'s answer.' },
      },
    },
    apiKeys: {
      description: 'API keys: id (shown in logs), sha256 of the key, channel (null for back office), scopes of reserve, read, admin.',
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'sha256', 'channel', 'scopes'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          channel: { anyOf: [{ type: 'string', pattern: '^[A-Za-z0-9._:@/ -]{1,128}$' }, { type: 'null' }] },
          scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['reserve', 'read', 'admin'] } },
        },
      },
    },
    shard: {
      description: 'Shard runtime: mailboxes, batches, checkpoints, WAL retention, restarts, scheduled checks.',
      type: 'object',
      additionalProperties: false,
      properties: {
        mailboxCommandsMax: { ...positiveInt, description: 'Commands waiting for one shard (queued plus in flight) before callers get OVERLOADED.' },
        batchCommandsMax: { type: 'integer', minimum: 1, maximum: 65536, description: 'Commands per cross-thread message and per /v1/batch (BATCH_TOO_LARGE past it).' },
        unflushedTurnsMax: { type: 'integer', minimum: 1, maximum: 64, description: 'Turns on their way to disk at once; batches arriving meanwhile wait and run together as one turn (one fsync).' },
        turnCommandsMax: { type: 'integer', minimum: 1, maximum: 1_048_576, description: 'Commands merged into one turn from batches that waited for a flush.' },
        crossing: { enum: ['batched', 'unbatched'], description: '\'batched\' crosses threads once per event-loop turn; \'unbatched\' once per command (benchmarks only).' },
        checkpointWalRecordsMax: { ...positiveInt, description: 'Write a checkpoint after this many WAL records …' },
        checkpointIntervalMs: { ...positiveInt, description: '… or after this long, whichever comes first.' },
        checkpointPageEntries: { type: 'integer', minimum: 1, maximum: 1_048_576, description: 'Open holds or remembered idempotency keys per page of a checkpoint: a SKU with more of either is checkpointed in pages, and only changed pages are rewritten.' },
        checkpointSkuPagesMax: { type: 'integer', minimum: 1, maximum: 1_048_576, description: 'A paged SKU with this many pages changed since its last checkpoint is checkpointed on its own in that turn (bounds how long a checkpoint of it stops the shard).' },
        walRetentionMs: { ...nonNegativeInt, description: 'WAL records older than this and covered by a checkpoint are pruned (with their part of the audit trail); 0 keeps everything.' },
        walPruneRecordsPerCheckpointMax: { ...positiveInt, description: 'WAL records pruned per checkpoint, so one checkpoint never stalls the shard for long.' },
        invariantsFullEveryTransition: { type: 'boolean', description: 'O(reservations) invariant check after every transition (tests turn it on).' },
        restartsMax: { ...nonNegativeInt, description: 'Restarts of a failed shard before the process gives up on it.' },
        thresholdCheckIntervalMs: { ...nonNegativeInt, description: 'The scheduled batch check: every SKU with thresholds is re-evaluated this often (time-of-day minimums); 0 turns it off.' },
        thresholdCheckSkusPerTurnMax: { ...positiveInt, description: 'SKUs evaluated per turn of that check.' },
        outboxResendMax: { ...positiveInt, description: 'Unconfirmed alert notices handed to the publisher at once (at start and on request).' },
        stockSeriesSkusMax: { ...positiveInt, description: 'SKUs per shard whose stock-over-time series is kept in memory (when over this or stockSeriesPointsTotalMax, the SKUs least recently given a point are forgotten).' },
        stockSeriesPointsMax: { type: 'integer', minimum: 2, maximum: 100_000, description: 'Points per SKU in that series.' },
        stockSeriesPointsTotalMax: { ...positiveInt, description: 'Points per shard in that series, every SKU\'s together (at least stockSeriesPointsMax).' },
        stockSeriesIntervalMs: { type: 'integer', minimum: 100, description: 'At most one point per SKU per this interval (a later change replaces it).' },
        youngGenerationMb: { type: 'integer', minimum: 8, maximum: 1024, description: 'Young generation of each shard worker\'s heap, in MiB (each of V8\'s two semi-spaces gets a third). Larger: faster recovery, longer pauses while serving (docs/operations.md). 48 is V8\'s own default for a worker.' },
        dataDirFreeMbMin: { ...nonNegativeInt, description: 'Free space the data directory\'s filesystem must have for the shards to start, in MiB; 0 turns the check off. Below it the start is refused (a new LMDB environment on a full disk crashes lmdb-js).' },
      },
    },
    limits: {
      description: 'Domain limits of every SKU.',
      type: 'object',
      additionalProperties: false,
      properties: {
        quantityMax: { ...positiveInt, description: 'Largest quantity of a reservation or stock count.' },
        reservationsPerSkuMax: { ...positiveInt, description: 'Open reservations per SKU (RESERVATIONS_PER_SKU_LIMIT past it).' },
        reservationsPerCustomerMax: { ...positiveInt, description: 'Anti-hoarding: open reservations one customer may hold on one SKU (CUSTOMER_RESERVATION_LIMIT).' },
        pendingPerSkuMax: { ...positiveInt, description: 'Waiting (PENDING) requests per SKU (PENDING_QUEUE_FULL).' },
        locationsPerSkuMax: { ...positiveInt, description: 'Locations per SKU (LOCATIONS_PER_SKU_LIMIT).' },
        idempotencyKeysPerSkuMax: { ...positiveInt, description: 'Idempotency keys remembered per SKU; at the cap the oldest 1/64 of it are forgotten at once.' },
        idempotencyTtlMs: { ...positiveInt, description: 'How long an idempotency key is remembered at least.' },
        stockEventIdsPerSkuMax: { ...positiveInt, description: 'Stock event ids remembered per SKU for de-duplication; past it the oldest 1/64 are forgotten at once.' },
        holdTtlMsDefault: { ...positiveInt, description: 'A hold\'s lifetime when the reserve names none.' },
        holdTtlMsMax: { ...positiveInt, description: 'Longest hold a reserve may ask for.' },
        queueTtlMsDefault: { ...positiveInt, description: 'How long a PENDING request waits when the reserve names no queueTtlMs.' },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

export { ConfigError, QUANTITY_MAX };

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Merge overrides onto the defaults, validate, freeze. Throws ConfigError naming the bad key. */
export function buildConfig(overrides: unknown = {}): Readonly<StockadeConfig> {
  if (!validateConfig(overrides)) {
    const problems = (validateConfig.errors ?? []).map((e) => {
      const where = e.instancePath || '(root)';
      if (e.keyword === 'additionalProperties') {
        return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      }
      return `${where}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const o = overrides as Partial<StockadeConfig> & {
    http?: Partial<HttpConfig>;
    gateway?: Partial<GatewayConfig>;
    nats?: Partial<NatsConfig>;
    shard?: Partial<ShardConfig>;
    limits?: Partial<DomainLimits>;
    notifier?: Partial<NotifierLinkConfig>;
    demand?: unknown;
    inventoryPoller?: unknown;
    orderChannels?: unknown;
    orders?: unknown;
  };
  const config: StockadeConfig = {
    dataDir: o.dataDir ?? './data',
    shards: o.shards ?? availableParallelism(),
    logLevel: o.logLevel ?? 'info',
    http: { host: '127.0.0.1', port: 8080, bodyBytesMax: 64 * 1024, ...o.http },
    gateway: { ...DEFAULT_GATEWAY, ...o.gateway },
    apiKeys: o.apiKeys ?? [],
    nats: { ...DEFAULT_NATS, ...o.nats },
    shard: { ...DEFAULT_SHARD_CONFIG, ...o.shard },
    limits: { ...DEFAULT_LIMITS, ...o.limits },
    notifier: { url: null, adminToken: '', timeoutMs: 5000, ...o.notifier },
    demand: buildDemandConfig(o.demand ?? {}),
    inventoryPoller: o.inventoryPoller === undefined ? null : buildInventoryPollerConfig(o.inventoryPoller),
    orderChannels: orderChannelsOf(o.orderChannels),
    orders: buildOrdersConfig(o.orders ?? {}),
  };
  if (config.gateway.frameBytesMax > config.gateway.frameBytesHardMax) {
    throw new ConfigError('invalid configuration: /gateway: frameBytesMax exceeds frameBytesHardMax');
  }
  if (new Set(config.apiKeys.map((k) => k.sha256)).size !== config.apiKeys.length) {
    throw new ConfigError('invalid configuration: /apiKeys: two keys share one sha256');
  }
  if (config.shard.walRetentionMs > 0 && config.shard.walRetentionMs < config.limits.idempotencyTtlMs) {
    // A retried call's first answer is read from the WAL: it must outlive the idempotency key.
    throw new ConfigError('invalid configuration: /shard/walRetentionMs: must be 0 (keep all) or at least limits.idempotencyTtlMs');
  }
  if (config.shard.stockSeriesPointsTotalMax < config.shard.stockSeriesPointsMax) {
    // Otherwise a SKU's own points could push it out of the series as they are recorded.
    throw new ConfigError('invalid configuration: /shard: stockSeriesPointsTotalMax is below stockSeriesPointsMax');
  }
  if (config.limits.holdTtlMsDefault > config.limits.holdTtlMsMax) {
    throw new ConfigError('invalid configuration: /limits: holdTtlMsDefault exceeds holdTtlMsMax');
  }
  return deepFreeze(config);
}

function orderChannelsOf(input: unknown): OrderChannelsConfig {
  try {
    return input === undefined ? buildOrderChannels() : buildOrderChannels(input);
  } catch (err) {
    if (err instanceof OrderChannelsConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/**
 * Configuration for the process: an optional JSON file (--config, else STOCKADE_CONFIG), then a few
 * environment overrides that operators reach for most.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = env.STOCKADE_CONFIG): Readonly<StockadeConfig> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  if (env.STOCKADE_DATA_DIR) merged.dataDir = env.STOCKADE_DATA_DIR;
  if (env.STOCKADE_SHARDS) merged.shards = parseIntStrict('STOCKADE_SHARDS', env.STOCKADE_SHARDS);
  if (env.STOCKADE_LOG_LEVEL) merged.logLevel = env.STOCKADE_LOG_LEVEL;
  if (env.STOCKADE_NATS_SERVERS || env.STOCKADE_NATS_PASSWORD) {
    const nats = { ...(fromFile.nats as Record<string, unknown> | undefined) };
    if (env.STOCKADE_NATS_SERVERS) nats.servers = env.STOCKADE_NATS_SERVERS.split(',');
    if (env.STOCKADE_NATS_PASSWORD) nats.password = env.STOCKADE_NATS_PASSWORD;
    merged.nats = nats;
  }
  if (env.STOCKADE_HTTP_PORT || env.STOCKADE_HTTP_HOST) {
    const http = { ...(fromFile.http as Record<string, unknown> | undefined) };
    if (env.STOCKADE_HTTP_PORT) http.port = parseIntStrict('STOCKADE_HTTP_PORT', env.STOCKADE_HTTP_PORT);
    if (env.STOCKADE_HTTP_HOST) http.host = env.STOCKADE_HTTP_HOST;
    merged.http = http;
  }
  return buildConfig(merged);
}

function parseIntStrict(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`invalid configuration: ${name} must be a whole number, got "${text}"`);
  return Number(text);
}
