// Readers for native payload fields. Each one names the field it read in the error it raises, so
// a dead letter says exactly what was wrong ("line_items[2].quantity"), and each kind of fault has
// its own stable code. They throw FieldError; adaptOrder turns it into an answer, so adapters read
// as straight-line mappings.

import { errorBody, type ErrorBody, type ErrorCode } from '../../errors.js';
import { QUANTITY_MAX } from '../../config-error.js';
import { SKU_PATTERN } from '../../actors/validate.js';

export class FieldError extends Error {
  readonly body: ErrorBody;
  constructor(code: ErrorCode, field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.body = errorBody(code, undefined, { field, reason });
  }
}

export function fail(code: ErrorCode, field: string, reason: string): never {
  throw new FieldError(code, field, reason);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function object(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) fail('VALIDATION_FAILED', field, 'must be an object');
  return v;
}

export function optionalObject(v: unknown, field: string): Record<string, unknown> | null {
  return v === undefined || v === null ? null : object(v, field);
}

export function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail('VALIDATION_FAILED', field, 'must be an array');
  return v;
}

/** Strings the canonical model keeps are bounded; longer ones are refused, never cut. */
export const TEXT_CHARS_MAX = 512;

export function text(v: unknown, field: string, charsMax = TEXT_CHARS_MAX): string {
  if (typeof v !== 'string' || v.length === 0) fail('VALIDATION_FAILED', field, 'must be a non-empty string');
  if (v.length > charsMax) fail('VALIDATION_FAILED', field, `longer than ${charsMax} characters`);
  return v;
}

/** An optional string: absent, null and "" all read as null. */
export function optionalText(v: unknown, field: string, charsMax = TEXT_CHARS_MAX): string | null {
  if (v === undefined || v === null || v === '') return null;
  return text(v, field, charsMax);
}

export function boolean(v: unknown, field: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail('VALIDATION_FAILED', field, 'must be true or false');
  return v;
}

/** An id the channel sends as a number (Shopify) or a string (the others); kept as a string. */
export function id(v: unknown, field: string): string {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) fail('VALIDATION_FAILED', field, 'must be a non-negative whole number or a string');
    return String(v);
  }
  return text(v, field, 128);
}

export function optionalId(v: unknown, field: string): string | null {
  return v === undefined || v === null || v === '' ? null : id(v, field);
}

/** A line quantity: a positive whole number up to the account's limit (strings only where the channel sends strings). */
export function quantity(v: unknown, field: string, quantityPerLineMax: number, fromString = false): number {
  let n: number;
  if (fromString) {
    if (typeof v !== 'string' || !/^-?\d+(\.\d+)?$/.test(v)) fail('VALIDATION_FAILED', field, 'must be a decimal string');
    n = Number(v);
  } else {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail('VALIDATION_FAILED', field, 'must be a number');
    n = v;
  }
  if (!Number.isInteger(n)) fail('INVALID_QUANTITY', field, 'must be a whole number');
  if (n < 1) fail('INVALID_QUANTITY', field, 'must be at least 1');
  const max = Math.min(quantityPerLineMax, QUANTITY_MAX);
  if (n > max) fail('INVALID_QUANTITY', field, `exceeds quantityPerLineMax ${max}`);
  return n;
}

const SKU_RE = new RegExp(SKU_PATTERN);

/** A SKU, or null when the line has none (the account decides whether that is an error). */
export function sku(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') fail('VALIDATION_FAILED', field, 'must be a string');
  if (!SKU_RE.test(v)) fail('INVALID_SKU', field, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
  return v;
}

const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

export function currency(v: unknown, field: string): string {
  if (typeof v !== 'string') fail('VALIDATION_FAILED', field, 'must be a string');
  if (!/^[A-Z]{3}$/.test(v) || !CURRENCIES.has(v)) fail('ORDER_CURRENCY_INVALID', field, `"${v.slice(0, 16)}" is not an ISO 4217 code`);
  return v;
}

/** Per currency; bounded by the ICU currency list (CURRENCIES, about 300). */
const minorDigitsByCurrency = new Map<string, number>();

/**
 * Decimal places of a currency's minor unit (USD 2, JPY 0, KWD 3), from the runtime's ICU data.
 * Cached: building an Intl.NumberFormat took ~130 µs, most of a Shopify order's adaptation
 * (393 µs/order uncached on the fixture, measured).
 */
export function minorDigits(code: string): number {
  let digits = minorDigitsByCurrency.get(code);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    if (CURRENCIES.has(code)) minorDigitsByCurrency.set(code, digits);
  }
  return digits;
}

/** "19.99" in USD → 1999. Exact: decimal strings never pass through a float's fraction. */
export function decimalToMinor(v: unknown, code: string, field: string): number {
  if (typeof v !== 'string' || !/^\d{1,15}(\.\d{1,6})?$/.test(v)) fail('VALIDATION_FAILED', field, 'must be a non-negative decimal string such as "19.99"');
  const digits = minorDigits(code);
  const [whole, fraction = ''] = v.split('.');
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > digits) fail('ORDER_CURRENCY_INVALID', field, `${code} has ${digits} decimals`);
  const minor = Number(whole) * 10 ** digits + Number(significant.padEnd(digits, '0') || '0');
  if (!Number.isSafeInteger(minor)) fail('VALIDATION_FAILED', field, 'amount too large');
  return minor;
}

/** A whole amount already in minor units (Square's Money.amount). */
export function minorAmount(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail('VALIDATION_FAILED', field, 'must be a non-negative whole number of minor units');
  return v;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** An RFC 3339 time with its offset, normalised to UTC ("2026-11-23T10:30:00.000Z"). */
export function timestamp(v: unknown, field: string): string {
  if (typeof v !== 'string' || !RFC3339.test(v)) fail('VALIDATION_FAILED', field, 'must be an RFC 3339 time with an offset');
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) fail('VALIDATION_FAILED', field, 'not a real date');
  return new Date(ms).toISOString();
}

/** ISO 3166-1 alpha-2, upper-cased; anything else reads as unknown (null) rather than failing the order. */
export function country(v: unknown): string | null {
  return typeof v === 'string' && /^[A-Za-z]{2}$/.test(v) ? v.toUpperCase() : null;
}
