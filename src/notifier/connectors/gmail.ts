// Gmail API send: POST /gmail/v1/users/me/messages/send with {raw}, the RFC 2822 message in
// base64url. The token comes from the refresh-token grant (scope gmail.send granted once).

import type { Connector, ConnectorFactory, Notification } from '../connector.js';
import { fetchWithToken } from './oauth2.js';
import { googleAuthProperties, googleAuthRequired, googleTokenSource, outcomeOfGoogleResponse, type GoogleAuthConfig } from './google-api.js';
import { attempt, emailSchema, jsonInit, joinUrl, objectSchema, plainText, readJson, request } from './vendor-request.js';

export interface GmailConfig extends GoogleAuthConfig {
  /** The authorised account's address (or one of its verified send-as aliases). */
  from: string;
  to: string[];
  /** Overrides https://gmail.googleapis.com. */
  baseUrl?: string;
}

const BASE_URL = 'https://gmail.googleapis.com';
const RECIPIENTS_MAX = 100;
/** RFC 2045: base64 body lines of at most 76 characters. */
const BASE64_LINE_CHARS_MAX = 76;

/** RFC 2047 encoded-word, so any title is a safe header value (no CR/LF can get through). */
function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/** The message as RFC 2822 text with CRLF line ends: UTF-8 plain text, base64 transfer encoding. */
export function rfc2822Message(config: GmailConfig, notification: Notification, date: Date): string {
  const body = Buffer.from(plainText(notification), 'utf8').toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += BASE64_LINE_CHARS_MAX) lines.push(body.slice(i, i + BASE64_LINE_CHARS_MAX));
  return [
    `From: ${config.from}`,
    `To: ${config.to.join(', ')}`,
    `Subject: ${encodedWord(notification.title)}`,
    `Date: ${date.toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset="UTF-8"',
    'Content-Transfer-Encoding: base64',
    `X-Stockade-Delivery-Id: ${notification.deliveryId.replace(/[\r\n]/g, '')}`,
    '',
    ...lines,
    '',
  ].join('\r\n');
}

export const gmailConnector: ConnectorFactory<GmailConfig> = {
  type: 'gmail',
  configSchema: objectSchema(
    {
      ...googleAuthProperties,
      from: emailSchema,
      to: { type: 'array', items: emailSchema, minItems: 1, maxItems: RECIPIENTS_MAX, uniqueItems: true },
    },
    [...googleAuthRequired, 'from', 'to'],
  ),
  doc: {
    sends: 'Gmail API users.messages.send (POST /gmail/v1/users/me/messages/send) with raw = base64url RFC 2822 plain-text mail: subject = title, body = text and alert facts; OAuth2 refresh-token grant (scope https://www.googleapis.com/auth/gmail.send)',
    exampleConfig: {
      clientId: '<google client id>',
      clientSecret: '<google client secret>',
      refreshToken: '<google refresh token>',
      from: 'alerts@example.com',
      to: ['sales@example.com'],
    },
    rateLimits: '200 → delivered (message id is the receipt); token cached, fetched again once on 401; 429 and 403 rateLimitExceeded/userRateLimitExceeded → retry (Retry-After when given); 5xx → retry; other 4xx → permanent.',
  },
  create(config, deps): Connector {
    const tokens = googleTokenSource(config, deps);
    const url = joinUrl(config.baseUrl ?? BASE_URL, '/gmail/v1/users/me/messages/send');
    return {
      type: 'gmail',
      send: (notification, { signal }) =>
        attempt(async () => {
          const raw = Buffer.from(rfc2822Message(config, notification, new Date(deps.now())), 'utf8').toString('base64url');
          const response = await fetchWithToken(tokens, signal, (token) =>
            request(deps.fetch, 'Gmail', url, jsonInit('POST', { authorization: `Bearer ${token}` }, { raw }, signal)),
          );
          if (!response.ok) return outcomeOfGoogleResponse(response, 'Gmail', deps.now());
          const sent = (await readJson(response)) as { id?: unknown } | undefined;
          return typeof sent?.id === 'string' ? { kind: 'delivered', receipt: sent.id } : { kind: 'delivered' };
        }),
    };
  },
};
