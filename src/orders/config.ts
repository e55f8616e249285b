// Configuration of the order flow: validated once (ajv, unknown keys rejected by name), frozen.
// Separate from src/config.ts so the order flow can be configured and tested on its own; the
// process passes its `orders` section here (see the report of issue 7 for the wiring).

import { Ajv } from 'ajv';
import { ConfigError } from '../config-error.js';

/** What happens to an order when a line's SKU is out of stock or flagged at placement. */
export type OutOfStockPolicy = 'backorder' | 'cancel' | 'hold';

export interface OrdersConfig {
  /** The SKU's policy wins over the channel's, which wins over the default. */
  outOfStockPolicy: {
    default: OutOfStockPolicy;
    byChannel: Record<string, OutOfStockPolicy>;
    bySku: Record<string, OutOfStockPolicy>;
  };
  /** Pre-order reminders this many days before the expected date (e.g. 30 and 7). */
  reminderDaysBefore: number[];
  /** How often the reminder check runs. */
  reminderCheckIntervalMs: number;
  /** A customer's pre-orders expected within this many days of each other ship together. */
  mergeWindowDays: number;
  /** Shipping time after stock is in, for the delivery window. */
  shippingDaysMin: number;
  shippingDaysMax: number;
  /** Supplier lead time assumed for a backordered SKU with no schedule of its own. */
  backorderLeadTimeDaysDefault: number;
  /** Stock hold of an order's reservations while payment is authorised, not captured. */
  reservationHoldTtlMs: number;
  /** Orders not SHIPPED or CANCELLED, kept in memory; placements beyond it answer ORDER_LIMIT. */
  openOrdersMax: number;
  /** Backorders and pre-orders waiting on one SKU. */
  queuedOrdersPerSkuMax: number;
  /** SKUs with order-flow settings (pre-order, substitutes). */
  skuSettingsMax: number;
  substitutesPerSkuMax: number;
  /** Production-schedule entries per SKU. */
  scheduleEntriesPerSkuMax: number;
  /** Events written but not yet confirmed by JetStream; changes beyond it answer ORDER_LIMIT. */
  outboxEventsMax: number;
  /** How long after a failed publish the outbox is tried again. */
  outboxRetryIntervalMs: number;
  /** Orders whose reservations are placed or released at once by one call. */
  linesPerOrderMax: number;
  /** Target for the availability-date estimate error (the brief asks under 5 %). */
  accuracyTargetPercent: number;
}

export const DAY_MS = 24 * 60 * 60_000;

export const DEFAULT_ORDERS_CONFIG: OrdersConfig = {
  outOfStockPolicy: { default: 'hold', byChannel: {}, bySku: {} },
  reminderDaysBefore: [30, 7],
  reminderCheckIntervalMs: 60 * 60_000,
  mergeWindowDays: 3,
  shippingDaysMin: 2,
  shippingDaysMax: 5,
  backorderLeadTimeDaysDefault: 14,
  reservationHoldTtlMs: 24 * 60 * 60_000,
  openOrdersMax: 1_000_000,
  queuedOrdersPerSkuMax: 100_000,
  skuSettingsMax: 1_000_000,
  substitutesPerSkuMax: 16,
  scheduleEntriesPerSkuMax: 64,
  outboxEventsMax: 1_000_000,
  outboxRetryIntervalMs: 1000,
  linesPerOrderMax: 200,
  accuracyTargetPercent: 5,
};

const policy = { enum: ['backorder', 'cancel', 'hold'] } as const;
const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    outOfStockPolicy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        default: policy,
        byChannel: { type: 'object', additionalProperties: policy },
        bySku: { type: 'object', additionalProperties: policy },
      },
    },
    reminderDaysBefore: { type: 'array', maxItems: 16, uniqueItems: true, items: positiveInt },
    reminderCheckIntervalMs: { type: 'integer', minimum: 1000 },
    mergeWindowDays: nonNegativeInt,
    shippingDaysMin: nonNegativeInt,
    shippingDaysMax: nonNegativeInt,
    backorderLeadTimeDaysDefault: nonNegativeInt,
    reservationHoldTtlMs: { type: 'integer', minimum: 1000 },
    openOrdersMax: positiveInt,
    queuedOrdersPerSkuMax: positiveInt,
    skuSettingsMax: positiveInt,
    substitutesPerSkuMax: { type: 'integer', minimum: 0, maximum: 256 },
    scheduleEntriesPerSkuMax: { type: 'integer', minimum: 1, maximum: 10_000 },
    outboxEventsMax: positiveInt,
    outboxRetryIntervalMs: { type: 'integer', minimum: 10 },
    linesPerOrderMax: { type: 'integer', minimum: 1, maximum: 1000 },
    accuracyTargetPercent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Merge overrides onto the defaults, validate, freeze. Throws ConfigError naming the bad key. */
export function buildOrdersConfig(overrides: unknown = {}): Readonly<OrdersConfig> {
  if (!validate(overrides)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = `/orders${e.instancePath}`;
      if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      return `${where}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const o = overrides as Partial<OrdersConfig> & { outOfStockPolicy?: Partial<OrdersConfig['outOfStockPolicy']> };
  const config: OrdersConfig = {
    ...DEFAULT_ORDERS_CONFIG,
    ...o,
    outOfStockPolicy: { ...DEFAULT_ORDERS_CONFIG.outOfStockPolicy, ...o.outOfStockPolicy },
    reminderDaysBefore: [...(o.reminderDaysBefore ?? DEFAULT_ORDERS_CONFIG.reminderDaysBefore)].sort((a, b) => b - a),
  };
  if (config.shippingDaysMin > config.shippingDaysMax) {
    throw new ConfigError('invalid configuration: /orders: shippingDaysMin exceeds shippingDaysMax');
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
