// Microsoft Teams through a Workflows (Power Automate) webhook: the "Send webhook alerts to a
// channel" flow takes a `message` envelope whose first attachment is an Adaptive Card and posts
// that card. The old Office 365 connector webhooks (MessageCard) are retired, so only this shape.

import type { Alert } from '../../alerts/alert.js';
import type { Connector, ConnectorDependencies, ConnectorFactory, Notification } from '../connector.js';
import { HTTP_URL_SCHEMA, alertFacts, checkedConfig, digestLines, isDigest, postOnce, truncate } from './common.js';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
/** 1.4 is the newest schema every Teams client renders in a channel post. */
export const ADAPTIVE_CARD_VERSION = '1.4';

// Teams refuses posts over about 28 KB; these caps keep a card well under it.
const TITLE_CHARS_MAX = 300;
const TEXT_CHARS_MAX = 4000;

function colorOf(alert: Alert): 'Good' | 'Warning' | 'Attention' | 'Default' {
  if (alert.status === 'resolved') return 'Good';
  if (alert.severity === 'critical') return 'Attention';
  if (alert.severity === 'warning') return 'Warning';
  return 'Default';
}

/** The Adaptive Card of a notification (title, text, the alert's facts, the suggested action). */
export function adaptiveCard(notification: Notification): Record<string, unknown> {
  const alert = notification.alert;
  const body: Array<Record<string, unknown>> = [
    {
      type: 'TextBlock',
      text: truncate(notification.title || alert.summary, TITLE_CHARS_MAX),
      size: 'Large',
      weight: 'Bolder',
      color: colorOf(alert),
      wrap: true,
    },
  ];
  if (notification.text) body.push({ type: 'TextBlock', text: truncate(notification.text, TEXT_CHARS_MAX), wrap: true });
  if (isDigest(notification)) {
    for (const line of digestLines(notification.alerts)) body.push({ type: 'TextBlock', text: `- ${line}`, wrap: true, spacing: 'None' });
  } else {
    body.push({ type: 'FactSet', facts: alertFacts(alert).map((fact) => ({ title: fact.label, value: fact.value })) });
    if (alert.status === 'firing' && alert.suggestedAction) {
      body.push({ type: 'TextBlock', text: `**Suggested action:** ${truncate(alert.suggestedAction, TEXT_CHARS_MAX)}`, wrap: true });
    }
  }
  body.push({ type: 'TextBlock', text: `Stockade ${notification.kind} · alert ${alert.id}`, isSubtle: true, size: 'Small', wrap: true });
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: ADAPTIVE_CARD_VERSION,
    body,
    msteams: { width: 'Full' },
  };
}

/** The envelope the Workflows webhook trigger reads: `attachments[0].content` is the card. */
export function teamsMessage(notification: Notification): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: adaptiveCard(notification) }],
  };
}

export interface TeamsConfig {
  /** The flow's HTTP trigger URL (it carries a signature: a secret, keep it out of logs). */
  url: string;
}

export const teamsConnector: ConnectorFactory<TeamsConfig> = {
  type: 'teams',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: { url: HTTP_URL_SCHEMA },
  },
  doc: {
    sends:
      'Microsoft Teams Workflows webhook (POST to the flow URL, JSON): `{type:"message", attachments:[{contentType:"application/vnd.microsoft.card.adaptive", content:<Adaptive Card 1.4>}]}` with the title, text, the alert facts as a FactSet and the suggested action.',
    exampleConfig: {
      url: 'https://default0000.00.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/REPLACE-ME/triggers/manual/paths/invoke?api-version=1&sig=REPLACE-ME',
    },
    rateLimits:
      'The flow answers 202 Accepted: the run was queued, not that the card was posted (a failing run shows only in the flow’s run history). 429 (Power Automate throttling) → retry after Retry-After; 408/5xx → retry; 400/401/403/404 (bad request, expired or deleted flow) → permanent. No idempotency key: a retry after a timeout may post twice.',
  },
  create(config: TeamsConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<TeamsConfig>(teamsConnector, config);
    return {
      type: 'teams',
      send(notification, { signal }) {
        return postOnce(
          deps,
          { vendor: 'Teams', url: c.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(teamsMessage(notification)) },
          signal,
        );
      },
    };
  },
};
