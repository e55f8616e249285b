// Warehouse stock events: subject `wms.stock.<location>.<sku>` (a SKU may contain dots: every
// token after the location is the SKU), JSON payload:
//
//   { "eventId"?: string,            // else the Nats-Msg-Id header, else "<stream>:<sequence>"
//     "onHand"?: integer ≥ 0,        // an absolute count …
//     "delta"?: integer ≠ 0,         // … or a change: exactly one of the two
//     "safetyStock"?: integer ≥ 0,   // with an absolute count only
//     "sourceSeq"?: integer ≥ 0,     // the source's sequence, or
//     "sourceTime"?: ISO-8601,       // its timestamp: an older absolute count never wins
//     "sku"?, "location"?            // optional; must agree with the subject }
//
// Publishers should set Nats-Msg-Id (JetStream then drops a re-publish within the duplicate
// window); the event id also travels with the effect into the WAL, so a redelivery is never
// applied twice.

import { Ajv } from 'ajv';
import type { AdjustStockCommand, SetStockCommand } from '../actors/types.js';
import { SKU_PATTERN } from '../actors/validate.js';
import { errorBody, type ErrorBody } from '../errors.js';

const LOCATION_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
const SUBJECT_PREFIX = 'wms.stock.';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    eventId: { type: 'string', minLength: 1, maxLength: 128 },
    onHand: { type: 'integer', minimum: 0 },
    delta: { type: 'integer', not: { const: 0 } },
    safetyStock: { type: 'integer', minimum: 0 },
    sourceSeq: { type: 'integer', minimum: 0 },
    sourceTime: { type: 'string', format: 'date-time', maxLength: 40 },
    sku: { type: 'string', pattern: SKU_PATTERN },
    location: { type: 'string', pattern: LOCATION_PATTERN },
  },
} as const;

const ajv = new Ajv({ strict: true, allErrors: false });
// A small RFC 3339 check instead of ajv-formats: one format, one regex.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const validate = ajv.compile(schema);

const SKU_RE = new RegExp(SKU_PATTERN);
const LOCATION_RE = new RegExp(LOCATION_PATTERN);

export interface StockEventSource {
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  stream: string;
  streamSequence: number;
}

export type ParsedStockEvent = { ok: true; command: SetStockCommand | AdjustStockCommand } | { ok: false; error: ErrorBody };

export function parseStockEvent(source: StockEventSource): ParsedStockEvent {
  if (!source.subject.startsWith(SUBJECT_PREFIX)) return invalid('the subject is not wms.stock.<location>.<sku>');
  const rest = source.subject.slice(SUBJECT_PREFIX.length);
  const cut = rest.indexOf('.');
  const location = cut > 0 ? rest.slice(0, cut) : '';
  const sku = cut > 0 ? rest.slice(cut + 1) : '';
  if (!LOCATION_RE.test(location)) return invalid('the subject names no valid location', { location });
  if (!SKU_RE.test(sku)) return { ok: false, error: errorBody('INVALID_SKU', undefined, { sku }) };

  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(source.data).toString('utf8'));
  } catch {
    return invalid('the payload is not JSON');
  }
  if (!validate(payload)) {
    const first = validate.errors![0];
    return invalid('the payload does not match the stock event schema', { field: first.instancePath || first.params, problem: first.message });
  }
  const event = payload as {
    eventId?: string;
    onHand?: number;
    delta?: number;
    safetyStock?: number;
    sourceSeq?: number;
    sourceTime?: string;
    sku?: string;
    location?: string;
  };
  if ((event.onHand === undefined) === (event.delta === undefined)) return invalid('a stock event carries exactly one of onHand and delta');
  if (event.delta !== undefined && event.safetyStock !== undefined) return invalid('safetyStock goes with an absolute count (onHand) only');
  if (event.sku !== undefined && event.sku !== sku) return invalid('the payload SKU differs from the subject', { subject: sku, payload: event.sku });
  if (event.location !== undefined && event.location !== location) {
    return invalid('the payload location differs from the subject', { subject: location, payload: event.location });
  }
  const eventId = event.eventId ?? source.msgId ?? `${source.stream}:${source.streamSequence}`;
  if (event.delta !== undefined) return { ok: true, command: { type: 'adjustStock', sku, location, delta: event.delta, eventId } };
  const command: SetStockCommand = { type: 'setStock', sku, location, onHand: event.onHand!, eventId };
  if (event.safetyStock !== undefined) command.safetyStock = event.safetyStock;
  const sourceSeq = event.sourceSeq ?? (event.sourceTime !== undefined ? Date.parse(event.sourceTime) : undefined);
  if (sourceSeq !== undefined) command.sourceSeq = sourceSeq;
  return { ok: true, command };
}

function invalid(message: string, details?: unknown): ParsedStockEvent {
  return { ok: false, error: errorBody('VALIDATION_FAILED', message, details) };
}
