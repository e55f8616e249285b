// NetSuite: a task record through the REST record service (POST /services/rest/record/v1/task),
// signed with OAuth 1.0 Token-Based Authentication (HMAC-SHA256). TBA was chosen over OAuth2
// client credentials because it needs no certificate upload or token endpoint round trip and its
// tokens do not expire; each request carries its own signature, so there is nothing to refresh.

import { createHmac, randomBytes } from 'node:crypto';
import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { attempt, baseUrlString, closedObject, detailedText, idString, isoDate, joinUrl, nonEmptyString, priorityOf, receiptOf, truncate } from './more-b-support.js';

export interface NetSuiteConfig {
  /** Account id as NetSuite shows it, e.g. 1234567 or 1234567_SB1 (a sandbox). */
  accountId: string;
  consumerKey: string;
  consumerSecret: string;
  tokenId: string;
  tokenSecret: string;
  /** Employee internal id the task is assigned to. */
  assignedId?: string;
  /** https://{account}.suitetalk.api.netsuite.com by default. */
  baseUrl?: string;
}

const VENDOR = 'NetSuite';
const TITLE_CHARS_MAX = 100;
const MESSAGE_CHARS_MAX = 4000;
const PRIORITY = { high: 'HIGH', normal: 'MEDIUM', low: 'LOW' } as const;

/** RFC 3986 percent-encoding, which OAuth 1.0 signatures require (encodeURIComponent leaves !'()*). */
export function oauthEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface OAuth1Parameters {
  oauth_consumer_key: string;
  oauth_token: string;
  oauth_signature_method: 'HMAC-SHA256';
  oauth_timestamp: string;
  oauth_nonce: string;
  oauth_version: '1.0';
}

/** The HMAC-SHA256 signature of a request (RFC 5849 §3.4): method, base URL, sorted parameters. */
export function oauth1Signature(method: string, url: string, params: OAuth1Parameters, consumerSecret: string, tokenSecret: string): string {
  const parsed = new URL(url);
  const pairs: [string, string][] = Object.entries(params).map(([k, v]) => [oauthEncode(k), oauthEncode(v)]);
  for (const [k, v] of parsed.searchParams) pairs.push([oauthEncode(k), oauthEncode(v)]);
  pairs.sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1));
  const normalized = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  // URL drops default ports, and lower-cases scheme and host, as the base string wants.
  const baseUrl = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const base = `${method.toUpperCase()}&${oauthEncode(baseUrl)}&${oauthEncode(normalized)}`;
  return createHmac('sha256', `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`).update(base).digest('base64');
}

/** realm is the account id upper-cased (1234567_SB1); the host uses it lower-cased with a dash. */
function realmOf(accountId: string): string {
  return accountId.toUpperCase().replace(/-/g, '_');
}

function hostOf(accountId: string): string {
  return `https://${accountId.toLowerCase().replace(/_/g, '-')}.suitetalk.api.netsuite.com`;
}

function authorizationOf(config: NetSuiteConfig, url: string, nowMs: number): string {
  const params: OAuth1Parameters = {
    oauth_consumer_key: config.consumerKey,
    oauth_token: config.tokenId,
    oauth_signature_method: 'HMAC-SHA256',
    oauth_timestamp: String(Math.floor(nowMs / 1000)),
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_version: '1.0',
  };
  const signature = oauth1Signature('POST', url, params, config.consumerSecret, config.tokenSecret);
  const fields = [`realm="${oauthEncode(realmOf(config.accountId))}"`];
  for (const [k, v] of Object.entries(params)) fields.push(`${k}="${oauthEncode(v)}"`);
  fields.push(`oauth_signature="${oauthEncode(signature)}"`);
  return `OAuth ${fields.join(', ')}`;
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  if (!response.ok) return outcomeOfResponse(response, VENDOR, now);
  await response.body?.cancel().catch(() => undefined);
  // 204 No Content; the new record's URL is in Location.
  const location = response.headers.get('location');
  return receiptOf(location ?? undefined);
}

export const netsuiteConnector: ConnectorFactory<NetSuiteConfig> = {
  type: 'netsuite',
  configSchema: closedObject(
    {
      accountId: { type: 'string', pattern: '^[0-9A-Za-z]+([_-][0-9A-Za-z]+)?$', maxLength: 32 },
      consumerKey: nonEmptyString,
      consumerSecret: nonEmptyString,
      tokenId: nonEmptyString,
      tokenSecret: nonEmptyString,
      assignedId: idString,
      baseUrl: baseUrlString,
    },
    ['accountId', 'consumerKey', 'consumerSecret', 'tokenId', 'tokenSecret'],
  ),
  doc: {
    sends:
      'NetSuite task record (POST /services/rest/record/v1/task on {account}.suitetalk.api.netsuite.com): title, message with ' +
      'the alert facts, priority from severity, duedate today, assigned employee when configured. Auth: OAuth 1.0 Token-Based ' +
      'Authentication, HMAC-SHA256 signature, realm = account id (chosen over OAuth2 client credentials: no certificate to ' +
      'upload and no token to refresh).',
    exampleConfig: {
      accountId: '1234567_SB1',
      consumerKey: '<integration consumer key>',
      consumerSecret: '<integration consumer secret>',
      tokenId: '<access token id>',
      tokenSecret: '<access token secret>',
      assignedId: '42',
    },
    rateLimits:
      'NetSuite limits concurrent requests per account: 429 → retry (Retry-After when sent); 5xx → retry; 400 (o:errorDetails: ' +
      'invalid field, USER_ERROR), 401 INVALID_LOGIN (bad signature or revoked token), 403 → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? hostOf(config.accountId), '/services/rest/record/v1/task');
    return {
      type: 'netsuite',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const task: Record<string, unknown> = {
            title: truncate(notification.title, TITLE_CHARS_MAX),
            message: truncate(detailedText(notification), MESSAGE_CHARS_MAX),
            priority: PRIORITY[priorityOf(notification)],
            duedate: isoDate(deps.now()),
          };
          if (config.assignedId !== undefined) task.assigned = { id: config.assignedId };
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: { authorization: authorizationOf(config, url, deps.now()), 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(task),
            signal,
          });
          return outcomeOf(response, deps.now());
        }),
    };
  },
};
