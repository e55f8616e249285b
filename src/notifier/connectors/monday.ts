// Monday.com: an item on a board through the GraphQL API (create_item mutation).

import type { Connector, ConnectorFactory, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse, RETRY_AFTER_MS_MAX, retryAfterMsOf } from '../http-outcome.js';
import { attempt, baseUrlString, closedObject, describeAnswer, idString, nonEmptyString, readBody, receiptOf, retry, truncate } from './more-b-support.js';

export interface MondayConfig {
  apiToken: string;
  boardId: string;
  groupId?: string;
  /** Ids of text columns that receive the severity, the SKU and the alert text. */
  columns?: { severity?: string; sku?: string; details?: string };
  apiVersion?: string;
  /** https://api.monday.com/v2 */
  apiUrl?: string;
}

const VENDOR = 'monday.com';
const API_URL_DEFAULT = 'https://api.monday.com/v2';
/** The current version since 26 Oct 2026; monday.com keeps each version stable for six months at least. */
const API_VERSION_DEFAULT = '2026-10';
const ITEM_NAME_CHARS_MAX = 250;
const TEXT_COLUMN_CHARS_MAX = 2000;

const CREATE_ITEM = `mutation ($boardId: ID!, $groupId: String, $itemName: String!, $columnValues: JSON) {
  create_item (board_id: $boardId, group_id: $groupId, item_name: $itemName, column_values: $columnValues) { id }
}`;

/** Limit errors monday.com answers (inside a 200 or with 429): a later attempt passes. */
const LIMIT_CODES = new Set([
  'COMPLEXITY_BUDGET_EXHAUSTED',
  'ComplexityException',
  'RATE_LIMIT_EXCEEDED',
  'RateLimitExceeded',
  'DAILY_LIMIT_EXCEEDED',
  'CONCURRENCY_LIMIT_EXCEEDED',
  'maxConcurrencyExceeded',
  'IP_RATE_LIMIT_EXCEEDED',
  'FIELD_MINUTE_RATE_LIMIT_EXCEEDED',
]);
const TRANSIENT_CODES = new Set(['INTERNAL_SERVER_ERROR', 'InternalServerError', 'API_TEMPORARILY_BLOCKED']);

interface GraphQlError {
  message?: string;
  extensions?: { code?: string; retry_in_seconds?: number };
}

interface MondayAnswer {
  data?: { create_item?: { id?: string } | null } | null;
  errors?: GraphQlError[] | string[];
  /** Older API versions answer limits with top-level error_code and a "reset in N seconds" message. */
  error_code?: string;
  error_message?: string;
}

/** Seconds monday.com says to wait: retry_in_seconds, a "reset in N seconds" text, or Retry-After. */
function waitMsOf(answer: MondayAnswer, response: Response, now: number): number | undefined {
  for (const error of answer.errors ?? []) {
    const seconds = typeof error === 'object' ? error.extensions?.retry_in_seconds : undefined;
    if (typeof seconds === 'number' && seconds >= 0) return Math.min(seconds * 1000, RETRY_AFTER_MS_MAX);
  }
  const match = /reset in (\d+) seconds?/i.exec(answer.error_message ?? '');
  if (match) return Math.min(Number(match[1]) * 1000, RETRY_AFTER_MS_MAX);
  return retryAfterMsOf(response.headers, now);
}

function errorCodes(answer: MondayAnswer): string[] {
  const codes: string[] = [];
  if (answer.error_code) codes.push(answer.error_code);
  for (const error of answer.errors ?? []) if (typeof error === 'object' && error.extensions?.code) codes.push(error.extensions.code);
  return codes;
}

async function outcomeOf(response: Response, now: number): Promise<DeliveryOutcome> {
  if (!response.ok && response.status !== 429) return outcomeOfResponse(response, VENDOR, now);
  const { text, json } = await readBody(response);
  const answer = (json ?? {}) as MondayAnswer;
  const reason = describeAnswer(VENDOR, response, text);
  const codes = errorCodes(answer);
  if (response.status === 429 || codes.some((code) => LIMIT_CODES.has(code))) return retry(reason, waitMsOf(answer, response, now));
  if (codes.some((code) => TRANSIENT_CODES.has(code))) return retry(reason, undefined);
  const id = answer.data?.create_item?.id;
  if ((answer.errors?.length ?? 0) > 0 || answer.error_code !== undefined || id === undefined) return { kind: 'permanent', reason };
  return receiptOf(id);
}

export const mondayConnector: ConnectorFactory<MondayConfig> = {
  type: 'monday',
  configSchema: closedObject(
    {
      apiToken: nonEmptyString,
      boardId: { type: 'string', pattern: '^[0-9]{1,20}$' },
      groupId: idString,
      columns: closedObject({ severity: idString, sku: idString, details: idString }, []),
      apiVersion: { type: 'string', pattern: '^\\d{4}-\\d{2}$' },
      apiUrl: baseUrlString,
    },
    ['apiToken', 'boardId'],
  ),
  doc: {
    sends:
      'monday.com item (GraphQL create_item mutation, POST https://api.monday.com/v2, API-Version 2026-10) on the configured ' +
      'board and group: item_name = title, column_values (a JSON string) filling the configured text columns with severity, ' +
      'SKU and details. Auth: Authorization: <API token>.',
    exampleConfig: { apiToken: '<monday api token>', boardId: '1234567890', groupId: 'topics', columns: { severity: 'text', sku: 'text4' } },
    rateLimits:
      'Limit errors come inside a 200 (errors[].extensions.code COMPLEXITY_BUDGET_EXHAUSTED, DAILY_LIMIT_EXCEEDED …, or the ' +
      'older error_code ComplexityException) or as 429 → retry after retry_in_seconds / "reset in N seconds" / Retry-After. ' +
      'Other GraphQL errors (unknown board, bad column value, unauthorized) → permanent.',
  },
  create(config, deps): Connector {
    const url = config.apiUrl ?? API_URL_DEFAULT;
    return {
      type: 'monday',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const columnValues: Record<string, string> = {};
          const { columns } = config;
          if (columns?.severity !== undefined) columnValues[columns.severity] = notification.alert.severity;
          if (columns?.sku !== undefined) columnValues[columns.sku] = notification.alert.sku;
          if (columns?.details !== undefined) columnValues[columns.details] = truncate(notification.text, TEXT_COLUMN_CHARS_MAX);
          const variables: Record<string, unknown> = {
            boardId: config.boardId,
            itemName: truncate(notification.title, ITEM_NAME_CHARS_MAX),
            // monday.com takes column_values as a JSON-encoded string, not an object.
            columnValues: JSON.stringify(columnValues),
          };
          if (config.groupId !== undefined) variables.groupId = config.groupId;
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: {
              authorization: config.apiToken,
              'api-version': config.apiVersion ?? API_VERSION_DEFAULT,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            body: JSON.stringify({ query: CREATE_ITEM, variables }),
            signal,
          });
          return outcomeOf(response, deps.now());
        }),
    };
  },
};
