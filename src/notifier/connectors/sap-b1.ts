// SAP Business One Service Layer: log in once (POST /b1s/v1/Login → B1SESSION cookie, plus the
// load balancer's ROUTEID), reuse the session until its idle timeout, and per notification create
// an Activity (a task) or send an internal message through MessagesService. A 401 (session timed
// out or was dropped by a Service Layer restart) gets one new login and one resend.

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  CREDENTIAL_EXPIRY_SKEW_MS,
  credentialFailure,
  CredentialCache,
  DeliveryFailed,
  detailedText,
  isoDate,
  joinUrl,
  nonEmptyString,
  priorityOf,
  readBody,
  receiptOf,
  sendWithCredential,
  truncate,
} from './more-b-support.js';

export interface SapB1Config {
  /** https://host:50000 — the Service Layer, without /b1s/v1. */
  baseUrl: string;
  companyDb: string;
  userName: string;
  password: string;
  /** "activity" creates an Activities record (default); "message" sends an internal message. */
  record?: 'activity' | 'message';
  /** Activities: the user (internal key) the task is handled by. */
  handledBy?: number;
  /** Activities: the business partner it concerns; without one the activity is a personal one. */
  cardCode?: string;
  /** Messages: the user codes that receive the internal message (required for "message"). */
  recipientUserCodes?: string[];
}

const VENDOR = 'SAP Business One Service Layer';
/** Service Layer's default session timeout, used when the login answer does not say. */
const SESSION_TIMEOUT_MINUTES_DEFAULT = 30;
/** Activities.Details is the short "Remarks" line of an activity. */
const DETAILS_CHARS_MAX = 100;
const SUBJECT_CHARS_MAX = 250;
/** close() waits this long for the logout answer at most. */
const LOGOUT_TIMEOUT_MS = 5_000;
const PRIORITY = { high: 'pr_High', normal: 'pr_Normal', low: 'pr_Low' } as const;
/** The cookies a session consists of: the session itself and the load balancer's node pin. */
const SESSION_COOKIES = new Set(['B1SESSION', 'ROUTEID']);

interface B1Session {
  cookie: string;
  expiresAtMs: number;
  timeoutMs: number;
}

function sessionCookie(response: Response): string | undefined {
  const pairs: string[] = [];
  for (const header of response.headers.getSetCookie()) {
    const pair = header.split(';', 1)[0].trim();
    const name = pair.slice(0, pair.indexOf('='));
    if (SESSION_COOKIES.has(name)) pairs.push(pair);
  }
  return pairs.some((pair) => pair.startsWith('B1SESSION=')) ? pairs.join('; ') : undefined;
}

function bodyOf(config: SapB1Config, notification: Parameters<Connector['send']>[0], now: number): { path: string; body: Record<string, unknown> } {
  const priority = PRIORITY[priorityOf(notification)];
  if (config.record === 'message') {
    return {
      path: '/b1s/v1/MessagesService_SendMessage',
      body: {
        Message: {
          Subject: truncate(notification.title, SUBJECT_CHARS_MAX),
          Text: detailedText(notification),
          Priority: priority,
          RecipientCollection: (config.recipientUserCodes ?? []).map((userCode) => ({ UserCode: userCode, SendInternal: 'tYES' })),
        },
      },
    };
  }
  const activity: Record<string, unknown> = {
    Activity: 'cn_Task',
    Details: truncate(notification.title, DETAILS_CHARS_MAX),
    Notes: detailedText(notification),
    Priority: priority,
    ActivityDate: isoDate(now),
  };
  if (config.handledBy !== undefined) activity.HandledBy = config.handledBy;
  if (config.cardCode !== undefined) activity.CardCode = config.cardCode;
  // An activity needs a business partner unless it is personal.
  else activity.PersonalFlag = 'tYES';
  return { path: '/b1s/v1/Activities', body: activity };
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  if (!response.ok) return outcomeOfResponse(response, VENDOR, now);
  // Activities answers the created record (ActivityCode); SendMessage answers 204 or the message's Code.
  const { json } = await readBody(response);
  const created = json as { ActivityCode?: unknown; Code?: unknown } | undefined;
  return receiptOf(created?.ActivityCode ?? created?.Code);
}

