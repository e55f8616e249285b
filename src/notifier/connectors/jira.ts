// Jira Cloud: one issue per alert episode. The issue carries a label derived from alert.id, so a
// later notice of the same episode (a repeat, an escalation, the recovery) finds it with a JQL
// search (labels = "…") and adds a comment instead of opening a duplicate. A resend after a crash
// finds the issue the first attempt created the same way. Basic auth with email:API token.

import type { Connector, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import { alertFacts, attempt, basicAuth, emailSchema, jsonInit, joinUrl, objectSchema, readJson, request, secretSchema, sha256Hex, truncate, urlSchema } from './vendor-request.js';

export interface JiraConfig {
  /** https://your-site.atlassian.net */
  baseUrl: string;
  email: string;
  apiToken: string;
  projectKey: string;
  /** Issue type name (default "Task"). */
  issueType?: string;
  /** Extra labels on every issue created. */
  labels?: string[];
}

const ISSUE_TYPE_DEFAULT = 'Task';
/** Jira's summary field holds 255 characters. */
const SUMMARY_CHARS_MAX = 255;
const LABELS_MAX = 10;
/** The readable part of the alert label; the hash keeps it unique whatever is cut or replaced. */
const LABEL_READABLE_CHARS_MAX = 180;
/** Comments and descriptions are kept well under Jira's 32,767-character field limit. */
const BODY_CHARS_MAX = 20_000;

/** A label per alert episode: Jira labels allow no spaces; alert ids contain "/" and "*". */
export function jiraAlertLabel(alertId: string): string {
  const readable = alertId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, LABEL_READABLE_CHARS_MAX);
  return `stockade-${readable}-${sha256Hex(alertId).slice(0, 12)}`;
}

/** Atlassian Document Format: one paragraph per non-empty line (ADF rejects empty text nodes). */
export function adfDocument(lines: string[]): unknown {
  return {
    type: 'doc',
    version: 1,
    content: lines.filter((line) => line.length > 0).map((line) => ({ type: 'paragraph', content: [{ type: 'text', text: line }] })),
  };
}

function bodyLines(notification: Notification): string[] {
  const text = truncate(notification.text, BODY_CHARS_MAX);
  return [
    ...text.split('\n'),
    ...alertFacts(notification).map(([name, value]) => `${name}: ${value}`),
    `Alert ${notification.alert.id} · notice ${notification.alert.noticeId} · delivery ${notification.deliveryId}`,
  ];
}

export const jiraConnector: ConnectorFactory<JiraConfig> = {
  type: 'jira',
  configSchema: objectSchema(
    {
      baseUrl: urlSchema,
      email: emailSchema,
      apiToken: secretSchema,
      projectKey: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{1,9}$' },
      issueType: { type: 'string', minLength: 1, maxLength: 60 },
      labels: { type: 'array', items: { type: 'string', pattern: '^[^\\s]{1,255}$' }, maxItems: LABELS_MAX, uniqueItems: true },
    },
    ['baseUrl', 'email', 'apiToken', 'projectKey'],
  ),
  doc: {
    sends: 'Jira Cloud REST v3: search (POST /rest/api/3/search/jql, labels = "stockade-<alert id>-<hash>") then either a comment on the issue found (POST /rest/api/3/issue/{key}/comment) or a new issue (POST /rest/api/3/issue) with that label, summary = title, ADF description = text and alert facts',
    exampleConfig: { baseUrl: 'https://example.atlassian.net', email: 'stockade-bot@example.com', apiToken: '<jira api token>', projectKey: 'INV', issueType: 'Task' },
    rateLimits: 'issue created (201) or comment added (201) → delivered, the issue key is the receipt; 429 → retry at Retry-After; 5xx → retry; 400 (unknown project or issue type), 401, 403, 404 → permanent. Jira\'s search is eventually consistent: a repeat within seconds of the create may open a second issue.',
  },
  create(config, deps): Connector {
    const authorization = basicAuth(config.email, config.apiToken);
    const api = (path: string) => joinUrl(config.baseUrl, path);
    const call = (path: string, body: unknown, signal: AbortSignal) =>
      request(deps.fetch, 'Jira', api(path), jsonInit('POST', { authorization }, body, signal));

    async function findIssue(label: string, signal: AbortSignal): Promise<string | undefined | DeliveryOutcome> {
      const jql = `project = "${config.projectKey}" AND labels = "${label}" ORDER BY created DESC`;
      const response = await call('/rest/api/3/search/jql', { jql, fields: ['summary', 'status'], maxResults: 1 }, signal);
      if (!response.ok) return outcomeOfResponse(response, 'Jira search', deps.now());
      const found = (await readJson(response)) as { issues?: Array<{ key?: unknown }> } | undefined;
      const key = found?.issues?.[0]?.key;
      return typeof key === 'string' ? key : undefined;
    }

    return {
      type: 'jira',
      send: (notification, { signal }) =>
        attempt(async () => {
          const label = jiraAlertLabel(notification.alert.id);
          const found = await findIssue(label, signal);
          if (typeof found === 'object') return found;
          const lines = bodyLines(notification);
          if (found !== undefined) {
            const response = await call(`/rest/api/3/issue/${encodeURIComponent(found)}/comment`, { body: adfDocument([notification.title, ...lines]) }, signal);
            if (!response.ok) return outcomeOfResponse(response, 'Jira comment', deps.now());
            return { kind: 'delivered', receipt: found };
          }
          const fields = {
            project: { key: config.projectKey },
            summary: truncate(notification.title.replace(/[\r\n]+/g, ' '), SUMMARY_CHARS_MAX),
            issuetype: { name: config.issueType ?? ISSUE_TYPE_DEFAULT },
            labels: [label, ...(config.labels ?? [])],
            description: adfDocument(lines),
          };
          const response = await call('/rest/api/3/issue', { fields }, signal);
          if (!response.ok) return outcomeOfResponse(response, 'Jira create issue', deps.now());
          const created = (await readJson(response)) as { key?: unknown } | undefined;
          return typeof created?.key === 'string' ? { kind: 'delivered', receipt: created.key } : { kind: 'delivered' };
        }),
    };
  },
};
