// Microsoft Graph: sendMail (POST /v1.0/users/{id}/sendMail, 202) for the `graph-mail` and
// `outlook` types, and a Teams chat message (POST /v1.0/chats/{id}/messages, 201) for
// `teams-chat`. Tokens come from the Microsoft identity platform (login.microsoftonline.com/
// {tenant}/oauth2/v2.0/token): the client-credentials grant, or the refresh-token grant when a
// refreshToken is configured. Microsoft allows chat messages with an application token only for
// message import, so a live Teams chat needs a delegated refresh token (ChatMessage.Send).

import type { Connector, ConnectorDependencies, ConnectorFactory, Notification } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { OAuth2TokenSource, fetchWithToken, type OAuth2Grant } from './oauth2.js';
import { alertFacts, attempt, emailSchema, escapeHtml, jsonInit, joinUrl, objectSchema, plainText, readJson, request, secretSchema, truncate, urlSchema } from './vendor-request.js';

export interface GraphAuthConfig {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Delegated access: the refresh-token grant instead of client credentials. */
  refreshToken?: string;
  /** Overrides https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token. */
  tokenUrl?: string;
  /** Overrides https://graph.microsoft.com. */
  baseUrl?: string;
}

export interface GraphMailConfig extends GraphAuthConfig {
  /** The mailbox that sends: a user id or user principal name. */
  userId: string;
  to: string[];
  saveToSentItems?: boolean;
}

export interface TeamsChatConfig extends GraphAuthConfig {
  chatId: string;
}

const GRAPH_BASE_URL = 'https://graph.microsoft.com';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** Graph caps a message's recipients at 500; a receiver needs far fewer. */
const RECIPIENTS_MAX = 100;
/** Graph rejects Teams messages over about 28 KB; stay well under it. */
const CHAT_TEXT_CHARS_MAX = 20_000;

const authProperties = {
  tenantId: { type: 'string', pattern: '^[A-Za-z0-9.-]{1,256}$' },
  clientId: { type: 'string', minLength: 1, maxLength: 256 },
  clientSecret: secretSchema,
  refreshToken: secretSchema,
  tokenUrl: urlSchema,
  baseUrl: urlSchema,
};
const authRequired = ['tenantId', 'clientId', 'clientSecret'];

export function graphTokenSource(config: GraphAuthConfig, deps: ConnectorDependencies): OAuth2TokenSource {
  const tokenUrl = config.tokenUrl ?? `https://login.microsoftonline.com/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`;
  const grant: OAuth2Grant =
    config.refreshToken === undefined
      ? { kind: 'client_credentials', clientId: config.clientId, clientSecret: config.clientSecret, scope: GRAPH_SCOPE }
      : { kind: 'refresh_token', clientId: config.clientId, clientSecret: config.clientSecret, refreshToken: config.refreshToken, scope: `${GRAPH_SCOPE} offline_access` };
  return new OAuth2TokenSource({ tokenUrl, grant, vendor: 'Microsoft identity platform', fetch: deps.fetch, now: deps.now });
}

function mailBody(config: GraphMailConfig, notification: Notification): unknown {
  return {
    message: {
      subject: notification.title,
      body: { contentType: 'Text', content: plainText(notification) },
      toRecipients: config.to.map((address) => ({ emailAddress: { address } })),
      // Custom headers must start with X-; they let a mail rule or a support person trace the delivery.
      internetMessageHeaders: [{ name: 'X-Stockade-Delivery-Id', value: notification.deliveryId }],
    },
    saveToSentItems: config.saveToSentItems ?? false,
  };
}

