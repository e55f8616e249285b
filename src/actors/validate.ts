// Shape validation of every command, with precompiled ajv schemas, at the shard boundary: commands
// from the gateway, the streams and tests all pass through here before `decide`.
// Each failure maps to the most specific stable code (INVALID_QUANTITY, INVALID_SKU …).

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errorBody, type ErrorBody, type ErrorCode } from '../errors.js';
import type { Command } from './types.js';

export const SKU_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:-]{8,128}$';
export const RESERVATION_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}:[0-9a-z]{1,11}$';
const NAME_PATTERN = '^[A-Za-z0-9._:@/ -]{1,128}$';

const sku = { type: 'string', pattern: SKU_PATTERN } as const;
const location = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;
const name = { type: 'string', pattern: NAME_PATTERN } as const;
const idempotencyKey = { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN } as const;
const reservationId = { type: 'string', pattern: RESERVATION_ID_PATTERN } as const;
const quantity = { type: 'integer', minimum: 1 } as const;
const count = { type: 'integer', minimum: 0 } as const;
const eventId = { type: 'string', minLength: 1, maxLength: 128 } as const;
const reason = { type: 'string', minLength: 1, maxLength: 500 } as const;
/** Reservations one listReservations answer may carry per list. */
const RESERVATIONS_LISTED_MAX = 1000;
const timeOfDay = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;

function command(type: string, properties: Record<string, unknown>, required: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { type: { const: type }, ...properties },
    required: ['type', ...required],
  };
}

const schemas: Record<Command['type'], object> = {
  reserve: command(
    'reserve',
    {
      sku,
      idempotencyKey,
      orderId: name,
      customerId: name,
      channel: name,
      quantity,
      locations: { type: 'array', items: location, minItems: 1, maxItems: 64, uniqueItems: true },
      priority: { type: 'integer', minimum: 0, maximum: 9 },
      allowPartial: { type: 'boolean' },
      queueIfShort: { type: 'boolean' },
      holdTtlMs: { type: 'integer', minimum: 1000 },
      queueTtlMs: { type: 'integer', minimum: 1000, maximum: 7 * 24 * 60 * 60_000 },
    },
    ['sku', 'idempotencyKey', 'orderId', 'customerId', 'channel', 'quantity'],
  ),
  release: command('release', { reservationId, idempotencyKey, reason, asChannel: name }, ['reservationId']),
  commit: command('commit', { reservationId, idempotencyKey, asChannel: name }, ['reservationId']),
  setStock: command(
    'setStock',
    { sku, location, onHand: count, safetyStock: count, eventId, sourceSeq: { type: 'integer', minimum: 0 } },
    ['sku', 'location', 'onHand', 'eventId'],
  ),
  adjustStock: command(
    'adjustStock',
    { sku, location, delta: { type: 'integer', not: { const: 0 } }, eventId },
    ['sku', 'location', 'delta', 'eventId'],
  ),
  defineSku: command(
    'defineSku',
    {
      sku,
      locationOrder: { type: 'array', items: location, maxItems: 256, uniqueItems: true },
      category: name,
      tags: { type: 'array', items: name, maxItems: 32, uniqueItems: true },
    },
    ['sku'],
  ),
  setThresholds: command(
    'setThresholds',
    {
      sku,
      thresholds: {
        type: 'object',
        additionalProperties: false,
        properties: {
          minAvailable: count,
          minAvailableByLocation: { type: 'object', propertyNames: location, additionalProperties: count, maxProperties: 64 },
          minAvailableByTimeOfDay: {
            type: 'array',
            maxItems: 24,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: { from: timeOfDay, to: timeOfDay, minAvailable: count },
              required: ['from', 'to', 'minAvailable'],
            },
          },
          timeZone: { type: 'string', minLength: 1, maxLength: 64 },
          lowPercent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
          referenceLevel: quantity,
          leadTimeDays: { type: 'number', minimum: 0, maximum: 3650 },
          regionByLocation: { type: 'object', propertyNames: location, additionalProperties: name, maxProperties: 256 },
          minAvailableByRegion: { type: 'object', propertyNames: name, additionalProperties: count, maxProperties: 64 },
          hysteresisUnits: { type: 'integer', minimum: 0, maximum: 1_000_000 },
          hysteresisPercent: { type: 'number', minimum: 0, maximum: 100 },
          dropPercent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
          dropWindowMs: { type: 'integer', minimum: 60_000, maximum: 24 * 60 * 60_000 },
        },
        // Depletion by speed needs its window.
        dependencies: { dropPercent: ['dropWindowMs'] },
      },
    },
    ['sku', 'thresholds'],
  ),
  flagOutOfStock: command('flagOutOfStock', { sku, reason, flaggedBy: name }, ['sku', 'reason', 'flaggedBy']),
  unflagOutOfStock: command('unflagOutOfStock', { sku, unflaggedBy: name }, ['sku', 'unflaggedBy']),
  getSku: command('getSku', { sku }, ['sku']),
  getStockSeries: command('getStockSeries', { sku }, ['sku']),
  listReservations: command('listReservations', { sku, limit: { type: 'integer', minimum: 1, maximum: RESERVATIONS_LISTED_MAX } }, ['sku']),
  demandSignal: command(
    'demandSignal',
    {
      sku,
      signal: { enum: ['high_demand', 'lead_time_exhaustion'] },
      on: { type: 'boolean' },
      observed: { type: 'number', minimum: 0 },
      threshold: { type: 'number', minimum: 0 },
    },
    ['sku', 'signal', 'on', 'observed', 'threshold'],
  ),
  reportFulfilmentFailure: command('reportFulfilmentFailure', { sku, location, orderId: name, reason }, ['sku', 'orderId', 'reason']),
  getReservation: command('getReservation', { reservationId, asChannel: name }, ['reservationId']),
  getReservationHistory: command('getReservationHistory', { reservationId, asChannel: name }, ['reservationId']),
};

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = new Map<string, ValidateFunction>(
  Object.entries(schemas).map(([type, schema]) => [type, ajv.compile(schema)]),
);

