// WhatsApp Cloud API: POST https://graph.facebook.com/{version}/{phoneNumberId}/messages with a
// template message (outside the 24-hour customer window only approved templates may be sent).
// Meta's errors are Graph errors, {error:{code, message, …}}: the code, not the status, says
// whether waiting helps (throughput, pair and spam limits) or not (bad template, bad token).

import type { Connector, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { outcomeOfResponse, retryAfterMsOf } from '../http-outcome.js';
import { attempt, jsonInit, joinUrl, objectSchema, readJson, request, secretSchema, truncate, urlSchema } from './vendor-request.js';

const PARAMETER_FIELDS = ['title', 'text', 'summary', 'sku', 'location', 'available', 'severity', 'type', 'suggestedAction'] as const;
export type WhatsAppParameterField = (typeof PARAMETER_FIELDS)[number];

export interface WhatsAppConfig {
  accessToken: string;
  phoneNumberId: string;
  /** Recipient in international format, digits only (e.g. 4915123456789). */
  to: string;
  templateName: string;
  /** Template language code, e.g. "en_US". */
  languageCode: string;
  /** What fills the template body's {{1}}, {{2}} …, in order. */
  bodyParameters?: WhatsAppParameterField[];
  /** Graph API version (default v21.0). */
  apiVersion?: string;
  baseUrl?: string;
}

const BASE_URL = 'https://graph.facebook.com';
const API_VERSION_DEFAULT = 'v21.0';
const BODY_PARAMETERS_DEFAULT: WhatsAppParameterField[] = ['sku', 'available', 'suggestedAction'];
const BODY_PARAMETERS_MAX = 10;
/** A template parameter is one line; Meta rejects newlines, tabs and long runs of spaces. */
const PARAMETER_CHARS_MAX = 1024;

/** Codes that mean "too much, too fast" or "Meta is having trouble": worth a retry. */
const RETRYABLE_CODES = new Set([
  1, // API unknown
  2, // API service temporarily unavailable
  4, // application request limit reached
  80007, // WhatsApp Business Account rate limit
  130429, // Cloud API throughput reached
  131000, // something went wrong
  131016, // service unavailable
  131048, // spam rate limit hit
  131056, // (business, consumer) pair rate limit hit
  133004, // server temporarily unavailable
]);

function parameterValue(field: WhatsAppParameterField, notification: Notification): string {
  const a = notification.alert;
  const value: Record<WhatsAppParameterField, string> = {
    title: notification.title,
    text: notification.text,
    summary: a.summary,
    sku: a.sku,
    location: a.location ?? 'all locations',
    available: String(a.levels.available),
    severity: a.severity,
    type: a.type,
    suggestedAction: a.suggestedAction,
  };
  return truncate(value[field].replace(/\s+/g, ' ').trim() || '-', PARAMETER_CHARS_MAX);
}

async function outcomeOfError(response: Response, now: number): Promise<DeliveryOutcome> {
  const body = (await readJson(response.clone())) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = body?.error?.code;
  if (typeof code !== 'number') return outcomeOfResponse(response, 'WhatsApp', now);
  const reason = `WhatsApp answered ${response.status} code ${code}: ${String(body?.error?.message ?? '').slice(0, 300)}`;
  if (RETRYABLE_CODES.has(code) || response.status >= 500) {
    const retryAfterMs = retryAfterMsOf(response.headers, now);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'permanent', reason };
}

export const whatsappConnector: ConnectorFactory<WhatsAppConfig> = {
  type: 'whatsapp',
  configSchema: objectSchema(
    {
      accessToken: secretSchema,
      phoneNumberId: { type: 'string', pattern: '^[0-9]{1,32}$' },
      to: { type: 'string', pattern: '^[1-9][0-9]{6,14}$' },
      templateName: { type: 'string', pattern: '^[a-z0-9_]{1,512}$' },
      languageCode: { type: 'string', pattern: '^[a-z]{2,3}(_[A-Z]{2})?$' },
      bodyParameters: { type: 'array', items: { enum: [...PARAMETER_FIELDS] }, maxItems: BODY_PARAMETERS_MAX },
      apiVersion: { type: 'string', pattern: '^v[0-9]+\\.[0-9]+$' },
      baseUrl: urlSchema,
    },
    ['accessToken', 'phoneNumberId', 'to', 'templateName', 'languageCode'],
  ),
  doc: {
    sends: 'WhatsApp Cloud API template message (POST /{version}/{phoneNumberId}/messages, type template with language and a body component whose text parameters are the configured alert fields)',
    exampleConfig: {
      accessToken: '<whatsapp token>',
      phoneNumberId: '106540352242922',
      to: '4915123456789',
      templateName: 'stock_alert',
      languageCode: 'en_US',
      bodyParameters: ['sku', 'available', 'suggestedAction'],
    },
    rateLimits: '200 → delivered (wamid is the receipt); error codes 4, 80007, 130429, 131048, 131056 (rate limits) and 1, 2, 131000, 131016, 133004 (Meta unavailable) → retry; 5xx → retry; others (190 expired token, 132001 unknown template, 131026 undeliverable) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL, `/${config.apiVersion ?? API_VERSION_DEFAULT}/${config.phoneNumberId}/messages`);
    const fields = config.bodyParameters ?? BODY_PARAMETERS_DEFAULT;
    return {
      type: 'whatsapp',
      send: (notification, { signal }) =>
        attempt(async () => {
          const template: Record<string, unknown> = { name: config.templateName, language: { code: config.languageCode } };
          if (fields.length > 0) {
            template.components = [{ type: 'body', parameters: fields.map((field) => ({ type: 'text', text: parameterValue(field, notification) })) }];
          }
          const body = { messaging_product: 'whatsapp', recipient_type: 'individual', to: config.to, type: 'template', template };
          const response = await request(deps.fetch, 'WhatsApp', url, jsonInit('POST', { authorization: `Bearer ${config.accessToken}` }, body, signal));
          if (!response.ok) return outcomeOfError(response, deps.now());
          const sent = (await readJson(response)) as { messages?: Array<{ id?: unknown }> } | undefined;
          const id = sent?.messages?.[0]?.id;
          return typeof id === 'string' ? { kind: 'delivered', receipt: id } : { kind: 'delivered' };
        }),
    };
  },
};
