// Google Chat: a cardsV2 message posted to a space through its incoming-webhook URL
// (https://chat.googleapis.com/v1/spaces/{space}/messages?key=…&token=…). Notices of one alert
// share a thread (threadKey = alert id), and requestId = deliveryId makes a resend return the
// message already created instead of posting a second one.

import type { Connector, ConnectorFactory, Notification } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { alertFacts, attempt, jsonInit, objectSchema, readJson, request, truncate, urlSchema } from './vendor-request.js';

export interface GoogleChatConfig {
  /** The space's webhook URL, key and token included. */
  webhookUrl: string;
  /** Reply in one thread per alert (default true). */
  threadPerAlert?: boolean;
}

/** Chat messages are at most 32,000 bytes; leave room for the card's structure. */
const TEXT_CHARS_MAX = 4000;

export function chatCard(notification: Notification): unknown {
  const a = notification.alert;
  return {
    text: truncate(notification.title, 1000),
    cardsV2: [
      {
        cardId: 'stockade-alert',
        card: {
          header: { title: truncate(notification.title, 200), subtitle: `${a.severity} · ${a.type} · ${a.status}` },
          sections: [
            { widgets: [{ textParagraph: { text: truncate(notification.text, TEXT_CHARS_MAX) } }] },
            { header: 'Details', widgets: alertFacts(notification).map(([topLabel, text]) => ({ decoratedText: { topLabel, text: truncate(text, 500) } })) },
          ],
        },
      },
    ],
  };
}

export const googleChatConnector: ConnectorFactory<GoogleChatConfig> = {
  type: 'google-chat',
  configSchema: objectSchema({ webhookUrl: urlSchema, threadPerAlert: { type: 'boolean' } }, ['webhookUrl']),
  doc: {
    sends: 'Google Chat message with a cardsV2 card (header, text, alert facts as decoratedText) to a space through its incoming webhook; one thread per alert (threadKey), requestId = delivery id',
    exampleConfig: { webhookUrl: 'https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=REPLACE-ME&token=REPLACE-ME' },
    rateLimits: '200 → delivered (message name is the receipt); 429 RESOURCE_EXHAUSTED (about one message per second per space) → retry (Retry-After when given); 5xx → retry; other 4xx → permanent.',
  },
  create(config, deps): Connector {
    return {
      type: 'google-chat',
      send: (notification, { signal }) =>
        attempt(async () => {
          const url = new URL(config.webhookUrl);
          url.searchParams.set('requestId', notification.deliveryId);
          if (config.threadPerAlert ?? true) {
            url.searchParams.set('threadKey', notification.alert.id);
            url.searchParams.set('messageReplyOption', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
          }
          const response = await request(deps.fetch, 'Google Chat', url.toString(), jsonInit('POST', {}, chatCard(notification), signal));
          if (!response.ok) return outcomeOfResponse(response, 'Google Chat', deps.now());
          const message = (await readJson(response)) as { name?: unknown } | undefined;
          return typeof message?.name === 'string' ? { kind: 'delivered', receipt: message.name } : { kind: 'delivered' };
        }),
    };
  },
};
