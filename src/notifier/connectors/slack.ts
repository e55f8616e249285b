// Slack: the Web API's chat.postMessage with a bot token, and incoming webhooks. Both carry the
// same Block Kit message (header, text, the alert's facts as fields, the suggested action) with
// `text` as the notification fallback. The Web API reports most failures as `ok:false` inside a
// 200, so its answer is read before the common HTTP rule applies; webhooks use HTTP statuses.

import type { Alert } from '../../alerts/alert.js';
import type { Connector, ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { commonOutcome, parseJson, readTextCapped } from './common.js';
import { HTTP_URL_SCHEMA, alertFacts, checkedConfig, digestLines, isDigest, postOnce, trimSlash, truncate } from './common.js';
import { retryAfterMsOf } from '../http-outcome.js';

export const SLACK_API_BASE_URL = 'https://slack.com/api';

// Block Kit limits (Slack's reference): header text 150, section text 3000, field text 2000,
// 10 fields per section. The top-level text is the notification and screen-reader fallback.
const HEADER_CHARS_MAX = 150;
const SECTION_CHARS_MAX = 3000;
const FIELD_CHARS_MAX = 2000;
const FALLBACK_TEXT_CHARS_MAX = 4000;

/**
 * `ok:false` errors a later attempt can cure: rate limits, Slack's own failures, and an org
 * migration in progress. Every other error (channel_not_found, invalid_auth, not_in_channel,
 * is_archived, invalid_blocks …) needs a person, so it is permanent.
 */
const SLACK_RETRYABLE_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'message_limit_exceeded',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

/** Slack's mrkdwn treats &, < and > as control characters; everything else is literal. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function factFields(alert: Alert): Array<Record<string, unknown>> {
  return alertFacts(alert)
    .slice(0, 10)
    .map((fact) => ({ type: 'mrkdwn', text: truncate(`*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`, FIELD_CHARS_MAX) }));
}

/** The Block Kit message of a notification: blocks plus the plain `text` fallback. */
export function slackMessage(notification: Notification): { text: string; blocks: Array<Record<string, unknown>> } {
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: truncate(notification.title || notification.alert.summary, HEADER_CHARS_MAX), emoji: true } },
  ];
  if (notification.text) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(notification.text), SECTION_CHARS_MAX) } });
  }
  if (isDigest(notification)) {
    const list = digestLines(notification.alerts).map((line) => `• ${escapeMrkdwn(line)}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(list, SECTION_CHARS_MAX) } });
  } else {
    const alert = notification.alert;
    blocks.push({ type: 'section', fields: factFields(alert) });
    if (alert.status === 'firing' && alert.suggestedAction) {
      blocks.push({
        type: 'section',
        text: { type: 'mrkdwn', text: truncate(`*Suggested action:* ${escapeMrkdwn(alert.suggestedAction)}`, SECTION_CHARS_MAX) },
      });
    }
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: truncate(escapeMrkdwn(`Stockade ${notification.kind} · alert ${notification.alert.id}`), SECTION_CHARS_MAX) }],
  });
  const fallback = notification.text ? `${notification.title}\n${notification.text}` : notification.title;
  return { text: truncate(fallback || notification.alert.summary, FALLBACK_TEXT_CHARS_MAX), blocks };
}

// ---- chat.postMessage -------------------------------------------------------------------------

export interface SlackConfig {
  /** Bot token (xoxb-…) with the chat:write scope. */
  token: string;
  /** Channel ID (C0123…) or name (#inventory). */
  channel: string;
  /** Defaults to https://slack.com/api; tests and proxies override it. */
  baseUrl?: string;
}

interface SlackAnswer {
  ok?: unknown;
  error?: unknown;
  ts?: unknown;
}

/** Slack's answer to chat.postMessage → outcome: `ok:false` first, then the common HTTP rule. */
export async function slackApiOutcome(response: Response, now: number): Promise<DeliveryOutcome> {
  if (response.status !== 200) return commonOutcome(response, 'Slack', now);
  const answer = parseJson(await readTextCapped(response)) as SlackAnswer | undefined;
  if (!answer || typeof answer !== 'object') return { kind: 'retry', reason: 'Slack answered 200 with a body that is not JSON' };
  if (answer.ok === true) return typeof answer.ts === 'string' ? { kind: 'delivered', receipt: answer.ts } : { kind: 'delivered' };
  const error = typeof answer.error === 'string' ? answer.error : 'unknown_error';
  const reason = `Slack answered ok:false, error ${error}`;
  if (!SLACK_RETRYABLE_ERRORS.has(error)) return { kind: 'permanent', reason };
  const retryAfterMs = retryAfterMsOf(response.headers, now);
  return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
}

export const slackConnector: ConnectorFactory<SlackConfig> = {
  type: 'slack',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['token', 'channel'],
    properties: {
      token: { type: 'string', pattern: '^xox[a-z]-\\S+$', maxLength: 512 },
      channel: { type: 'string', minLength: 1, maxLength: 256 },
      baseUrl: HTTP_URL_SCHEMA,
    },
  },
  doc: {
    sends:
      'Slack Web API chat.postMessage (POST {baseUrl}/chat.postMessage, Authorization: Bearer <bot token>, JSON) with Block Kit blocks — header, text, the alert facts as fields, the suggested action — and `text` as the notification fallback; message metadata carries the delivery id.',
    exampleConfig: { token: 'xoxb-REPLACE-ME', channel: '#inventory-alerts' },
    rateLimits:
      'HTTP 429 → retry after Retry-After. `ok:false` inside a 200: ratelimited, rate_limited, message_limit_exceeded, internal_error, fatal_error, service_unavailable, request_timeout and team_added_to_org → retry (Retry-After honoured when sent); any other error (channel_not_found, invalid_auth, not_in_channel, is_archived, invalid_blocks …) → permanent. Other statuses follow the common rule (5xx retry, 4xx permanent). Slack takes no idempotency key, so a retry after a timeout may post twice; the message metadata names the delivery id to find such a pair.',
  },
  create(config: SlackConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<SlackConfig>(slackConnector, config);
    const url = `${trimSlash(c.baseUrl ?? SLACK_API_BASE_URL)}/chat.postMessage`;
    return {
      type: 'slack',
      send(notification, { signal }) {
        const body = {
          channel: c.channel,
          ...slackMessage(notification),
          unfurl_links: false,
          unfurl_media: false,
          // Searchable in Slack and in exports: which delivery and alert a message came from.
          metadata: {
            event_type: 'stockade_notification',
            event_payload: { delivery_id: notification.deliveryId, alert_id: notification.alert.id, kind: notification.kind },
          },
        };
        return postOnce(
          deps,
          {
            vendor: 'Slack',
            url,
            headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json; charset=utf-8' },
            body: JSON.stringify(body),
          },
          signal,
          (response) => slackApiOutcome(response, deps.now()),
        );
      },
    };
  },
};

// ---- incoming webhooks ------------------------------------------------------------------------

export interface SlackWebhookConfig {
  /** The incoming webhook URL (https://hooks.slack.com/services/…); a secret, keep it out of logs. */
  url: string;
}

export const slackWebhookConnector: ConnectorFactory<SlackWebhookConfig> = {
  type: 'slack-webhook',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: { url: HTTP_URL_SCHEMA },
  },
  doc: {
    sends: 'Slack incoming webhook (POST to the webhook URL, JSON) with the same Block Kit message as `slack`; the channel is the one the webhook was created for.',
    exampleConfig: { url: 'https://hooks.slack.com/services/T000/B000/REPLACE-ME' },
    rateLimits:
      'Webhooks answer with HTTP statuses: 429 → retry after Retry-After; 500 (rollup_error) and other 5xx → retry; 400 invalid_payload, 403 action_prohibited, 404 channel_not_found/no_service, 410 channel_is_archived → permanent. No idempotency key: a retry after a timeout may post twice.',
  },
  create(config: SlackWebhookConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<SlackWebhookConfig>(slackWebhookConnector, config);
    return {
      type: 'slack-webhook',
      send(notification, { signal }) {
        return postOnce(
          deps,
          {
            vendor: 'Slack webhook',
            url: c.url,
            headers: { 'content-type': 'application/json; charset=utf-8' },
            body: JSON.stringify(slackMessage(notification)),
          },
          signal,
        );
      },
    };
  },
};
