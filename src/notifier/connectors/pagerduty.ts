// PagerDuty Events API v2: POST {baseUrl}/v2/enqueue with the integration's routing key. A firing
// alert is a `trigger`, its recovery notice a `resolve`, both with dedup_key = alert.id, so every
// notice of one episode lands on one PagerDuty alert and a resend is absorbed by PagerDuty.
// A digest sends one event per alert, in order; a retry resends all of them, which the dedup key
// makes harmless (a repeated trigger only adds a log entry, a repeated resolve is dropped).

import type { Alert, AlertSeverity } from '../../alerts/alert.js';
import type { Connector, ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { retryAfterMsOf } from '../http-outcome.js';
import { HTTP_URL_SCHEMA, checkedConfig, commonOutcome, parseJson, postOnce, readTextCapped, trimSlash, truncate } from './common.js';

export const PAGERDUTY_EVENTS_BASE_URL = 'https://events.pagerduty.com';

/** PagerDuty's own advice for a 429 without a hint: try again about 30 seconds later. */
export const PAGERDUTY_RETRY_AFTER_MS_DEFAULT = 30_000;

// Documented field limits: summary 1024 characters, dedup_key 255.
const SUMMARY_CHARS_MAX = 1024;
const DEDUP_KEY_CHARS_MAX = 255;

/** Stockade severity → PagerDuty severity (PagerDuty also has `error`, which we do not use). */
export const PAGERDUTY_SEVERITY: Record<AlertSeverity, 'info' | 'warning' | 'critical'> = {
  info: 'info',
  warning: 'warning',
  critical: 'critical',
};

export interface PagerDutyConfig {
  /** The 32-character integration key of an Events API v2 integration. */
  routingKey: string;
  /** payload.source: what is affected; the alert's location is appended. Defaults to "stockade". */
  source?: string;
  /** Shown as the event's client, with a link when clientUrl is set (e.g. the dashboard). */
  client?: string;
  clientUrl?: string;
  /** Defaults to https://events.pagerduty.com. */
  baseUrl?: string;
}

/** The event for one alert notice: trigger while firing, resolve once resolved. */
export function pagerDutyEvent(config: PagerDutyConfig, notification: Notification, alert: Alert): Record<string, unknown> {
  const dedupKey = alert.id.slice(0, DEDUP_KEY_CHARS_MAX);
  if (alert.status === 'resolved') {
    return { routing_key: config.routingKey, event_action: 'resolve', dedup_key: dedupKey };
  }
  const source = config.source ?? 'stockade';
  // A digest's title describes the batch; each event needs its own alert's summary.
  const summary = notification.alerts.length > 1 ? alert.summary : notification.title || alert.summary;
  const event: Record<string, unknown> = {
    routing_key: config.routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: truncate(summary, SUMMARY_CHARS_MAX),
      source: alert.location ? `${source}/${alert.location}` : source,
      severity: PAGERDUTY_SEVERITY[alert.severity],
      timestamp: alert.raisedAt,
      component: alert.sku,
      group: alert.region ?? alert.category ?? undefined,
      class: alert.type,
      custom_details: {
        text: notification.alerts.length > 1 ? alert.summary : notification.text,
        sku: alert.sku,
        location: alert.location,
        levels: alert.levels,
        threshold: alert.threshold,
        suggested_action: alert.suggestedAction,
        notice_id: alert.noticeId,
        tags: alert.tags,
      },
    },
  };
  if (config.client) event.client = config.client;
  if (config.clientUrl) event.client_url = config.clientUrl;
  return event;
}

/** 202 → delivered (receipt = dedup_key); 429 → retry (30 s when no hint); 400 → permanent. */
export async function pagerDutyOutcome(response: Response, now: number): Promise<DeliveryOutcome> {
  if (response.ok) {
    const answer = parseJson(await readTextCapped(response)) as { dedup_key?: unknown } | undefined;
    return typeof answer?.dedup_key === 'string' ? { kind: 'delivered', receipt: answer.dedup_key } : { kind: 'delivered' };
  }
  if (response.status === 429) {
    const body = await readTextCapped(response);
    return {
      kind: 'retry',
      reason: `PagerDuty answered 429${body ? `: ${body.slice(0, 300)}` : ''}`,
      retryAfterMs: retryAfterMsOf(response.headers, now) ?? PAGERDUTY_RETRY_AFTER_MS_DEFAULT,
    };
  }
  return commonOutcome(response, 'PagerDuty', now);
}

export const pagerDutyConnector: ConnectorFactory<PagerDutyConfig> = {
  type: 'pagerduty',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['routingKey'],
    properties: {
      routingKey: { type: 'string', pattern: '^[A-Za-z0-9]{32}$' },
      source: { type: 'string', minLength: 1, maxLength: 255 },
      client: { type: 'string', minLength: 1, maxLength: 255 },
      clientUrl: HTTP_URL_SCHEMA,
      baseUrl: HTTP_URL_SCHEMA,
    },
  },
  doc: {
    sends:
      'PagerDuty Events API v2 (POST {baseUrl}/v2/enqueue, JSON): `trigger` for a firing alert and `resolve` for its recovery, dedup_key = alert id; payload summary (the title), source (source/location), severity (info/warning/critical), timestamp, component (SKU), group (region), class (alert type) and custom_details (levels, threshold, suggested action). A digest sends one event per alert.',
    exampleConfig: { routingKey: 'REPLACE0WITH0YOUR0INTEGRATIONKEY', source: 'stockade-prod', client: 'Stockade', clientUrl: 'https://stockade.example.com/dashboard' },
    rateLimits:
      'About 120 events per minute per routing key. 429 → retry after Retry-After, or after 30 s (PagerDuty’s advice) when none is given; 5xx → retry; 400 (invalid event) and other 4xx → permanent.',
  },
  create(config: PagerDutyConfig, deps: ConnectorDependencies): Connector {
    const c = checkedConfig<PagerDutyConfig>(pagerDutyConnector, config);
    const url = `${trimSlash(c.baseUrl ?? PAGERDUTY_EVENTS_BASE_URL)}/v2/enqueue`;
    return {
      type: 'pagerduty',
      async send(notification, { signal }) {
        const receipts: string[] = [];
        for (const alert of notification.alerts.length > 0 ? notification.alerts : [notification.alert]) {
          const outcome = await postOnce(
            deps,
            { vendor: 'PagerDuty', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(pagerDutyEvent(c, notification, alert)) },
            signal,
            (response) => pagerDutyOutcome(response, deps.now()),
          );
          if (outcome.kind !== 'delivered') return outcome;
          if (outcome.receipt) receipts.push(outcome.receipt);
        }
        return receipts.length > 0 ? { kind: 'delivered', receipt: receipts.join(' ') } : { kind: 'delivered' };
      },
    };
  },
};
