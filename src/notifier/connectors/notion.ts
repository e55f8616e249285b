// Notion: a page in a database (POST /v1/pages with parent.database_id), integration token.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  detailedText,
  idString,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface NotionConfig {
  token: string;
  databaseId: string;
  /** The database's title property (Notion names it "Name" by default). */
  titleProperty?: string;
  /** Optional select property that receives the severity, and rich-text property for the SKU. */
  severityProperty?: string;
  skuProperty?: string;
  notionVersion?: string;
  baseUrl?: string;
}

const VENDOR = 'Notion';
const BASE_URL_DEFAULT = 'https://api.notion.com';
/** The dated API version this connector's body follows (parent.database_id). */
const NOTION_VERSION_DEFAULT = '2022-06-28';
/** Notion's limit per rich-text object and per request's children. */
const RICH_TEXT_CHARS_MAX = 2000;
const CHILDREN_MAX = 100;

function richText(content: string): unknown[] {
  return [{ type: 'text', text: { content } }];
}

/** The body as paragraphs, each under Notion's 2000-character rich-text limit. */
function paragraphs(text: string): unknown[] {
  const blocks: unknown[] = [];
  for (const paragraph of text.split(/\n{2,}/)) {
    for (let start = 0; start < paragraph.length && blocks.length < CHILDREN_MAX; start += RICH_TEXT_CHARS_MAX) {
      blocks.push({ object: 'block', type: 'paragraph', paragraph: { rich_text: richText(paragraph.slice(start, start + RICH_TEXT_CHARS_MAX)) } });
    }
  }
  return blocks;
}

export const notionConnector: ConnectorFactory<NotionConfig> = {
  type: 'notion',
  configSchema: closedObject(
    {
      token: nonEmptyString,
      databaseId: idString,
      titleProperty: nonEmptyString,
      severityProperty: nonEmptyString,
      skuProperty: nonEmptyString,
      notionVersion: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      baseUrl: baseUrlString,
    },
    ['token', 'databaseId'],
  ),
  doc: {
    sends:
      'Notion page in a database (POST /v1/pages, Notion-Version 2022-06-28): parent.database_id, the title property = title, ' +
      'optional severity (select) and SKU (rich text) properties, the alert text and facts as paragraph blocks. Auth: Bearer integration token.',
    exampleConfig: { token: '<notion integration secret>', databaseId: '8e2c4a1b9d3f4e6a8b7c5d2e1f0a9b8c', severityProperty: 'Severity', skuProperty: 'SKU' },
    rateLimits:
      '429 rate_limited → retry after Retry-After (seconds); 409 conflict_error and 5xx → retry; 400 validation_error, 401, 403, ' +
      '404 object_not_found (database not shared with the integration) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, '/v1/pages');
    return {
      type: 'notion',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const { alert } = notification;
          const properties: Record<string, unknown> = {
            [config.titleProperty ?? 'Name']: { title: richText(truncate(notification.title, RICH_TEXT_CHARS_MAX)) },
          };
          if (config.severityProperty !== undefined) properties[config.severityProperty] = { select: { name: alert.severity } };
          if (config.skuProperty !== undefined) properties[config.skuProperty] = { rich_text: richText(alert.sku) };
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${config.token}`,
              'notion-version': config.notionVersion ?? NOTION_VERSION_DEFAULT,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            body: JSON.stringify({ parent: { database_id: config.databaseId }, properties, children: paragraphs(detailedText(notification)) }),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
