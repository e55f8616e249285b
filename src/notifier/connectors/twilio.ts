// Twilio Programmable Messaging: one SMS per send, created with
// POST {baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, Body and either
// From or MessagingServiceSid, HTTP Basic auth (Account SID or API key SID : secret).
// One receiver is one phone number: a send that texted some numbers and failed on others could
// not be retried without texting the first ones twice, and Twilio has no idempotency key.

import type { Connector, ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { retryAfterMsOf } from '../http-outcome.js';
import { HTTP_URL_SCHEMA, checkedConfig, parseJson, postOnce, readTextCapped, trimSlash, truncate } from './common.js';

export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

/** Twilio refuses bodies over 1600 characters (error 21617); longer text is cut with "…". */
export const SMS_BODY_CHARS_MAX = 1600;

/** Twilio error codes a later attempt can cure: too many requests / concurrency. */
const TWILIO_RETRYABLE_CODES = new Set([20429]);

/** Twilio error codes worth naming in the reason, so a person knows what to fix. */
const TWILIO_CODE_NAMES: Record<number, string> = {
  20003: 'authentication failed',
  20429: 'too many requests',
  21211: "invalid 'To' phone number",
  21408: 'permission to send to this region not enabled',
  21606: "the 'From' number cannot send SMS",
  21610: 'the recipient has unsubscribed (STOP)',
  21612: "the 'To' number is not reachable",
  21614: "the 'To' number cannot receive SMS",
};

export interface TwilioSmsConfig {
  /** AC… */
  accountSid: string;
  /** The auth token, or an API key secret when `apiKeySid` is set. */
  authToken: string;
  /** SK…: authenticate with an API key instead of the account's auth token. */
  apiKeySid?: string;
  /** E.164 recipient, e.g. +4915112345678. */
  to: string;
  /** E.164 sender or alphanumeric sender id; exactly one of from / messagingServiceSid. */
  from?: string;
  /** MG…: let a Messaging Service pick the sender. */
  messagingServiceSid?: string;
  /** Defaults to https://api.twilio.com. */
  baseUrl?: string;
}

const E164 = { type: 'string', pattern: '^\\+[1-9][0-9]{1,14}$' } as const;
/** An E.164 number or an alphanumeric sender id (up to 11 characters). */
const SENDER = { type: 'string', pattern: '^(\\+[1-9][0-9]{1,14}|[A-Za-z0-9 ]{1,11})$' } as const;
const MESSAGING_SERVICE_SID = { type: 'string', pattern: '^MG[0-9a-fA-F]{32}$' } as const;

/** SMS text: the rendered text (templates for SMS put everything there), else the title. */
export function smsBody(notification: Notification): string {
  return truncate(notification.text || notification.title || notification.alert.summary, SMS_BODY_CHARS_MAX);
}

interface TwilioError {
  code?: unknown;
  message?: unknown;
}

/** Twilio's answer → outcome: 201 delivered (receipt = message SID); error codes decide the rest. */
export async function twilioOutcome(response: Response, now: number): Promise<DeliveryOutcome> {
  const answer = parseJson(await readTextCapped(response)) as (TwilioError & { sid?: unknown }) | undefined;
  if (response.ok) {
    return typeof answer?.sid === 'string' ? { kind: 'delivered', receipt: answer.sid } : { kind: 'delivered' };
  }
  const code = typeof answer?.code === 'number' ? answer.code : undefined;
  const named = code !== undefined && TWILIO_CODE_NAMES[code] ? ` (${TWILIO_CODE_NAMES[code]})` : '';
  const message = typeof answer?.message === 'string' ? `: ${answer.message.slice(0, 300)}` : '';
  const reason = `Twilio answered ${response.status}${code !== undefined ? `, error ${code}${named}` : ''}${message}`;
  const retryable = response.status === 429 || response.status >= 500 || (code !== undefined && TWILIO_RETRYABLE_CODES.has(code));
  if (!retryable) return { kind: 'permanent', reason };
  const retryAfterMs = retryAfterMsOf(response.headers, now);
  return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
}

export const twilioSmsConnector: ConnectorFactory<TwilioSmsConfig> = {
  type: 'twilio-sms',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['accountSid', 'authToken', 'to'],
    properties: {
      accountSid: { type: 'string', pattern: '^AC[0-9a-fA-F]{32}$' },
      authToken: { type: 'string', minLength: 1, maxLength: 256 },
      apiKeySid: { type: 'string', pattern: '^SK[0-9a-fA-F]{32}$' },
      to: E164,
      from: SENDER,
      messagingServiceSid: MESSAGING_SERVICE_SID,
      baseUrl: HTTP_URL_SCHEMA,
    },
    // Exactly one sender: both would be ambiguous, and Twilio refuses a message with neither.
    oneOf: [
      { type: 'object', required: ['from'], properties: { from: SENDER } },
      { type: 'object', required: ['messagingServiceSid'], properties: { messagingServiceSid: MESSAGING_SERVICE_SID } },
    ],
  },
  doc: {
    sends:
      'Twilio Messages API (POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json, Basic auth, form-encoded To, Body and From or MessagingServiceSid): one SMS of the rendered text, cut to 1600 characters. One receiver per phone number.',
    exampleConfig: { accountSid: 'AC00000000000000000000000000000000', authToken: 'REPLACE-ME', from: '+15005550006', to: '+4915112345678' },
    rateLimits:
      '429 or error 20429 → retry after Retry-After; 5xx → retry; other 4xx are permanent, with the Twilio error named in the reason (21211 invalid To number, 21610 unsubscribed, 21614 not SMS-capable, 20003 bad credentials …). Twilio has no idempotency key: a retry after a timeout may text twice.',
  },
  create(config: TwilioSmsConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<TwilioSmsConfig>(twilioSmsConnector, config);
    const url = `${trimSlash(c.baseUrl ?? TWILIO_API_BASE_URL)}/2010-04-01/Accounts/${c.accountSid}/Messages.json`;
    const authorization = `Basic ${Buffer.from(`${c.apiKeySid ?? c.accountSid}:${c.authToken}`).toString('base64')}`;
    return {
      type: 'twilio-sms',
      send(notification, { signal }) {
        const form = new URLSearchParams({ To: c.to, Body: smsBody(notification) });
        if (c.messagingServiceSid) form.set('MessagingServiceSid', c.messagingServiceSid);
        else if (c.from) form.set('From', c.from);
        return postOnce(
          deps,
          {
            vendor: 'Twilio',
            url,
            headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: form.toString(),
          },
          signal,
          (response) => twilioOutcome(response, deps.now()),
        );
      },
    };
  },
};
