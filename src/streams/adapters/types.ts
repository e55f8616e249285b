// What every channel adapter shares: its input (a parsed payload, the subject's channel and the
// message headers), the per-account settings it reads, and its answer. Adapters are pure: no I/O,
// no clock, so each is tested on fixtures alone.

import type { CanonicalOrder } from '../../orders/canonical.js';
import type { ErrorBody } from '../../errors.js';

export const ADAPTER_NAMES = ['shopify', 'amazon', 'square', 'canonical'] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];

/** Canonical fields an account may demand beyond the schema's own (non-null for that account). */
export const REQUIRABLE_FIELDS = ['customer.email', 'customer.name', 'currency', 'totalMinor', 'shippingAddress', 'payment.authorizationId'] as const;
export type RequirableField = (typeof REQUIRABLE_FIELDS)[number];

export const SQUARE_SKU_SOURCES = ['catalogObjectId', 'variationName', 'metadata'] as const;
export type SquareSkuSource = (typeof SQUARE_SKU_SOURCES)[number];

/** One account's validation rules, after the channel's defaults and the account's overrides merged. */
export interface AccountSettings {
  /** Native lines per order, SKU-less ones included: bounds the work one message can cause. */
  linesPerOrderMax: number;
  quantityPerLineMax: number;
  /** ISO 4217 codes accepted; null accepts every valid code. */
  currenciesAllowed: readonly string[] | null;
  requiredFields: readonly RequirableField[];
  /** Drop lines without a SKU (gift cards, tips, custom items) instead of rejecting the order. */
  skipLinesWithoutSku: boolean;
  /** Shopify: customer or order tags (case-insensitive) that make the customer vip. */
  vipTags: readonly string[];
  /** Shopify: order tags (case-insensitive) that mark a pre-order. */
  preOrderTags: readonly string[];
  /** Square: where a line's SKU is read. */
  skuSource: SquareSkuSource;
  /** Square: the line metadata key holding the SKU when skuSource is 'metadata'. */
  skuMetadataKey: string;
}

export interface AdapterInput {
  /** The subject's channel token (orders.<channel>.created). */
  channel: string;
  /** The payload, already parsed from JSON. */
  payload: unknown;
  /** A message header by name, case-insensitively; undefined when absent. */
  header(name: string): string | undefined;
}

/** A line before the account's rules: its SKU may still be missing. */
export interface DraftLine {
  lineId: string;
  sku: string | null;
  quantity: number;
  unitPriceMinor: number | null;
  title: string | null;
  /** The native path of the line, for error details ("line_items[2]"). */
  path: string;
}

export type DraftOrder = Omit<CanonicalOrder, 'lines'> & { lines: DraftLine[] };

export interface ChannelAdapter {
  name: AdapterName;
  /** Where the account comes from, for documentation and error details. */
  accountSource: string;
  /** The account the order belongs to, read before its settings are known. */
  account(input: AdapterInput): string;
  /** Native payload → draft canonical order; throws FieldError on invalid input. */
  toDraft(input: AdapterInput, account: string, settings: AccountSettings): DraftOrder;
}

export type AdaptResult = { ok: true; order: CanonicalOrder } | { ok: false; error: ErrorBody };
