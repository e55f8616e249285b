// Zoho CRM: a record in the Tasks module (POST {api_domain}/crm/v6/Tasks) with the
// `Zoho-oauthtoken` header; the access token comes from the refresh-token grant at the account's
// data centre (accounts.zoho.com, .eu, .in …) and lives an hour.

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  credentialFailure,
  CredentialCache,
  DeliveryFailed,
  describeAnswer,
  detailedText,
  expiryOf,
  idString,
  isoDate,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  sendWithCredential,
  truncate,
} from './more-b-support.js';

export interface ZohoConfig {
  /** https://accounts.zoho.com (US), https://accounts.zoho.eu, https://accounts.zoho.in … */
  accountsUrl?: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Overrides the api_domain of the token answer (tests, a proxy). */
  apiBaseUrl?: string;
  apiVersion?: string;
  /** Zoho user id the task is assigned to. */
  ownerId?: string;
}

const VENDOR = 'Zoho CRM';
const ACCOUNTS_URL_DEFAULT = 'https://accounts.zoho.com';
const API_VERSION_DEFAULT = 'v6';
/** Zoho access tokens live an hour (expires_in 3600). */
const TOKEN_LIFETIME_MS_DEFAULT = 3_600_000;
const SUBJECT_CHARS_MAX = 250;
const PRIORITY = { high: 'High', normal: 'Normal', low: 'Low' } as const;
/** Zoho's accounts server answers some refusals with 200 and an `error` field. */
const PERMANENT_TOKEN_ERRORS = new Set(['invalid_code', 'invalid_client', 'invalid_client_secret', 'invalid_grant', 'unauthorized_client']);

interface ZohoToken {
  accessToken: string;
  apiDomain: string;
  expiresAtMs: number;
}

async function issueToken(config: ZohoConfig, fetchImpl: typeof fetch, now: () => number, signal: AbortSignal): Promise<ZohoToken> {
  // Zoho documents the refresh grant with its parameters in the query string of a POST.
  const url = new URL(joinUrl(config.accountsUrl ?? ACCOUNTS_URL_DEFAULT, '/oauth/v2/token'));
  url.searchParams.set('refresh_token', config.refreshToken);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('client_secret', config.clientSecret);
  url.searchParams.set('grant_type', 'refresh_token');
  const response = await fetchImpl(url.toString(), { method: 'POST', headers: { accept: 'application/json' }, signal });
  const { text, json } = await readBody(response);
  if (!response.ok) throw credentialFailure(`${VENDOR} accounts server`, response, text, now());
  const answer = json as { access_token?: unknown; api_domain?: unknown; expires_in?: unknown; error?: unknown } | undefined;
  if (typeof answer?.access_token !== 'string') {
    const error = typeof answer?.error === 'string' ? answer.error : undefined;
    const reason = `${VENDOR} accounts server answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    // "Access Denied" (too many token requests: ten per ten minutes) passes; a bad grant does not.
    throw new DeliveryFailed(error !== undefined && PERMANENT_TOKEN_ERRORS.has(error) ? { kind: 'permanent', reason } : { kind: 'retry', reason });
  }
  const apiDomain = config.apiBaseUrl ?? (typeof answer.api_domain === 'string' ? answer.api_domain : undefined);
  if (apiDomain === undefined) throw new DeliveryFailed({ kind: 'retry', reason: `${VENDOR} token answer has no api_domain` });
  return { accessToken: answer.access_token, apiDomain, expiresAtMs: expiryOf(now(), answer.expires_in, TOKEN_LIFETIME_MS_DEFAULT) };
}

interface ZohoRecordResult {
  code?: string;
  status?: string;
  details?: { id?: unknown };
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  if (!response.ok && response.status !== 202) return outcomeOfResponse(response, VENDOR, now);
  const { text, json } = await readBody(response);
  const result = (json as { data?: ZohoRecordResult[] } | undefined)?.data?.[0];
  // A 201/202 can still carry a per-record error (MANDATORY_NOT_FOUND, INVALID_DATA): not retryable.
  if (result?.status !== 'success') return { kind: 'permanent', reason: describeAnswer(VENDOR, response, text) };
  return receiptOf(result.details?.id);
}

export const zohoConnector: ConnectorFactory<ZohoConfig> = {
  type: 'zoho-crm',
  configSchema: closedObject(
    {
      accountsUrl: baseUrlString,
      clientId: nonEmptyString,
      clientSecret: nonEmptyString,
      refreshToken: nonEmptyString,
      apiBaseUrl: baseUrlString,
      apiVersion: { enum: ['v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8'] },
      ownerId: idString,
    },
    ['clientId', 'clientSecret', 'refreshToken'],
  ),
  doc: {
    sends:
      'Zoho CRM Tasks record (POST {api_domain}/crm/v6/Tasks, body {data:[…]}): Subject, Description, Due_Date today, Priority ' +
      'from severity, Status "Not Started", Owner when configured. Header Authorization: Zoho-oauthtoken <token>; the token comes ' +
      'from POST {accountsUrl}/oauth/v2/token?grant_type=refresh_token… and api_domain from its answer.',
    exampleConfig: {
      accountsUrl: 'https://accounts.zoho.eu',
      clientId: '1000.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
      clientSecret: '<zoho client secret>',
      refreshToken: '<zoho refresh token>',
      ownerId: '4150868000000225013',
    },
    rateLimits:
      'Access token cached for its expires_in (1 h) less a minute; 401 INVALID_TOKEN → one new token and one resend. ' +
      '429 TOO_MANY_REQUESTS and 5xx → retry (Retry-After / reset header when present); a per-record error in data[0] and other ' +
      '4xx → permanent; token errors invalid_code / invalid_client → permanent.',
  },
  create(config, deps): Connector {
    const tokens = new CredentialCache<ZohoToken>((signal) => issueToken(config, deps.fetch, deps.now, signal), deps.now);
    const path = `/crm/${config.apiVersion ?? API_VERSION_DEFAULT}/Tasks`;
    return {
      type: 'zoho-crm',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const task: Record<string, unknown> = {
            Subject: truncate(notification.title, SUBJECT_CHARS_MAX),
            Description: detailedText(notification),
            Due_Date: isoDate(deps.now()),
            Priority: PRIORITY[priorityOf(notification)],
            Status: 'Not Started',
          };
          if (config.ownerId !== undefined) task.Owner = { id: config.ownerId };
          const body = JSON.stringify({ data: [task] });
          const response = await sendWithCredential(tokens, signal, (token) =>
            deps.fetch(joinUrl(token.apiDomain, path), {
              method: 'POST',
              headers: { authorization: `Zoho-oauthtoken ${token.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
              body,
              signal,
            }),
          );
          return outcomeOf(response, deps.now());
        }),
    };
  },
};
