// HubSpot CRM: a task per notification (POST /crm/v3/objects/tasks) with a private-app token.

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse, RETRY_AFTER_MS_MAX, retryAfterMsOf } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  describeAnswer,
  detailedText,
  idString,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  retry,
  truncate,
} from './more-b-support.js';

export interface HubSpotConfig {
  /** Private app access token (scope crm.objects.tasks… write). */
  accessToken: string;
  baseUrl?: string;
  /** The HubSpot user the task is assigned to. */
  ownerId?: string;
}

const VENDOR = 'HubSpot';
const BASE_URL_DEFAULT = 'https://api.hubapi.com';
const SUBJECT_CHARS_MAX = 250;
const PRIORITY = { high: 'HIGH', normal: 'MEDIUM', low: 'LOW' } as const;

/**
 * HubSpot's 429 names the limit that was hit. The burst limits (SECONDLY, TEN_SECONDLY_ROLLING)
 * clear within X-HubSpot-RateLimit-Interval-Milliseconds; the DAILY one only at midnight in the
 * account's time zone, so the longest hint is given and the notifier's backoff does the rest.
 */
async function rateLimited(response: Response, now: number): Promise<DeliveryOutcome> {
  const { text, json } = await readBody(response);
  const policy = (json as { policyName?: unknown } | undefined)?.policyName;
  const reason = describeAnswer(VENDOR, response, text);
  if (policy === 'DAILY') return retry(reason, RETRY_AFTER_MS_MAX);
  const hinted = retryAfterMsOf(response.headers, now);
  if (hinted !== undefined) return retry(reason, hinted);
  const intervalMs = Number(response.headers.get('x-hubspot-ratelimit-interval-milliseconds'));
  return retry(reason, Number.isFinite(intervalMs) && intervalMs > 0 ? Math.min(intervalMs, RETRY_AFTER_MS_MAX) : undefined);
}

export const hubspotConnector: ConnectorFactory<HubSpotConfig> = {
  type: 'hubspot',
  configSchema: closedObject({ accessToken: nonEmptyString, baseUrl: baseUrlString, ownerId: idString }, ['accessToken']),
  doc: {
    sends:
      'HubSpot CRM task (POST /crm/v3/objects/tasks): hs_timestamp (now), hs_task_subject, hs_task_body, hs_task_status ' +
      'NOT_STARTED, hs_task_priority from severity, hs_task_type TODO, hubspot_owner_id when configured. Auth: private app Bearer token.',
    exampleConfig: { accessToken: '<hubspot private app token>', ownerId: '12345678' },
    rateLimits:
      '429 → retry: after Retry-After when sent, else after X-HubSpot-RateLimit-Interval-Milliseconds (the burst window); ' +
      'a DAILY policy 429 waits the longest hint (15 min) and keeps backing off until midnight. 5xx → retry; other 4xx → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, '/crm/v3/objects/tasks');
    return {
      type: 'hubspot',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const properties: Record<string, string> = {
            hs_timestamp: new Date(deps.now()).toISOString(),
            hs_task_subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            hs_task_body: detailedText(notification),
            hs_task_status: 'NOT_STARTED',
            hs_task_priority: PRIORITY[priorityOf(notification)],
            hs_task_type: 'TODO',
          };
          if (config.ownerId !== undefined) properties.hubspot_owner_id = config.ownerId;
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${config.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ properties }),
            signal,
          });
          if (response.status === 429) return rateLimited(response, deps.now());
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