export const sapB1Connector: ConnectorFactory<SapB1Config> = {
  type: 'sap-b1',
  configSchema: {
    ...closedObject(
      {
        baseUrl: baseUrlString,
        companyDb: nonEmptyString,
        userName: nonEmptyString,
        password: nonEmptyString,
        record: { enum: ['activity', 'message'] },
        handledBy: { type: 'integer', minimum: 1 },
        cardCode: nonEmptyString,
        recipientUserCodes: { type: 'array', items: nonEmptyString, minItems: 1, maxItems: 50 },
      },
      ['baseUrl', 'companyDb', 'userName', 'password'],
    ),
    // A message without recipients reaches nobody: refuse it at start.
    if: { properties: { record: { const: 'message' } }, required: ['record'] },
    then: { properties: { recipientUserCodes: true }, required: ['recipientUserCodes'] },
  },
  doc: {
    sends:
      'SAP Business One Service Layer: POST /b1s/v1/Login {CompanyDB, UserName, Password} once, then with the B1SESSION (and ' +
      'ROUTEID) cookie either POST /b1s/v1/Activities (record "activity": a cn_Task with Details = title, Notes = text and facts, ' +
      'Priority from severity, HandledBy / CardCode when configured) or POST /b1s/v1/MessagesService_SendMessage (record ' +
      '"message": an internal message to recipientUserCodes). POST /b1s/v1/Logout on close. A Service Layer with a ' +
      'self-signed certificate needs its CA in NODE_EXTRA_CA_CERTS.',
    exampleConfig: { baseUrl: 'https://b1.acme.local:50000', companyDb: 'SBODEMOUS', userName: 'stockade', password: '<b1 password>', handledBy: 12 },
    rateLimits:
      'The session is reused until SessionTimeout (minutes, from the login answer) of idleness less a minute; 401 → one new login ' +
      'and one resend. Login refused (401 wrong credentials, 400) → permanent; 5xx → retry; 400 from Activities (invalid field, ' +
      'no such user) → permanent. Service Layer has no request rate limit of its own.',
  },
  create(config, deps): Connector {
    const login = async (signal: AbortSignal): Promise<B1Session> => {
      const response = await deps.fetch(joinUrl(config.baseUrl, '/b1s/v1/Login'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ CompanyDB: config.companyDb, UserName: config.userName, Password: config.password }),
        signal,
      });
      const { text, json } = await readBody(response);
      if (!response.ok) throw credentialFailure(`${VENDOR} login`, response, text, deps.now());
      const cookie = sessionCookie(response);
      if (cookie === undefined) throw new DeliveryFailed({ kind: 'retry', reason: `${VENDOR} login answered ${response.status} without a B1SESSION cookie` });
      const minutes = Number((json as { SessionTimeout?: unknown } | undefined)?.SessionTimeout);
      const timeoutMs = (Number.isFinite(minutes) && minutes > 0 ? minutes : SESSION_TIMEOUT_MINUTES_DEFAULT) * 60_000;
      return { cookie, timeoutMs, expiresAtMs: deps.now() + timeoutMs - CREDENTIAL_EXPIRY_SKEW_MS };
    };
    const sessions = new CredentialCache<B1Session>(login, deps.now);
    return {
      type: 'sap-b1',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const { path, body } = bodyOf(config, notification, deps.now());
          const json = JSON.stringify(body);
          const response = await sendWithCredential(sessions, signal, (session) =>
            deps.fetch(joinUrl(config.baseUrl, path), {
              method: 'POST',
              headers: { cookie: session.cookie, 'content-type': 'application/json', accept: 'application/json' },
              body: json,
              signal,
            }),
          );
          // The timeout counts idle time: every answered request keeps the session alive.
          const session = sessions.peek();
          if (session !== undefined && response.status !== 401) session.expiresAtMs = deps.now() + session.timeoutMs - CREDENTIAL_EXPIRY_SKEW_MS;
          return outcomeOf(response, deps.now());
        }),
      async close() {
        const session = sessions.peek();
        sessions.clear();
        if (session === undefined || deps.now() >= session.expiresAtMs) return;
        // Free the licence seat the session holds; a failure here changes nothing for delivery.
        await deps
          .fetch(joinUrl(config.baseUrl, '/b1s/v1/Logout'), { method: 'POST', headers: { cookie: session.cookie }, signal: AbortSignal.timeout(LOGOUT_TIMEOUT_MS) })
          .then((response) => response.body?.cancel())
          .catch(() => undefined);
      },
    };
  },
};