const FIELD_CODES: Record<string, ErrorCode> = {
  quantity: 'INVALID_QUANTITY',
  onHand: 'INVALID_QUANTITY',
  delta: 'INVALID_QUANTITY',
  safetyStock: 'INVALID_QUANTITY',
  sku: 'INVALID_SKU',
  idempotencyKey: 'INVALID_IDEMPOTENCY_KEY',
  reservationId: 'INVALID_RESERVATION_ID',
};

function codeFor(error: ErrorObject): { code: ErrorCode; field: string } {
  const field =
    error.keyword === 'required'
      ? (error.params as { missingProperty: string }).missingProperty
      : error.instancePath.split('/')[1] ?? '';
  // A missing field is a shape problem; a present-but-bad one gets its field's own code.
  const code = error.keyword === 'required' ? 'VALIDATION_FAILED' : FIELD_CODES[field] ?? 'VALIDATION_FAILED';
  return { code, field };
}

/** null when the command is well formed, else the error to answer with. */
export function validateCommand(input: unknown): ErrorBody | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return errorBody('VALIDATION_FAILED', 'a command is a JSON object');
  }
  const type = (input as { type?: unknown }).type;
  const validate = typeof type === 'string' ? validators.get(type) : undefined;
  if (!validate) return errorBody('VALIDATION_FAILED', 'unknown command type', { type });
  if (validate(input)) return null;
  const first = validate.errors![0];
  const { code, field } = codeFor(first);
  const detail: Record<string, unknown> = { field, problem: first.message };
  if (first.keyword === 'additionalProperties') detail.unknownField = (first.params as { additionalProperty: string }).additionalProperty;
  return errorBody(code, undefined, detail);
}

/** BATCH_TOO_LARGE when a batch holds more than batchCommandsMax commands, else null. */
export function oversizeBatch(count: number, batchCommandsMax: number): ErrorBody | null {
  return count > batchCommandsMax ? errorBody('BATCH_TOO_LARGE', undefined, { commands: count, batchCommandsMax }) : null;
}
