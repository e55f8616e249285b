// Zendesk Support: a ticket per notification (POST /api/v2/tickets.json), as an internal note,
// authenticated with an agent's email and API token ({email}/token:{token}, Basic).

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  basicAuth,
  closedObject,
  detailedText,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface ZendeskConfig {
  /** https://{subdomain}.zendesk.com */
  baseUrl: string;
  email: string;
  apiToken: string;
  ticketType?: 'problem' | 'incident' | 'question' | 'task';
  groupId?: number;
  tags?: string[];
}

const VENDOR = 'Zendesk';
const SUBJECT_CHARS_MAX = 250;
/** Zendesk accepts keys up to 255 characters; delivery ids are shorter. */
const IDEMPOTENCY_KEY_CHARS_MAX = 255;

const PRIORITY = { high: 'urgent', normal: 'high', low: 'normal' } as const;

/** Zendesk tags are lower case words without spaces. */
function tagOf(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_\-:]+/g, '_');
}

export const zendeskConnector: ConnectorFactory<ZendeskConfig> = {
  type: 'zendesk',
  configSchema: closedObject(
    {
      baseUrl: baseUrlString,
      email: nonEmptyString,
      apiToken: nonEmptyString,
      ticketType: { enum: ['problem', 'incident', 'question', 'task'] },
      groupId: { type: 'integer', minimum: 1 },
      tags: { type: 'array', items: nonEmptyString, maxItems: 20 },
    },
    ['baseUrl', 'email', 'apiToken'],
  ),
  doc: {
    sends:
      'Zendesk Support ticket (POST /api/v2/tickets.json) with the alert as a private comment, type "problem" by default, ' +
      'priority from severity, tags stockade + alert type + SKU, external_id = alert id, and an Idempotency-Key = delivery id ' +
      'so a resend creates no second ticket. Auth: Basic {email}/token:{apiToken}.',
    exampleConfig: { baseUrl: 'https://acme.zendesk.com', email: 'purchasing-bot@acme.com', apiToken: '<zendesk api token>', groupId: 360001234567 },
    rateLimits:
      '429 → retry after Retry-After (seconds); 409 (same Idempotency-Key still in flight) and 5xx → retry; ' +
      '401/403/404/422 → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl, '/api/v2/tickets.json');
    const authorization = basicAuth(`${config.email}/token`, config.apiToken);
    return {
      type: 'zendesk',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const { alert } = notification;
          const tags = ['stockade', tagOf(alert.type), tagOf(`sku_${alert.sku}`), ...(config.tags ?? []).map(tagOf)];
          const ticket: Record<string, unknown> = {
            subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            comment: { body: detailedText(notification), public: false },
            type: config.ticketType ?? 'problem',
            priority: PRIORITY[priorityOf(notification)],
            tags,
            external_id: alert.id,
          };
          if (config.groupId !== undefined) ticket.group_id = config.groupId;
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: {
              authorization,
              'content-type': 'application/json',
              accept: 'application/json',
              'idempotency-key': notification.deliveryId.slice(0, IDEMPOTENCY_KEY_CHARS_MAX),
            },
            body: JSON.stringify({ ticket }),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { ticket?: { id?: unknown } } | undefined)?.ticket?.id);
        }),
    };
  },
};
