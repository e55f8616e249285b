// QuickBooks Online: a note (an Attachable with Note text) per notification, attached to the
// SKU's Item record when one is mapped. QuickBooks has no task or activity entity; a note is the
// one record that informs without touching the books (an invoice, bill or purchase order would),
// and attached to the Item it shows up where the stock is managed.
// OAuth2 refresh-token grant at Intuit's token endpoint (client id/secret as Basic auth).

import { createHash } from 'node:crypto';
import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  basicAuth,
  closedObject,
  credentialFailure,
  CredentialCache,
  DeliveryFailed,
  describeAnswer,
  detailedText,
  expiryOf,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  sendWithCredential,
  truncate,
} from './more-b-support.js';

export interface QuickBooksConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The company id (realmId) granted at authorisation. */
  realmId: string;
  /** QuickBooks Item Id per SKU: the note is attached to that item. */
  itemIdsBySku?: Record<string, string>;
  minorVersion?: number;
  /** https://quickbooks.api.intuit.com; https://sandbox-quickbooks.api.intuit.com for sandboxes. */
  baseUrl?: string;
  tokenUrl?: string;
}

const VENDOR = 'QuickBooks Online';
const BASE_URL_DEFAULT = 'https://quickbooks.api.intuit.com';
const TOKEN_URL_DEFAULT = 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer';
const MINOR_VERSION_DEFAULT = 75;
/** Intuit access tokens live an hour. */
const TOKEN_LIFETIME_MS_DEFAULT = 3_600_000;
/** Attachable.Note holds at most 2000 characters. */
const NOTE_CHARS_MAX = 2000;
/** The SKU map is configuration read into memory: bounded. */
const ITEM_IDS_MAX = 10_000;

interface IntuitToken {
  accessToken: string;
  expiresAtMs: number;
}

/**
 * The request id QuickBooks de-duplicates creates by (`requestid`): stable per delivery, so a
 * resend after a timeout returns the first answer instead of a second note.
 */
export function requestIdOf(deliveryId: string): string {
  return createHash('sha256').update(deliveryId).digest('hex').slice(0, 36);
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  if (!response.ok) return outcomeOfResponse(response, VENDOR, now);
  const { text, json } = await readBody(response);
  const answer = json as { Attachable?: { Id?: unknown }; Fault?: unknown } | undefined;
  if (answer?.Fault !== undefined || answer?.Attachable === undefined) return { kind: 'permanent', reason: describeAnswer(VENDOR, response, text) };
  return receiptOf(answer.Attachable.Id);
}

export const quickbooksConnector: ConnectorFactory<QuickBooksConfig> = {
  type: 'quickbooks',
  configSchema: closedObject(
    {
      clientId: nonEmptyString,
      clientSecret: nonEmptyString,
      refreshToken: nonEmptyString,
      realmId: { type: 'string', pattern: '^[0-9]{1,32}$' },
      itemIdsBySku: { type: 'object', maxProperties: ITEM_IDS_MAX, additionalProperties: { type: 'string', pattern: '^[0-9]{1,32}$' } },
      minorVersion: { type: 'integer', minimum: 1, maximum: 999 },
      baseUrl: baseUrlString,
      tokenUrl: baseUrlString,
    },
    ['clientId', 'clientSecret', 'refreshToken', 'realmId'],
  ),
  doc: {
    sends:
      'QuickBooks Online note: POST /v3/company/{realmId}/attachable?minorversion=75&requestid=… with Note = title, text and ' +
      'facts, attached (AttachableRef EntityRef type Item) to the SKU\'s Item when itemIdsBySku maps it. QuickBooks has no task ' +
      'or activity record; a note informs without creating an accounting document. requestid is derived from the delivery id so a ' +
      'resend is de-duplicated by Intuit. OAuth2 refresh-token grant at Intuit\'s token endpoint (Basic client id:secret).',
    exampleConfig: {
      clientId: '<intuit client id>',
      clientSecret: '<intuit client secret>',
      refreshToken: '<intuit refresh token>',
      realmId: '9130355377388716',
      itemIdsBySku: { 'SKU-1': '19' },
    },
    rateLimits:
      'Access token cached for expires_in (1 h) less a minute; Intuit rotates refresh tokens and the newest is used next (held in ' +
      'memory: after a restart the configured one is used, valid until Intuit expires it). 401 → one new token and one resend. ' +
      '429 (500 requests/min per company) and 5xx → retry; 400 ValidationFault, 403 → permanent.',
  },
  create(config, deps): Connector {
    let refreshToken = config.refreshToken;
    const issue = async (signal: AbortSignal): Promise<IntuitToken> => {
      const response = await deps.fetch(config.tokenUrl ?? TOKEN_URL_DEFAULT, {
        method: 'POST',
        headers: {
          authorization: basicAuth(config.clientId, config.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
        signal,
      });
      const { text, json } = await readBody(response);
      if (!response.ok) throw credentialFailure(`${VENDOR} token endpoint`, response, text, deps.now());
      const answer = json as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown } | undefined;
      if (typeof answer?.access_token !== 'string') {
        throw new DeliveryFailed({ kind: 'retry', reason: `${VENDOR} token endpoint answered ${response.status} without access_token` });
      }
      // Intuit rotates refresh tokens: the one it just returned is the one to use next time.
      if (typeof answer.refresh_token === 'string' && answer.refresh_token.length > 0) refreshToken = answer.refresh_token;
      return { accessToken: answer.access_token, expiresAtMs: expiryOf(deps.now(), answer.expires_in, TOKEN_LIFETIME_MS_DEFAULT) };
    };
    const tokens = new CredentialCache<IntuitToken>(issue, deps.now);
    const base = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, `/v3/company/${config.realmId}/attachable`);
    return {
      type: 'quickbooks',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const url = new URL(base);
          url.searchParams.set('minorversion', String(config.minorVersion ?? MINOR_VERSION_DEFAULT));
          url.searchParams.set('requestid', requestIdOf(notification.deliveryId));
          const attachable: Record<string, unknown> = { Note: truncate(`${notification.title}\n\n${detailedText(notification)}`, NOTE_CHARS_MAX) };
          const itemId = config.itemIdsBySku?.[notification.alert.sku];
          if (itemId !== undefined) attachable.AttachableRef = [{ EntityRef: { type: 'Item', value: itemId }, IncludeOnSend: false }];
          const body = JSON.stringify(attachable);
          const response = await sendWithCredential(tokens, signal, (token) =>
            deps.fetch(url.toString(), {
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
