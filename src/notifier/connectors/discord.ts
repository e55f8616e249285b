// Discord webhook: POST {webhookUrl}?wait=true with an embed. A 429 carries retry_after in the JSON
// body, in seconds (a float); that is the hint the notifier waits for.

import type { Connector, ConnectorFactory, Notification } from '../connector.js';
import { outcomeOfResponse, RETRY_AFTER_MS_MAX } from '../http-outcome.js';
import { alertFacts, attempt, jsonInit, nameSchema, objectSchema, readJson, request, truncate, urlSchema } from './vendor-request.js';

export interface DiscordConfig {
  /** https://discord.com/api/webhooks/{id}/{token} */
  webhookUrl: string;
  /** Overrides the webhook's default user name. */
  username?: string;
}

// Discord's embed limits: title 256, description 4096, 25 fields of name 256 / value 1024.
const TITLE_CHARS_MAX = 256;
const DESCRIPTION_CHARS_MAX = 4096;
const FIELDS_MAX = 25;
const FIELD_NAME_CHARS_MAX = 256;
const FIELD_VALUE_CHARS_MAX = 1024;

const COLOR_BY_SEVERITY = { info: 0x3498db, warning: 0xf39c12, critical: 0xe74c3c } as const;
const COLOR_RESOLVED = 0x2ecc71;

export function discordEmbed(notification: Notification): unknown {
  const a = notification.alert;
  return {
    title: truncate(notification.title, TITLE_CHARS_MAX),
    description: truncate(notification.text, DESCRIPTION_CHARS_MAX),
    color: a.status === 'resolved' ? COLOR_RESOLVED : COLOR_BY_SEVERITY[a.severity],
    timestamp: a.resolvedAt ?? a.raisedAt,
    fields: alertFacts(notification)
      .slice(0, FIELDS_MAX)
      .map(([name, value]) => ({ name: truncate(name, FIELD_NAME_CHARS_MAX), value: truncate(value, FIELD_VALUE_CHARS_MAX), inline: value.length <= 40 })),
    footer: { text: `Stockade · ${a.id}` },
  };
}

export const discordConnector: ConnectorFactory<DiscordConfig> = {
  type: 'discord',
  configSchema: objectSchema({ webhookUrl: urlSchema, username: { ...nameSchema, maxLength: 80 } }, ['webhookUrl']),
  doc: {
    sends: 'Discord webhook execute (POST {webhookUrl}?wait=true) with one embed: title, text, severity colour, alert facts as fields; mentions disabled',
    exampleConfig: { webhookUrl: 'https://discord.com/api/webhooks/123456789012345678/REPLACE-ME' },
    rateLimits: '200/204 → delivered; 429 → retry after the body\'s retry_after (seconds); 5xx → retry; other 4xx (unknown webhook, invalid embed) → permanent.',
  },
  create(config, deps): Connector {
    const url = new URL(config.webhookUrl);
    url.searchParams.set('wait', 'true');
    return {
      type: 'discord',
      send: (notification, { signal }) =>
        attempt(async () => {
          const body: Record<string, unknown> = { embeds: [discordEmbed(notification)], allowed_mentions: { parse: [] } };
          if (config.username !== undefined) body.username = config.username;
          const response = await request(deps.fetch, 'Discord', url.toString(), jsonInit('POST', {}, body, signal));
          if (response.status === 429) {
            const limited = (await readJson(response)) as { retry_after?: unknown; global?: unknown; message?: unknown } | undefined;
            const seconds = Number(limited?.retry_after);
            const reason = `Discord answered 429${limited?.global === true ? ' (global limit)' : ''}: ${String(limited?.message ?? 'rate limited')}`;
            if (Number.isFinite(seconds) && seconds >= 0) return { kind: 'retry', reason, retryAfterMs: Math.min(Math.ceil(seconds * 1000), RETRY_AFTER_MS_MAX) };
            return { kind: 'retry', reason };
          }
          if (!response.ok) return outcomeOfResponse(response, 'Discord', deps.now());
          const message = (await readJson(response)) as { id?: unknown } | undefined;
          return typeof message?.id === 'string' ? { kind: 'delivered', receipt: message.id } : { kind: 'delivered' };
        }),
    };
  },
};
