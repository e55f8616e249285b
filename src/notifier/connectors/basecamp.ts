// Basecamp (the Basecamp 4 API at 3.basecampapi.com): a to-do in a to-do list per notification.
// Basecamp requires a User-Agent naming the app and a contact; OAuth2 access tokens come from
// 37signals Launchpad's refresh grant (type=refresh) and live two weeks.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  credentialFailure,
  CredentialCache,
  DeliveryFailed,
  detailedText,
  expiryOf,
  htmlOf,
  isoDate,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  sendWithCredential,
  truncate,
} from './more-b-support.js';

export interface BasecampConfig {
  accountId: string;
  projectId: string;
  todolistId: string;
  /** "App name (contact email or URL)", which Basecamp requires on every request. */
  userAgent: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  refreshToken: string;
  /** People (Basecamp person ids) the to-do is assigned to; Basecamp notifies them. */
  assigneeIds?: number[];
  baseUrl?: string;
  tokenUrl?: string;
}

const VENDOR = 'Basecamp';
const BASE_URL_DEFAULT = 'https://3.basecampapi.com';
const TOKEN_URL_DEFAULT = 'https://launchpad.37signals.com/authorization/token';
/** Launchpad access tokens live two weeks. */
const TOKEN_LIFETIME_MS_DEFAULT = 14 * 24 * 3_600_000;
const CONTENT_CHARS_MAX = 250;

interface LaunchpadToken {
  accessToken: string;
  expiresAtMs: number;
}

export const basecampConnector: ConnectorFactory<BasecampConfig> = {
  type: 'basecamp',
  configSchema: closedObject(
    {
      accountId: { type: 'string', pattern: '^[0-9]{1,20}$' },
      projectId: { type: 'string', pattern: '^[0-9]{1,20}$' },
      todolistId: { type: 'string', pattern: '^[0-9]{1,20}$' },
      // Basecamp answers 400 without a User-Agent that carries a way to reach the app's owner.
      userAgent: { type: 'string', pattern: '^.+\\(.+\\)$' },
      clientId: nonEmptyString,
      clientSecret: nonEmptyString,
      redirectUri: baseUrlString,
      refreshToken: nonEmptyString,
      assigneeIds: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 20 },
      baseUrl: baseUrlString,
      tokenUrl: baseUrlString,
    },
    ['accountId', 'projectId', 'todolistId', 'userAgent', 'clientId', 'clientSecret', 'redirectUri', 'refreshToken'],
  ),
  doc: {
    sends:
      'Basecamp to-do (POST /{accountId}/buckets/{projectId}/todolists/{todolistId}/todos.json): content = title, description = ' +
      'alert text and facts as HTML, due_on today, assignee_ids with notify when configured. Every request carries the required ' +
      'User-Agent. OAuth2: Launchpad refresh grant (POST /authorization/token?type=refresh …), Bearer access token.',
    exampleConfig: {
      accountId: '999999999',
      projectId: '2085958499',
      todolistId: '1069479424',
      userAgent: 'Stockade notifier (ops@acme.com)',
      clientId: '<launchpad client id>',
      clientSecret: '<launchpad client secret>',
      redirectUri: 'https://stockade.acme.com/oauth/basecamp',
      refreshToken: '<launchpad refresh token>',
      assigneeIds: [1049715914],
    },
    rateLimits:
      'Access token cached for its expires_in (two weeks) less a minute; 401 → one new token and one resend. 429 (50 requests ' +
      'per 10 s) → retry after Retry-After; 5xx → retry; 400 (missing User-Agent), 403, 404 → permanent.',
  },
  create(config, deps): Connector {
    const issue = async (signal: AbortSignal): Promise<LaunchpadToken> => {
      // Launchpad takes the refresh grant's parameters in the query string of a POST.
      const url = new URL(config.tokenUrl ?? TOKEN_URL_DEFAULT);
      url.searchParams.set('type', 'refresh');
      url.searchParams.set('refresh_token', config.refreshToken);
      url.searchParams.set('client_id', config.clientId);
      url.searchParams.set('redirect_uri', config.redirectUri);
      url.searchParams.set('client_secret', config.clientSecret);
      const response = await deps.fetch(url.toString(), { method: 'POST', headers: { accept: 'application/json', 'user-agent': config.userAgent }, signal });
      const { text, json } = await readBody(response);
      if (!response.ok) throw credentialFailure(`${VENDOR} Launchpad`, response, text, deps.now());
      const answer = json as { access_token?: unknown; expires_in?: unknown } | undefined;
      if (typeof answer?.access_token !== 'string') {
        throw new DeliveryFailed({ kind: 'retry', reason: `${VENDOR} Launchpad answered ${response.status} without access_token` });
      }
      return { accessToken: answer.access_token, expiresAtMs: expiryOf(deps.now(), answer.expires_in, TOKEN_LIFETIME_MS_DEFAULT) };
    };
    const tokens = new CredentialCache<LaunchpadToken>(issue, deps.now);
    const url = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, `/${config.accountId}/buckets/${config.projectId}/todolists/${config.todolistId}/todos.json`);
    return {
      type: 'basecamp',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const todo: Record<string, unknown> = {
            content: truncate(notification.title, CONTENT_CHARS_MAX),
            description: htmlOf(detailedText(notification)),
            due_on: isoDate(deps.now()),
          };
          if (config.assigneeIds !== undefined && config.assigneeIds.length > 0) {
            todo.assignee_ids = config.assigneeIds;
            todo.notify = true;
          }
          const body = JSON.stringify(todo);
          const response = await sendWithCredential(tokens, signal, (token) =>
            deps.fetch(url, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${token.accessToken}`,
                'user-agent': config.userAgent,
                'content-type': 'application/json; charset=utf-8',
                accept: 'application/json',
              },
              body,
              signal,
            }),
          );
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
