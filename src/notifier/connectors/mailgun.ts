// Mailgun Messages API: POST /v3/{domain}/messages, HTTP Basic "api:<key>", form-encoded fields.
// Mailgun keeps EU and US data apart, so the region picks the base URL; baseUrl overrides both.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { attempt, basicAuth, emailSchema, formInit, joinUrl, objectSchema, plainText, readJson, request, truncate, urlSchema } from './vendor-request.js';

export interface MailgunConfig {
  apiKey: string;
  domain: string;
  /** "Stockade <alerts@mg.example.com>" or a bare address. */
  from: string;
  to: string[];
  region?: 'us' | 'eu';
  baseUrl?: string;
}

const BASE_URL_BY_REGION = { us: 'https://api.mailgun.net', eu: 'https://api.eu.mailgun.net' } as const;
/** Mailgun allows 1000 recipients per message; a receiver needs far fewer. */
const RECIPIENTS_MAX = 100;
/** Subjects longer than this are cut: mail clients show less, and RFC 5322 lines stay short. */
const SUBJECT_CHARS_MAX = 200;

export const mailgunConnector: ConnectorFactory<MailgunConfig> = {
  type: 'mailgun',
  configSchema: objectSchema(
    {
      apiKey: { type: 'string', minLength: 1, maxLength: 256 },
      domain: { type: 'string', pattern: '^[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$', maxLength: 253 },
      from: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^\\r\\n]+@[^\\r\\n]+$' },
      to: { type: 'array', items: emailSchema, minItems: 1, maxItems: RECIPIENTS_MAX, uniqueItems: true },
      region: { enum: ['us', 'eu'] },
      baseUrl: urlSchema,
    },
    ['apiKey', 'domain', 'from', 'to'],
  ),
  doc: {
    sends: 'Mailgun Messages API (POST /v3/{domain}/messages, form-encoded): subject = title, text = rendered text and the alert facts; h:X-Stockade-Delivery-Id and v:delivery-id carry the delivery id',
    exampleConfig: { apiKey: '<mailgun api key>', domain: 'mg.example.com', from: 'Stockade <alerts@mg.example.com>', to: ['warehouse@example.com'], region: 'eu' },
    rateLimits: '200 → delivered (the queued message id is the receipt); 429 → retry (Retry-After when given); 5xx → retry; 400/401/403/404 (bad key, unknown domain) → permanent.',
  },
  create(config, deps): Connector {
    const base = config.baseUrl ?? BASE_URL_BY_REGION[config.region ?? 'us'];
    const url = joinUrl(base, `/v3/${encodeURIComponent(config.domain)}/messages`);
    const authorization = basicAuth('api', config.apiKey);
    return {
      type: 'mailgun',
      send: (notification, { signal }) =>
        attempt(async () => {
          const form = new URLSearchParams();
          form.set('from', config.from);
          for (const to of config.to) form.append('to', to);
          form.set('subject', truncate(notification.title, SUBJECT_CHARS_MAX));
          form.set('text', plainText(notification));
          form.set('h:X-Stockade-Delivery-Id', notification.deliveryId);
          form.set('v:delivery-id', notification.deliveryId);
          form.set('o:tag', `stockade-${notification.alert.type}`);
          const response = await request(deps.fetch, 'Mailgun', url, formInit({ authorization }, form, signal));
          if (!response.ok) return outcomeOfResponse(response, 'Mailgun', deps.now());
          const body = (await readJson(response)) as { id?: unknown } | undefined;
          return typeof body?.id === 'string' ? { kind: 'delivered', receipt: body.id } : { kind: 'delivered' };
        }),
    };
  },
};
