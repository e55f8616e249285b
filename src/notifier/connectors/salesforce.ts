// Salesforce: a Task per notification (POST {instance_url}/services/data/vXX.X/sobjects/Task),
// with an OAuth2 token from the org's own token endpoint (client credentials or refresh token).
// The token answer names the instance to call; a 401 INVALID_SESSION_ID gets one fresh token.

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { RETRY_AFTER_MS_MAX, retryAfterMsOf } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  credentialFailure,
  CredentialCache,
  DeliveryFailed,
  describeAnswer,
  detailedText,
  idString,
  isoDate,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  retry,
  sendWithCredential,
  truncate,
} from './more-b-support.js';

export interface SalesforceConfig {
  /** The org's My Domain URL (client credentials need it), e.g. https://acme.my.salesforce.com. */
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  /** When present the refresh-token grant is used; otherwise client credentials. */
  refreshToken?: string;
  apiVersion?: string;
  /** User or queue the task is assigned to (the integration user when absent). */
  ownerId?: string;
  /** Record the task relates to (an Account, a Product …). */
  whatId?: string;
}

const VENDOR = 'Salesforce';
const API_VERSION_DEFAULT = '62.0';
const SUBJECT_CHARS_MAX = 255;
const DESCRIPTION_CHARS_MAX = 32_000;
const PRIORITY = { high: 'High', normal: 'Normal', low: 'Low' } as const;

/** Error codes a later attempt can pass: the org's API limit, a locked row, maintenance. */
const RETRYABLE_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'API_CURRENTLY_DISABLED']);

interface SalesforceToken {
  accessToken: string;
  instanceUrl: string;
  expiresAtMs: number;
}

async function issueToken(config: SalesforceConfig, fetchImpl: typeof fetch, now: () => number, signal: AbortSignal): Promise<SalesforceToken> {
  const form = new URLSearchParams();
  if (config.refreshToken !== undefined) {
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', config.refreshToken);
  } else {
    form.set('grant_type', 'client_credentials');
  }
  form.set('client_id', config.clientId);
  form.set('client_secret', config.clientSecret);
  const response = await fetchImpl(joinUrl(config.loginUrl, '/services/oauth2/token'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form.toString(),
    signal,
  });
  const { text, json } = await readBody(response);
  if (!response.ok) throw credentialFailure(`${VENDOR} token endpoint`, response, text, now());
  const answer = json as { access_token?: unknown; instance_url?: unknown } | undefined;
  if (typeof answer?.access_token !== 'string' || typeof answer.instance_url !== 'string') {
    throw new DeliveryFailed({ kind: 'retry', reason: `${VENDOR} token endpoint answered ${response.status} without access_token and instance_url` });
  }
  // Salesforce states no lifetime: the session lasts the org's timeout, so it is kept until a 401.
  return { accessToken: answer.access_token, instanceUrl: answer.instance_url, expiresAtMs: Number.POSITIVE_INFINITY };
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  const { text, json } = await readBody(response);
  if (response.ok) return receiptOf((json as { id?: unknown } | undefined)?.id);
  const reason = describeAnswer(VENDOR, response, text);
  const codes = Array.isArray(json) ? json.map((e: { errorCode?: unknown }) => e?.errorCode) : [];
  if (codes.includes('REQUEST_LIMIT_EXCEEDED')) {
    // The org's 24-hour API allowance is used up: it refills gradually, so wait long.
    return retry(reason, retryAfterMsOf(response.headers, now) ?? RETRY_AFTER_MS_MAX);
  }
  if (response.status >= 500 || response.status === 429 || codes.some((code) => RETRYABLE_CODES.has(code as string))) {
    return retry(reason, retryAfterMsOf(response.headers, now));
  }
  return { kind: 'permanent', reason };
}

export const salesforceConnector: ConnectorFactory<SalesforceConfig> = {
  type: 'salesforce',
  configSchema: closedObject(
    {
      loginUrl: baseUrlString,
      clientId: nonEmptyString,
      clientSecret: nonEmptyString,
      refreshToken: nonEmptyString,
      apiVersion: { type: 'string', pattern: '^\\d{2,3}\\.\\d$' },
      ownerId: idString,
      whatId: idString,
    },
    ['loginUrl', 'clientId', 'clientSecret'],
  ),
  doc: {
    sends:
      'Salesforce Task (POST {instance_url}/services/data/v62.0/sobjects/Task): Subject, Description, Priority from severity, ' +
      'Status "Not Started", ActivityDate today, OwnerId / WhatId when configured. OAuth2 against {loginUrl}/services/oauth2/token ' +
      '(client_credentials, or refresh_token when refreshToken is set); instance_url is taken from the token answer.',
    exampleConfig: {
      loginUrl: 'https://acme.my.salesforce.com',
      clientId: '<connected app consumer key>',
      clientSecret: '<connected app consumer secret>',
      ownerId: '005XXXXXXXXXXXXXXX',
    },
    rateLimits:
      'The token is cached until Salesforce refuses it; 401 INVALID_SESSION_ID → one new token and one resend. ' +
      'REQUEST_LIMIT_EXCEEDED (403) → retry after the longest hint (15 min); UNABLE_TO_LOCK_ROW, 429, 5xx → retry; ' +
      'other 4xx (REQUIRED_FIELD_MISSING, INVALID_FIELD …) and token errors invalid_grant / invalid_client → permanent.',
  },
  create(config, deps): Connector {
    const tokens = new CredentialCache<SalesforceToken>((signal) => issueToken(config, deps.fetch, deps.now, signal), deps.now);
    const path = `/services/data/v${config.apiVersion ?? API_VERSION_DEFAULT}/sobjects/Task`;
    return {
      type: 'salesforce',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const task: Record<string, unknown> = {
            Subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            Description: truncate(detailedText(notification), DESCRIPTION_CHARS_MAX),
            Priority: PRIORITY[priorityOf(notification)],
            Status: 'Not Started',
            ActivityDate: isoDate(deps.now()),
          };
          if (config.ownerId !== undefined) task.OwnerId = config.ownerId;
          if (config.whatId !== undefined) task.WhatId = config.whatId;
          const body = JSON.stringify(task);
          const response = await sendWithCredential(tokens, signal, (token) =>
            deps.fetch(joinUrl(token.instanceUrl, path), {
              method: 'POST',
              headers: { authorization: `Bearer ${token.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
              body,
              signal,
            }),
          );
          return outcomeOf(response, deps.now());
        }),
    };
  },
};
