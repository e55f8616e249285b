// Reading one notice off the ALERTS stream: JSON that is an Alert, or a reason it is poison.
// The check is the notifier's own (what it relies on), independent of the publisher's schema.

import { Ajv } from 'ajv';
import { ALERT_SEVERITIES, ALERT_TYPES, type Alert } from '../alerts/alert.js';

const nullableString = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const;
const level = { type: 'number' } as const;

const alertSchema = {
  type: 'object',
  required: [
    'id',
    'noticeId',
    'status',
    'type',
    'severity',
    'sku',
    'location',
    'region',
    'category',
    'tags',
    'levels',
    'threshold',
    'raisedAt',
    'resolvedAt',
    'suggestedAction',
    'summary',
  ],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 512 },
    noticeId: { type: 'string', minLength: 1, maxLength: 600 },
    status: { enum: ['firing', 'resolved'] },
    type: { enum: ALERT_TYPES },
    severity: { enum: ALERT_SEVERITIES },
    sku: { type: 'string', minLength: 1, maxLength: 256 },
    location: nullableString,
    region: nullableString,
    category: nullableString,
    tags: { type: 'array', maxItems: 100, items: { type: 'string' } },
    levels: { type: 'object', required: ['onHand', 'reserved', 'safetyStock', 'available'], properties: { onHand: level, reserved: level, safetyStock: level, available: level } },
    threshold: { type: 'object', required: ['name', 'value', 'observed'], properties: { name: { type: 'string' }, value: level, observed: level } },
    raisedAt: { type: 'string', format: 'date-time' },
    resolvedAt: nullableString,
    suggestedAction: { type: 'string' },
    summary: { type: 'string' },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
const validateAlert = ajv.compile(alertSchema);

export type ParsedNotice = { ok: true; alert: Alert } | { ok: false; reason: string };

export function parseNotice(data: Uint8Array): ParsedNotice {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!validateAlert(value)) {
    const e = validateAlert.errors?.[0];
    return { ok: false, reason: `not an alert: ${e ? `${e.instancePath || '(root)'} ${e.message}` : 'schema mismatch'}` };
  }
  const alert = value as unknown as Alert;
  if (Number.isNaN(Date.parse(alert.raisedAt))) return { ok: false, reason: 'not an alert: raisedAt is not a date' };
  if (alert.status === 'resolved' && (alert.resolvedAt === null || Number.isNaN(Date.parse(alert.resolvedAt)))) {
    return { ok: false, reason: 'not an alert: a resolved notice needs resolvedAt' };
  }
  return { ok: true, alert };
}

/** When the notice was decided: the episode's start, or its end for the recovery notice. */
export function decidedAtOf(alert: Alert): number {
  return Date.parse(alert.status === 'resolved' ? alert.resolvedAt! : alert.raisedAt);
}