function graphMailFactory(type: 'graph-mail' | 'outlook', product: string): ConnectorFactory<GraphMailConfig> {
  return {
    type,
    configSchema: objectSchema(
      {
        ...authProperties,
        userId: { type: 'string', minLength: 1, maxLength: 320 },
        to: { type: 'array', items: emailSchema, minItems: 1, maxItems: RECIPIENTS_MAX, uniqueItems: true },
        saveToSentItems: { type: 'boolean' },
      },
      [...authRequired, 'userId', 'to'],
    ),
    doc: {
      sends: `${product}: Microsoft Graph sendMail (POST /v1.0/users/{userId}/sendMail), subject = title, plain-text body with the alert facts, X-Stockade-Delivery-Id header; OAuth2 client credentials (Mail.Send application permission) or a delegated refresh token`,
      exampleConfig: {
        tenantId: 'contoso.onmicrosoft.com',
        clientId: '<graph client id>',
        clientSecret: '<graph client secret>',
        userId: 'alerts@contoso.com',
        to: ['logistics@contoso.com'],
      },
      rateLimits: '202 → delivered; token cached until a minute before expiry, fetched again once on 401; 429/503/504 → retry at Retry-After; other 4xx (no mailbox, no permission) → permanent; a token endpoint invalid_client/invalid_grant → permanent.',
    },
    create(config, deps): Connector {
      const tokens = graphTokenSource(config, deps);
      const url = joinUrl(config.baseUrl ?? GRAPH_BASE_URL, `/v1.0/users/${encodeURIComponent(config.userId)}/sendMail`);
      return {
        type,
        send: (notification, { signal }) =>
          attempt(async () => {
            const body = mailBody(config, notification);
            const response = await fetchWithToken(tokens, signal, (token) =>
              request(deps.fetch, 'Microsoft Graph', url, jsonInit('POST', { authorization: `Bearer ${token}` }, body, signal)),
            );
            return outcomeOfResponse(response, 'Microsoft Graph', deps.now());
          }),
      };
    },
  };
}

export const graphMailConnector = graphMailFactory('graph-mail', 'Microsoft 365 mail');
export const outlookConnector = graphMailFactory('outlook', 'Outlook / Office 365');

function chatHtml(notification: Notification): string {
  const facts = alertFacts(notification)
    .map(([name, value]) => `<li><b>${escapeHtml(name)}:</b> ${escapeHtml(value)}</li>`)
    .join('');
  const text = escapeHtml(truncate(notification.text, CHAT_TEXT_CHARS_MAX)).replace(/\n/g, '<br>');
  return `<p><b>${escapeHtml(notification.title)}</b></p><p>${text}</p><ul>${facts}</ul>`;
}

export const teamsChatConnector: ConnectorFactory<TeamsChatConfig> = {
  type: 'teams-chat',
  configSchema: objectSchema({ ...authProperties, chatId: { type: 'string', minLength: 1, maxLength: 512 } }, [...authRequired, 'chatId']),
  doc: {
    sends: 'Microsoft Teams chat message through Microsoft Graph (POST /v1.0/chats/{chatId}/messages) with an HTML body: title, text, alert facts. Microsoft allows application tokens here only for message import, so configure a delegated refreshToken (ChatMessage.Send) for a live chat',
    exampleConfig: {
      tenantId: 'contoso.onmicrosoft.com',
      clientId: '<graph client id>',
      clientSecret: '<graph client secret>',
      refreshToken: '<graph refresh token>',
      chatId: '19:2da4c29f6d7041eca70b638b43d45437@thread.v2',
    },
    rateLimits: '201 → delivered (message id is the receipt); token cached, fetched again once on 401; 429/503 → retry at Retry-After; other 4xx → permanent.',
  },
  create(config, deps): Connector {
    const tokens = graphTokenSource(config, deps);
    const url = joinUrl(config.baseUrl ?? GRAPH_BASE_URL, `/v1.0/chats/${encodeURIComponent(config.chatId)}/messages`);
    return {
      type: 'teams-chat',
      send: (notification, { signal }) =>
        attempt(async () => {
          const body = { body: { contentType: 'html', content: chatHtml(notification) } };
          const response = await fetchWithToken(tokens, signal, (token) =>
            request(deps.fetch, 'Microsoft Graph', url, jsonInit('POST', { authorization: `Bearer ${token}` }, body, signal)),
          );
          if (!response.ok) return outcomeOfResponse(response, 'Microsoft Graph', deps.now());
          const created = (await readJson(response)) as { id?: unknown } | undefined;
          return typeof created?.id === 'string' ? { kind: 'delivered', receipt: created.id } : { kind: 'delivered' };
        }),
    };
  },
};
