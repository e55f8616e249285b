// Asana: a task in a project (POST /api/1.0/tasks with data.projects), personal access token.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  detailedText,
  idString,
  isoDate,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface AsanaConfig {
  accessToken: string;
  projectId: string;
  /** gid or email of the person the task is assigned to (they are notified by Asana). */
  assignee?: string;
  /** gids or emails of followers, who are notified of the task too. */
  followers?: string[];
  baseUrl?: string;
}

const VENDOR = 'Asana';
const BASE_URL_DEFAULT = 'https://app.asana.com';
const NAME_CHARS_MAX = 250;

export const asanaConnector: ConnectorFactory<AsanaConfig> = {
  type: 'asana',
  configSchema: closedObject(
    {
      accessToken: nonEmptyString,
      projectId: idString,
      assignee: idString,
      followers: { type: 'array', items: idString, maxItems: 20 },
      baseUrl: baseUrlString,
    },
    ['accessToken', 'projectId'],
  ),
  doc: {
    sends:
      'Asana task (POST /api/1.0/tasks) in the configured project: name = title, notes = alert text and facts, due_on today, ' +
      'assignee and followers (who Asana notifies) when configured. Auth: Bearer personal access token.',
    exampleConfig: { accessToken: '<asana personal access token>', projectId: '1204567890123456', assignee: 'buyer@acme.com' },
    rateLimits: '429 → retry after Retry-After (seconds); 5xx → retry; 400, 401, 402, 403, 404 → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, '/api/1.0/tasks');
    return {
      type: 'asana',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const data: Record<string, unknown> = {
            name: truncate(notification.title, NAME_CHARS_MAX),
            notes: detailedText(notification),
            projects: [config.projectId],
            due_on: isoDate(deps.now()),
          };
          if (config.assignee !== undefined) data.assignee = config.assignee;
          if (config.followers !== undefined) data.followers = config.followers;
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${config.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ data }),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { data?: { gid?: unknown } } | undefined)?.data?.gid);
        }),
    };
  },
};
