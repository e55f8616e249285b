// Webex Messages API: POST /v1/messages to a room (space) with markdown, bot token as Bearer.

import type { Connector, ConnectorFactory, Notification } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { alertFacts, attempt, jsonInit, joinUrl, objectSchema, plainText, readJson, request, secretSchema, truncate, urlSchema } from './vendor-request.js';

export interface WebexConfig {
  botToken: string;
  roomId: string;
  baseUrl?: string;
}

const BASE_URL = 'https://webexapis.com';
/** Webex rejects message text over 7439 bytes; characters may take several bytes. */
const MARKDOWN_CHARS_MAX = 2400;

/** Characters that would turn alert text into emphasis, code, links or HTML are escaped. */
function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_[\]<>#|~])/g, '\\$1');
}

function markdown(notification: Notification): string {
  const facts = alertFacts(notification).map(([name, value]) => `- **${escapeMarkdown(name)}:** ${escapeMarkdown(value)}`);
  return truncate(`**${escapeMarkdown(notification.title)}**\n\n${escapeMarkdown(notification.text)}\n\n${facts.join('\n')}`, MARKDOWN_CHARS_MAX);
}

export const webexConnector: ConnectorFactory<WebexConfig> = {
  type: 'webex',
  configSchema: objectSchema({ botToken: secretSchema, roomId: { type: 'string', minLength: 1, maxLength: 512 }, baseUrl: urlSchema }, ['botToken', 'roomId']),
  doc: {
    sends: 'Webex Messages API (POST /v1/messages): roomId, markdown = bold title, text and the alert facts as a list; text as the plain fallback',
    exampleConfig: { botToken: '<webex bot token>', roomId: 'Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0' },
    rateLimits: '200 → delivered (message id is the receipt); 429 → retry at Retry-After; 5xx → retry; other 4xx (bot not in the room, bad token) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL, '/v1/messages');
    return {
      type: 'webex',
      send: (notification, { signal }) =>
        attempt(async () => {
          const body = { roomId: config.roomId, markdown: markdown(notification), text: truncate(`${notification.title}\n\n${plainText(notification)}`, MARKDOWN_CHARS_MAX) };
          const response = await request(deps.fetch, 'Webex', url, jsonInit('POST', { authorization: `Bearer ${config.botToken}` }, body, signal));
          if (!response.ok) return outcomeOfResponse(response, 'Webex', deps.now());
          const message = (await readJson(response)) as { id?: unknown } | undefined;
          return typeof message?.id === 'string' ? { kind: 'delivered', receipt: message.id } : { kind: 'delivered' };
        }),
    };
  },
};
