// A generic signed webhook: the notification as JSON, POSTed to the receiver's URL with
//   X-Stockade-Timestamp: <unix seconds>
//   X-Stockade-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//   Idempotency-Key: <deliveryId>
// The timestamp is inside the signature so a captured request cannot be replayed later than the
// receiver's tolerance; within it, the Idempotency-Key lets the receiver drop the duplicate.
// verifyWebhookSignature is the receiver's half (the notifier's tests and the demo use it).

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../../errors.js';
import type { Connector, ConnectorDependencies, ConnectorFactory } from '../connector.js';
import { HTTP_URL_SCHEMA, checkedConfig, notificationDocument, postOnce } from './common.js';

export const SIGNATURE_HEADER = 'x-stockade-signature';
export const TIMESTAMP_HEADER = 'x-stockade-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const SIGNATURE_VERSION = 'v1';

/** How far a request's timestamp may be from the receiver's clock, either way. */
export const SIGNATURE_TOLERANCE_MS_DEFAULT = 5 * 60_000;

/** Shorter secrets are rejected at start: an HMAC key is only as strong as it is long. */
export const WEBHOOK_SECRET_CHARS_MIN = 32;

/** Signature header values longer than this are refused unread (several v1= during a rotation fit). */
const SIGNATURE_HEADER_CHARS_MAX = 1024;

/** hex HMAC-SHA256 over "<timestamp>.<body>". */
export function webhookSignature(secret: string, timestampSeconds: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/** The three headers of a signed request (lower-case names). */
export function signedHeaders(secret: string, body: string, nowMs: number, deliveryId: string): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SIGNATURE_VERSION}=${webhookSignature(secret, timestamp, body)}`,
    [IDEMPOTENCY_HEADER]: deliveryId,
  };
}

export interface WebhookVerifyInput {
  /** The shared secret, or several during a rotation (any one may have signed). */
  secret: string | readonly string[];
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  /** Header values; undefined/null when the header is missing. */
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  /** The receiver's clock, epoch ms. */
  now?: number;
  toleranceMs?: number;
}

export type WebhookVerifyCode = Extract<ErrorCode, 'WEBHOOK_SIGNATURE_INVALID' | 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE'>;

export type WebhookVerifyResult = { ok: true; timestampMs: number } | { ok: false; code: WebhookVerifyCode; reason: string };

/**
 * Checks a signed request: the timestamp is a whole number of seconds within `toleranceMs` of
 * `now` (against replays), and one `v1=` signature matches the body under one of the secrets
 * (compared in constant time). Does not remember ids: drop duplicates by Idempotency-Key.
 */
export function verifyWebhookSignature(input: WebhookVerifyInput): WebhookVerifyResult {
  const now = input.now ?? Date.now();
  const toleranceMs = input.toleranceMs ?? SIGNATURE_TOLERANCE_MS_DEFAULT;
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', reason: `${TIMESTAMP_HEADER} is missing or not whole seconds` };
  }
  const timestampMs = Number(timestamp) * 1000;
  if (Math.abs(now - timestampMs) > toleranceMs) {
    return { ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE', reason: `${TIMESTAMP_HEADER} is more than ${toleranceMs} ms from now` };
  }
  if (!signature || signature.length > SIGNATURE_HEADER_CHARS_MAX) {
    return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', reason: `${SIGNATURE_HEADER} is missing or too long` };
  }
  const offered = signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SIGNATURE_VERSION}=`))
    .map((part) => Buffer.from(part.slice(SIGNATURE_VERSION.length + 1), 'hex'));
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  for (const secret of secrets) {
    const expected = Buffer.from(webhookSignature(secret, timestamp, input.body), 'hex');
    for (const candidate of offered) {
      // timingSafeEqual throws on a length mismatch; a wrong length is simply no match.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true, timestampMs };
    }
  }
  return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', reason: `no ${SIGNATURE_VERSION} signature in ${SIGNATURE_HEADER} matches the body` };
}

export interface WebhookConfig {
  url: string;
  /** Shared with the receiver; at least 32 characters. */
  secret: string;
}

export const webhookConnector: ConnectorFactory<WebhookConfig> = {
  type: 'webhook',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'secret'],
    properties: {
      url: HTTP_URL_SCHEMA,
      secret: { type: 'string', minLength: WEBHOOK_SECRET_CHARS_MIN, maxLength: 1024 },
    },
  },
  doc: {
    sends:
      'A JSON POST of `{deliveryId, kind, title, text, alert, alerts}` (alerts in the alert format of docs/schemas/alert.schema.json), signed: `X-Stockade-Timestamp` (unix seconds), `X-Stockade-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, and `Idempotency-Key: <deliveryId>`. Receivers check it with verifyWebhookSignature (src/notifier/connectors/webhook.ts), 5 minutes tolerance by default, and drop repeats by Idempotency-Key.',
    exampleConfig: { url: 'https://erp.example.com/hooks/stockade', secret: 'REPLACE-WITH-32-OR-MORE-RANDOM-CHARACTERS' },
    rateLimits: 'Any 2xx is delivered. 408/409/423/425/429 and 5xx → retry (Retry-After or X-RateLimit-Reset honoured); 3xx and other 4xx → permanent.',
  },
  create(config: WebhookConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<WebhookConfig>(webhookConnector, config);
    return {
      type: 'webhook',
      send(notification, { signal }) {
        const body = JSON.stringify(notificationDocument(notification));
        return postOnce(
          deps,
          {
            vendor: 'Webhook',
            url: c.url,
            headers: { 'content-type': 'application/json', ...signedHeaders(c.secret, body, deps.now(), notification.deliveryId) },
            body,
          },
          signal,
        );
      },
    };
  },
};
