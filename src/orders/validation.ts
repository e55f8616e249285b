// Every body the order flow accepts, checked by precompiled ajv validators. The canonical order
// uses its published schema (docs/schemas/canonical-order.schema.json) itself.

import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { SKU_PATTERN } from '../actors/validate.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { projectFile } from '../paths.js';
import type { CanonicalOrder } from './canonical.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

const ajv = new Ajv2020({ allErrors: false, strict: true, allowUnionTypes: true });
// No ajv-formats in the dependencies: the one format the schemas use is defined here.
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) });

const canonicalSchema = JSON.parse(readFileSync(projectFile('docs/schemas/canonical-order.schema.json'), 'utf8')) as Record<string, unknown>;
const validateCanonical = ajv.compile<CanonicalOrder>(canonicalSchema);

export interface PreorderBody {
  enabled: boolean;
  capacity: number;
  schedule?: { at: string; quantity: number }[];
  leadTimeDays?: number | null;
}

const validatePreorder = ajv.compile<PreorderBody>({
  type: 'object',
  additionalProperties: false,
  required: ['enabled', 'capacity'],
  properties: {
    enabled: { type: 'boolean' },
    capacity: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    schedule: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['at', 'quantity'],
        properties: { at: { type: 'string', format: 'date-time' }, quantity: { type: 'integer', minimum: 1, maximum: 1_000_000_000 } },
      },
    },
    leadTimeDays: { type: ['integer', 'null'], minimum: 0, maximum: 3650 },
  },
});

const validateSubstitutes = ajv.compile<{ substitutes: string[] }>({
  type: 'object',
  additionalProperties: false,
  required: ['substitutes'],
  properties: { substitutes: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: SKU_PATTERN } } },
});

const validateCancel = ajv.compile<{ reason?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 256 } },
});

const validateEmpty = ajv.compile<Record<string, never>>({ type: 'object', additionalProperties: false, properties: {} });

function fieldOf(e: ErrorObject): string {
  const params = e.params as { additionalProperty?: string; missingProperty?: string };
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const leaf = params.additionalProperty ?? params.missingProperty;
  return [path, leaf].filter(Boolean).join('.') || '(root)';
}

function check<T>(validate: ((v: unknown) => boolean) & { errors?: ErrorObject[] | null }, value: unknown): { ok: true; value: T } | { ok: false; error: ErrorBody } {
  if (validate(value)) return { ok: true, value: value as T };
  const e = validate.errors![0];
  const details: Record<string, unknown> = { field: fieldOf(e), problem: e.keyword === 'additionalProperties' ? 'unknown field' : e.message };
  return { ok: false, error: errorBody('VALIDATION_FAILED', undefined, details) };
}

export const checkCanonicalOrder = (v: unknown) => check<CanonicalOrder>(validateCanonical, v);
export const checkPreorderBody = (v: unknown) => check<PreorderBody>(validatePreorder, v);
export const checkSubstitutesBody = (v: unknown) => check<{ substitutes: string[] }>(validateSubstitutes, v);
export const checkCancelBody = (v: unknown) => check<{ reason?: string }>(validateCancel, v);
export const checkEmptyBody = (v: unknown) => check<Record<string, never>>(validateEmpty, v);

/** Order ids Stockade issues: "ord-" and a base-36 number. */
export const ORDER_ID_PATTERN = /^ord-[0-9a-z]{1,16}$/;
