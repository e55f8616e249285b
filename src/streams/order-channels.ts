// Which adapter each order channel uses and how strictly each account is validated. One
// channel's quirks (SKU-less Shopify lines, Square SKUs kept in metadata, a marketplace in one
// currency) are settings of that channel or account, so they never reject another's orders.
//
// Validated once at start-up with ajv, unknown keys rejected by name, then frozen. Settings apply
// in three layers: built-in defaults, the channel's `settings`, an account's entry in `accounts`.

import { Ajv } from 'ajv';
import { QUANTITY_MAX } from '../config-error.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { ADAPTER_NAMES, REQUIRABLE_FIELDS, SQUARE_SKU_SOURCES, type AccountSettings, type AdapterName } from './adapters/types.js';

export const CHANNELS_MAX = 64;
export const ACCOUNTS_PER_CHANNEL_MAX = 10_000;
/** The hard ceiling of linesPerOrderMax: the canonical schema's own maxItems. */
export const LINES_PER_ORDER_MAX_CEILING = 1000;

export const DEFAULT_ACCOUNT_SETTINGS: AccountSettings = Object.freeze({
  linesPerOrderMax: 100,
  quantityPerLineMax: 1000,
  currenciesAllowed: null,
  requiredFields: Object.freeze([]) as readonly [],
  skipLinesWithoutSku: false,
  vipTags: Object.freeze(['VIP']),
  preOrderTags: Object.freeze(['preorder']),
  skuSource: 'catalogObjectId',
  skuMetadataKey: 'sku',
});

/** Settings that mean something to one adapter only; set on another channel they are refused by name. */
const ADAPTER_ONLY_SETTINGS: Partial<Record<keyof AccountSettings, AdapterName>> = {
  vipTags: 'shopify',
  preOrderTags: 'shopify',
  skuSource: 'square',
  skuMetadataKey: 'square',
};

export interface ChannelConfig {
  adapter: AdapterName;
  /** 'reject' refuses orders of accounts not listed in `accounts` (ORDER_ACCOUNT_UNKNOWN). */
  unknownAccounts: 'accept' | 'reject';
  settings: AccountSettings;
  accounts: Readonly<Record<string, AccountSettings>>;
}

export type OrderChannelsConfig = Readonly<Record<string, Readonly<ChannelConfig>>>;

/** The channels nats.conf gives a publishing user, each with its natural adapter. */
export const DEFAULT_ORDER_CHANNELS_INPUT = {
  shopify: { adapter: 'shopify' },
  amazon: { adapter: 'amazon' },
  pos: { adapter: 'square' },
  web: { adapter: 'canonical' },
} as const;

const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    linesPerOrderMax: { type: 'integer', minimum: 1, maximum: LINES_PER_ORDER_MAX_CEILING },
    quantityPerLineMax: { type: 'integer', minimum: 1, maximum: QUANTITY_MAX },
    currenciesAllowed: { type: 'array', minItems: 1, maxItems: 200, uniqueItems: true, items: { type: 'string', pattern: '^[A-Z]{3}$' } },
    requiredFields: { type: 'array', uniqueItems: true, items: { enum: [...REQUIRABLE_FIELDS] } },
    skipLinesWithoutSku: { type: 'boolean' },
    vipTags: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 64 } },
    preOrderTags: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 64 } },
    skuSource: { enum: [...SQUARE_SKU_SOURCES] },
    skuMetadataKey: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const schema = {
  type: 'object',
  maxProperties: CHANNELS_MAX,
  // A NATS subject token; `events` is the order flow's own (orders.events.>).
  propertyNames: { pattern: '^[a-z0-9_-]{1,32}$', not: { const: 'events' } },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['adapter'],
    properties: {
      adapter: { enum: [...ADAPTER_NAMES] },
      unknownAccounts: { enum: ['accept', 'reject'] },
      settings: settingsSchema,
      accounts: {
        type: 'object',
        maxProperties: ACCOUNTS_PER_CHANNEL_MAX,
        propertyNames: { minLength: 1, maxLength: 128 },
        additionalProperties: settingsSchema,
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(schema);

export class OrderChannelsConfigError extends Error {
  constructor(message: string) {
    super(`invalid orderChannels configuration: ${message}`);
    this.name = 'OrderChannelsConfigError';
  }
}

type SettingsInput = Partial<Omit<AccountSettings, 'currenciesAllowed'>> & { currenciesAllowed?: string[] };
interface ChannelInput {
  adapter: AdapterName;
  unknownAccounts?: 'accept' | 'reject';
  settings?: SettingsInput;
  accounts?: Record<string, SettingsInput>;
}

function checkAdapterOnly(channel: string, adapter: AdapterName, where: string, settings: SettingsInput | undefined): void {
  for (const key of Object.keys(settings ?? {}) as (keyof AccountSettings)[]) {
    const owner = ADAPTER_ONLY_SETTINGS[key];
    if (owner && owner !== adapter) throw new OrderChannelsConfigError(`/${channel}${where}: "${key}" applies to the ${owner} adapter only, not ${adapter}`);
  }
}

const merge = (base: AccountSettings, over: SettingsInput | undefined): AccountSettings => Object.freeze({ ...base, ...over }) as AccountSettings;

/** Validate, merge the layers, freeze. Throws OrderChannelsConfigError naming the bad key. */
export function buildOrderChannels(input: unknown = DEFAULT_ORDER_CHANNELS_INPUT): OrderChannelsConfig {
  if (!validate(input)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath || '(root)';
      if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'propertyNames') return `${where}: bad name "${(e.params as { propertyName: string }).propertyName}" (channels are 1-32 of a-z 0-9 _ -, not "events")`;
      return `${where}: ${e.message}`;
    });
    throw new OrderChannelsConfigError([...new Set(problems)].join('; '));
  }
  const channels: Record<string, ChannelConfig> = {};
  for (const [name, raw] of Object.entries(input as Record<string, ChannelInput>)) {
    checkAdapterOnly(name, raw.adapter, '/settings', raw.settings);
    const settings = merge(DEFAULT_ACCOUNT_SETTINGS, raw.settings);
    const accounts: Record<string, AccountSettings> = {};
    for (const [account, over] of Object.entries(raw.accounts ?? {})) {
      checkAdapterOnly(name, raw.adapter, `/accounts/${account}`, over);
      accounts[account] = merge(settings, over);
    }
    channels[name] = Object.freeze({ adapter: raw.adapter, unknownAccounts: raw.unknownAccounts ?? 'accept', settings, accounts: Object.freeze(accounts) });
  }
  return Object.freeze(channels);
}

/** The settings for one account of a channel, or why there are none. */
export function accountSettings(channel: Readonly<ChannelConfig>, name: string, account: string): { ok: true; settings: AccountSettings } | { ok: false; error: ErrorBody } {
  const own = Object.hasOwn(channel.accounts, account) ? channel.accounts[account] : undefined;
  if (own) return { ok: true, settings: own };
  if (channel.unknownAccounts === 'reject') return { ok: false, error: errorBody('ORDER_ACCOUNT_UNKNOWN', undefined, { field: 'account', channel: name, account }) };
  return { ok: true, settings: channel.settings };
}
