// Freshdesk: a ticket per notification (POST /api/v2/tickets), API key as the Basic user.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  basicAuth,
  closedObject,
  detailedText,
  htmlOf,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface FreshdeskConfig {
  /** https://{domain}.freshdesk.com */
  baseUrl: string;
  apiKey: string;
  /** Freshdesk requires a requester; the ticket is raised as this contact (created if unknown). */
  requesterEmail: string;
  groupId?: number;
  tags?: string[];
}

const VENDOR = 'Freshdesk';
const SUBJECT_CHARS_MAX = 250;
/** Freshdesk priorities: 1 low, 2 medium, 3 high, 4 urgent. Status 2 is Open. */
const PRIORITY = { high: 4, normal: 3, low: 2 } as const;
const STATUS_OPEN = 2;

export const freshdeskConnector: ConnectorFactory<FreshdeskConfig> = {
  type: 'freshdesk',
  configSchema: closedObject(
    {
      baseUrl: baseUrlString,
      apiKey: nonEmptyString,
      requesterEmail: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
      groupId: { type: 'integer', minimum: 1 },
      tags: { type: 'array', items: nonEmptyString, maxItems: 20 },
    },
    ['baseUrl', 'apiKey', 'requesterEmail'],
  ),
  doc: {
    sends:
      'Freshdesk ticket (POST /api/v2/tickets): subject, HTML description with the alert facts, status Open, priority from ' +
      'severity (urgent for critical), requester email, tags stockade + alert type. Auth: Basic {apiKey}:X.',
    exampleConfig: { baseUrl: 'https://acme.freshdesk.com', apiKey: '<freshdesk api key>', requesterEmail: 'stock-alerts@acme.com', groupId: 8000012345 },
    rateLimits: '429 → retry after Retry-After (seconds); 5xx → retry; 400 (validation), 401, 403, 404 → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl, '/api/v2/tickets');
    const authorization = basicAuth(config.apiKey, 'X');
    return {
      type: 'freshdesk',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const body: Record<string, unknown> = {
            subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            description: htmlOf(detailedText(notification)),
            email: config.requesterEmail,
            status: STATUS_OPEN,
            priority: PRIORITY[priorityOf(notification)],
            tags: ['stockade', notification.alert.type, ...(config.tags ?? [])],
          };
          if (config.groupId !== undefined) body.group_id = config.groupId;
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
