// Trello: a card on a list (POST /1/cards with idList, key and token).

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse, retryAfterMsOf } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  describeAnswer,
  detailedText,
  idString,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  retry,
  truncate,
} from './more-b-support.js';

export interface TrelloConfig {
  apiKey: string;
  token: string;
  /** The list ("Inventory" on the "Sales Alerts" board) the card goes on. */
  listId: string;
  labelIds?: string[];
  position?: 'top' | 'bottom';
  baseUrl?: string;
}

const VENDOR = 'Trello';
const BASE_URL_DEFAULT = 'https://api.trello.com';
const NAME_CHARS_MAX = 250;
/** Trello's limit for a card description. */
const DESC_CHARS_MAX = 16_384;
/**
 * Trello's limits are per 10-second window (100 requests per token, 300 per key) and its 429
 * carries no Retry-After: the window length is the wait.
 */
const RATE_WINDOW_MS = 10_000;

async function rateLimited(response: Response, now: number): Promise<DeliveryOutcome> {
  const { text } = await readBody(response);
  return retry(describeAnswer(VENDOR, response, text), retryAfterMsOf(response.headers, now) ?? RATE_WINDOW_MS);
}

export const trelloConnector: ConnectorFactory<TrelloConfig> = {
  type: 'trello',
  configSchema: closedObject(
    {
      apiKey: nonEmptyString,
      token: nonEmptyString,
      listId: idString,
      labelIds: { type: 'array', items: idString, maxItems: 10 },
      position: { enum: ['top', 'bottom'] },
      baseUrl: baseUrlString,
    },
    ['apiKey', 'token', 'listId'],
  ),
  doc: {
    sends:
      'Trello card (POST /1/cards?idList=…&key=…&token=…) on the configured list: name = title, desc = alert text and facts, ' +
      'pos top by default, idLabels when configured.',
    exampleConfig: { apiKey: '<trello api key>', token: '<trello token>', listId: '5f1a2b3c4d5e6f7a8b9c0d1e', labelIds: ['5f1a2b3c4d5e6f7a8b9c0d1f'] },
    rateLimits:
      '429 (API_TOKEN_LIMIT_EXCEEDED / API_KEY_LIMIT_EXCEEDED, no Retry-After) → retry after the 10 s window; 5xx → retry; ' +
      '400 (bad idList), 401 (invalid key/token), 404 → permanent.',
  },
  create(config, deps): Connector {
    const url = new URL(joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, '/1/cards'));
    url.searchParams.set('idList', config.listId);
    url.searchParams.set('key', config.apiKey);
    url.searchParams.set('token', config.token);
    const href = url.toString();
    return {
      type: 'trello',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const body: Record<string, unknown> = {
            name: truncate(notification.title, NAME_CHARS_MAX),
            desc: truncate(detailedText(notification), DESC_CHARS_MAX),
            pos: config.position ?? 'top',
          };
          if (config.labelIds !== undefined && config.labelIds.length > 0) body.idLabels = config.labelIds.join(',');
          const response = await deps.fetch(href, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
            signal,
          });
          if (response.status === 429) return rateLimited(response, deps.now());
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
