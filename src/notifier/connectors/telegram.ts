// Telegram Bot API sendMessage: POST {baseUrl}/bot{token}/sendMessage. Telegram answers
// {ok:false, error_code, description, parameters} — a flood limit is error_code 429 with
// parameters.retry_after in seconds; a group upgraded to a supergroup names its new chat id.

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse, RETRY_AFTER_MS_MAX } from '../http-outcome.js';
import { attempt, jsonInit, joinUrl, objectSchema, plainText, readJson, request, secretSchema, truncate, urlSchema } from './vendor-request.js';

export interface TelegramConfig {
  botToken: string;
  /** A chat id (negative for groups) or "@channelusername". */
  chatId: string | number;
  /** Send info-severity notices without sound (default true). */
  silentInfo?: boolean;
  baseUrl?: string;
}

const BASE_URL = 'https://api.telegram.org';
/** Telegram's limit for one message's text. */
const TEXT_CHARS_MAX = 4096;

interface TelegramAnswer {
  ok?: boolean;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
  result?: { message_id?: number };
}

function outcomeOfAnswer(status: number, answer: TelegramAnswer): DeliveryOutcome {
  const code = answer.error_code ?? status;
  const reason = `Telegram answered ${code}: ${answer.description ?? 'no description'}`;
  if (answer.parameters?.migrate_to_chat_id !== undefined) {
    return { kind: 'permanent', reason: `${reason} (the group moved to chat ${answer.parameters.migrate_to_chat_id}; update chatId)` };
  }
  if (code === 429 || code >= 500) {
    const seconds = answer.parameters?.retry_after;
    return typeof seconds === 'number' && seconds >= 0 ? { kind: 'retry', reason, retryAfterMs: Math.min(seconds * 1000, RETRY_AFTER_MS_MAX) } : { kind: 'retry', reason };
  }
  return { kind: 'permanent', reason };
}

export const telegramConnector: ConnectorFactory<TelegramConfig> = {
  type: 'telegram',
  configSchema: objectSchema(
    {
      botToken: secretSchema,
      chatId: { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^(@[A-Za-z0-9_]{5,64}|-?[0-9]{1,20})$' }] },
      silentInfo: { type: 'boolean' },
      baseUrl: urlSchema,
    },
    ['botToken', 'chatId'],
  ),
  doc: {
    sends: 'Telegram Bot API sendMessage (POST /bot{token}/sendMessage): plain text = title, text and alert facts; info notices silent; link previews off',
    exampleConfig: { botToken: '<telegram bot token>', chatId: -1001234567890 },
    rateLimits: 'ok:true → delivered (message_id is the receipt); ok:false error_code 429 → retry after parameters.retry_after seconds; 5xx → retry; 400/403 (chat not found, bot blocked or kicked) → permanent; migrate_to_chat_id → permanent, naming the new id.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL, `/bot${config.botToken}/sendMessage`);
    return {
      type: 'telegram',
      send: (notification, { signal }) =>
        attempt(async () => {
          const body = {
            chat_id: config.chatId,
            text: truncate(`${notification.title}\n\n${plainText(notification)}`, TEXT_CHARS_MAX),
            disable_notification: (config.silentInfo ?? true) && notification.alert.severity === 'info',
            link_preview_options: { is_disabled: true },
          };
          const response = await request(deps.fetch, 'Telegram', url, jsonInit('POST', {}, body, signal));
          const answer = (await readJson(response.clone())) as TelegramAnswer | undefined;
          if (answer === undefined || typeof answer.ok !== 'boolean') return outcomeOfResponse(response, 'Telegram', deps.now());
          if (!answer.ok) return outcomeOfAnswer(response.status, answer);
          const id = answer.result?.message_id;
          return id === undefined ? { kind: 'delivered' } : { kind: 'delivered', receipt: String(id) };
        }),
    };
  },
};
