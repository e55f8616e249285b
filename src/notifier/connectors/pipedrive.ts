// Pipedrive: an activity per notification (POST /api/v2/activities?api_token=…). API v2: the v1
// activity endpoints were deprecated in 2025 and sunset in 2026.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  describeAnswer,
  detailedText,
  htmlOf,
  isoDate,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface PipedriveConfig {
  /** https://{company}.pipedrive.com */
  baseUrl: string;
  apiToken: string;
  /** Activity type key, e.g. "task" (default) or "call". */
  activityType?: string;
  /** The Pipedrive user the activity is assigned to (the token's owner when absent). */
  ownerId?: number;
  dealId?: number;
}

const VENDOR = 'Pipedrive';
const SUBJECT_CHARS_MAX = 250;

export const pipedriveConnector: ConnectorFactory<PipedriveConfig> = {
  type: 'pipedrive',
  configSchema: closedObject(
    {
      baseUrl: baseUrlString,
      apiToken: nonEmptyString,
      activityType: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' },
      ownerId: { type: 'integer', minimum: 1 },
      dealId: { type: 'integer', minimum: 1 },
    },
    ['baseUrl', 'apiToken'],
  ),
  doc: {
    sends:
      'Pipedrive activity (API v2: POST /api/v2/activities): subject, type "task", due_date today, HTML note with the alert ' +
      'facts, done false, owner_id / deal_id when configured. Auth: api_token query parameter.',
    exampleConfig: { baseUrl: 'https://acme.pipedrive.com', apiToken: '<pipedrive api token>', ownerId: 1234567 },
    rateLimits:
      '429 → retry after Retry-After or x-ratelimit-reset (seconds until the window resets); a success:false body and other ' +
      '4xx → permanent; 5xx → retry.',
  },
  create(config, deps): Connector {
    const url = new URL(joinUrl(config.baseUrl, '/api/v2/activities'));
    url.searchParams.set('api_token', config.apiToken);
    const href = url.toString();
    return {
      type: 'pipedrive',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const body: Record<string, unknown> = {
            subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            type: config.activityType ?? 'task',
            due_date: isoDate(deps.now()),
            note: htmlOf(detailedText(notification)),
            done: false,
          };
          if (config.ownerId !== undefined) body.owner_id = config.ownerId;
          if (config.dealId !== undefined) body.deal_id = config.dealId;
          const response = await deps.fetch(href, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { text, json } = await readBody(response);
          const answer = json as { success?: unknown; data?: { id?: unknown } } | undefined;
          if (answer?.success !== true) return { kind: 'permanent', reason: describeAnswer(VENDOR, response, text) };
          return receiptOf(answer.data?.id);
        }),
    };
  },
};
