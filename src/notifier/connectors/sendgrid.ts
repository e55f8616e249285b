// SendGrid v3 Mail Send with a dynamic template: POST /v3/mail/send, Bearer API key, 202 when
// accepted. The template gets the rendered title and text and the alert's facts as
// dynamic_template_data; the deliveryId rides in custom_args so SendGrid's event webhook can
// tie bounces back to the delivery.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { attempt, emailSchema, jsonInit, joinUrl, nameSchema, objectSchema, request, secretSchema, urlSchema } from './vendor-request.js';

export interface SendGridConfig {
  apiKey: string;
  from: { email: string; name?: string };
  to: string[];
  /** A dynamic template id, "d-" and 32 hex digits. */
  templateId: string;
  baseUrl?: string;
}

const BASE_URL = 'https://api.sendgrid.com';
/** SendGrid accepts up to 1000 recipients per personalization; a receiver needs far fewer. */
const RECIPIENTS_MAX = 100;

export const sendgridConnector: ConnectorFactory<SendGridConfig> = {
  type: 'sendgrid',
  configSchema: objectSchema(
    {
      apiKey: secretSchema,
      from: objectSchema({ email: emailSchema, name: nameSchema }, ['email']),
      to: { type: 'array', items: emailSchema, minItems: 1, maxItems: RECIPIENTS_MAX, uniqueItems: true },
      templateId: { type: 'string', pattern: '^d-[0-9a-f]{32}$' },
      baseUrl: urlSchema,
    },
    ['apiKey', 'from', 'to', 'templateId'],
  ),
  doc: {
    sends: 'SendGrid v3 Mail Send (POST /v3/mail/send) with a dynamic template: template_id, dynamic_template_data = {title, text, kind, alert facts, alerts}',
    exampleConfig: {
      apiKey: '<sendgrid api key>',
      from: { email: 'alerts@example.com', name: 'Stockade' },
      to: ['procurement@example.com'],
      templateId: 'd-0123456789abcdef0123456789abcdef',
    },
    rateLimits: '202 → delivered (X-Message-Id is the receipt); 429 → retry at X-RateLimit-Reset; 5xx → retry; other 4xx (bad key, unverified sender, bad template) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL, '/v3/mail/send');
    return {
      type: 'sendgrid',
      send: (notification, { signal }) =>
        attempt(async () => {
          const a = notification.alert;
          const body = {
            personalizations: [
              {
                to: config.to.map((email) => ({ email })),
                dynamic_template_data: {
                  title: notification.title,
                  text: notification.text,
                  kind: notification.kind,
                  status: a.status,
                  severity: a.severity,
                  alertType: a.type,
                  sku: a.sku,
                  location: a.location,
                  region: a.region,
                  levels: a.levels,
                  threshold: a.threshold,
                  suggestedAction: a.suggestedAction,
                  summary: a.summary,
                  raisedAt: a.raisedAt,
                  resolvedAt: a.resolvedAt,
                  alerts: notification.alerts.map((x) => ({ sku: x.sku, type: x.type, severity: x.severity, status: x.status, summary: x.summary })),
                },
              },
            ],
            from: config.from.name === undefined ? { email: config.from.email } : config.from,
            template_id: config.templateId,
            custom_args: { deliveryId: notification.deliveryId },
          };
          const response = await request(deps.fetch, 'SendGrid', url, jsonInit('POST', { authorization: `Bearer ${config.apiKey}` }, body, signal));
          const outcome = await outcomeOfResponse(response, 'SendGrid', deps.now());
          const messageId = response.headers.get('x-message-id');
          return outcome.kind === 'delivered' && messageId ? { kind: 'delivered', receipt: messageId } : outcome;
        }),
    };
  },
};
