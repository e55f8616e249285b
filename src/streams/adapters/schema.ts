// The canonical order's JSON Schema (docs/schemas/canonical-order.schema.json), compiled once, and
// the last step every adapter's output goes through: the account's own rules, then the schema.
// An adapter can therefore never hand the order flow an order the published schema refuses.

import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import type { CanonicalOrder } from '../../orders/canonical.js';
import { projectFile } from '../../paths.js';
import { fail } from './fields.js';
import type { AccountSettings, DraftOrder } from './types.js';

export const CANONICAL_ORDER_SCHEMA_FILE = 'docs/schemas/canonical-order.schema.json';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

const ajv = new Ajv2020({ allErrors: false, strict: true, allowUnionTypes: true });
// No ajv-formats in the dependencies: the one format the schema uses is defined here.
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339_UTC.test(s) && !Number.isNaN(Date.parse(s)) });
export const canonicalOrderSchema = JSON.parse(readFileSync(projectFile(CANONICAL_ORDER_SCHEMA_FILE), 'utf8')) as Record<string, unknown>;
const validateCanonical = ajv.compile<CanonicalOrder>(canonicalOrderSchema);

/** "/lines/0/quantity" → "lines[0].quantity"; an unknown key is named with its parent. */
export function fieldOf(e: ErrorObject): string {
  let path = e.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') path = path ? `${path}.${(e.params as { additionalProperty: string }).additionalProperty}` : (e.params as { additionalProperty: string }).additionalProperty;
  if (e.keyword === 'required') path = path ? `${path}.${(e.params as { missingProperty: string }).missingProperty}` : (e.params as { missingProperty: string }).missingProperty;
  return path || '(root)';
}

/** Throws FieldError (VALIDATION_FAILED) naming the first field the schema refuses. */
export function assertCanonical(value: unknown): asserts value is CanonicalOrder {
  if (validateCanonical(value)) return;
  const e = validateCanonical.errors![0];
  const reason = e.keyword === 'additionalProperties' ? 'unknown field' : e.keyword === 'required' ? 'missing' : (e.message ?? 'invalid');
  fail('VALIDATION_FAILED', fieldOf(e), reason);
}

const readRequired: Record<AccountSettings['requiredFields'][number], (o: CanonicalOrder) => unknown> = {
  'customer.email': (o) => o.customer.email,
  'customer.name': (o) => o.customer.name,
  currency: (o) => o.currency,
  totalMinor: (o) => o.totalMinor,
  shippingAddress: (o) => o.shippingAddress,
  'payment.authorizationId': (o) => o.payment.authorizationId,
};

/** Apply the account's rules to an adapter's draft, then the schema; the result is placeable. */
export function finishOrder(draft: DraftOrder, settings: AccountSettings): CanonicalOrder {
  const lines: CanonicalOrder['lines'] = [];
  const lineIds = new Set<string>();
  for (const line of draft.lines) {
    if (line.sku === null) {
      if (settings.skipLinesWithoutSku) continue;
      fail('ORDER_LINE_WITHOUT_SKU', `${line.path}.sku`, 'the line has no SKU');
    }
    if (lineIds.has(line.lineId)) fail('VALIDATION_FAILED', line.path, `line id "${line.lineId}" appears twice`);
    lineIds.add(line.lineId);
    lines.push({ lineId: line.lineId, sku: line.sku, quantity: line.quantity, unitPriceMinor: line.unitPriceMinor, title: line.title });
  }
  if (lines.length === 0) fail('ORDER_WITHOUT_LINES', 'lines', 'no line with a SKU');
  const order: CanonicalOrder = { ...draft, lines };
  // The schema first: the account's rules below read fields whose shape it guarantees.
  assertCanonical(order);
  for (const field of settings.requiredFields) {
    if (readRequired[field](order) === null) fail('VALIDATION_FAILED', field, 'required by the account');
  }
  if (settings.currenciesAllowed && (order.currency === null || !settings.currenciesAllowed.includes(order.currency))) {
    fail('ORDER_CURRENCY_NOT_ALLOWED', 'currency', `${order.currency ?? 'none'} is not one of ${settings.currenciesAllowed.join(', ')}`);
  }
  return order;
}
