// Message text per receiver: `{{name}}` placeholders filled from the alert. Unknown placeholders
// are refused when the configuration is loaded, so rendering never meets one.

import type { Alert, AlertType } from '../alerts/alert.js';
import type { NotificationKind } from './connector.js';
import type { ReceiverTemplates, TemplatePair } from './config.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

function valuesOf(alert: Alert, count: number): Record<string, string> {
  return {
    id: alert.id,
    sku: alert.sku,
    type: alert.type,
    severity: alert.severity,
    status: alert.status,
    location: alert.location ?? 'all locations',
    region: alert.region ?? '',
    category: alert.category ?? '',
    tags: alert.tags.join(', '),
    available: String(alert.levels.available),
    onHand: String(alert.levels.onHand),
    reserved: String(alert.levels.reserved),
    safetyStock: String(alert.levels.safetyStock),
    threshold: String(alert.threshold.value),
    thresholdName: alert.threshold.name,
    observed: String(alert.threshold.observed),
    raisedAt: alert.raisedAt,
    resolvedAt: alert.resolvedAt ?? '',
    suggestedAction: alert.suggestedAction,
    summary: alert.summary,
    count: String(count),
  };
}

export const TEMPLATE_PLACEHOLDERS: ReadonlySet<string> = new Set(Object.keys(valuesOf(sampleAlert(), 1)));

export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

export function render(template: string, alert: Alert, count = 1): string {
  const values = valuesOf(alert, count);
  return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}

/** Built-in text per alert type, used when a receiver names none. */
const TYPE_DEFAULTS: Record<AlertType, TemplatePair> = {
  zero_stock: { title: 'Out of stock: {{sku}}', text: 'Out of stock: {{sku}} at {{location}} – {{available}} units available. {{suggestedAction}}' },
  below_minimum: { title: 'Low stock: {{sku}}', text: 'Low stock: {{sku}} – just {{available}} units left at {{location}} (minimum {{threshold}}).' },
  depletion: { title: 'Fast depletion: {{sku}}', text: 'Stock of {{sku}} at {{location}} is depleting: {{observed}} against {{threshold}}. {{available}} units left.' },
  lead_time_exhaustion: {
    title: 'Reorder now: {{sku}}',
    text: '{{sku}} runs out before a reorder can arrive: {{available}} units left at {{location}}. {{suggestedAction}}',
  },
  high_demand: { title: 'High demand: {{sku}}', text: '{{sku}} is selling fast ({{observed}} against {{threshold}}); {{available}} units left.' },
  reserved_threatened: {
    title: 'Reservations at risk: {{sku}}',
    text: 'On hand of {{sku}} at {{location}} ({{onHand}}) fell below reserved ({{reserved}}). {{suggestedAction}}',
  },
  fulfilment_failed: { title: 'Fulfilment failed: {{sku}}', text: 'A fulfilment of {{sku}} at {{location}} failed. {{suggestedAction}}' },
  manual_out_of_stock: { title: 'Flagged out of stock: {{sku}}', text: '{{sku}} was flagged out of stock by warehouse staff at {{location}}.' },
};

const KIND_DEFAULTS: Record<Exclude<NotificationKind, 'alert'>, TemplatePair> = {
  recovery: { title: 'Resolved: {{sku}}', text: 'Resolved: {{type}} for {{sku}} at {{location}}; {{available}} units available.' },
  digest: { title: '{{count}} stock alerts', text: '{{count}} stock alerts, the first: {{summary}}' },
  escalation: {
    title: 'Escalated: {{sku}} ({{type}})',
    text: 'Nobody acknowledged {{type}} for {{sku}} at {{location}} since {{raisedAt}}: {{summary}} {{suggestedAction}}',
  },
  reminder: { title: 'Still firing: {{sku}} ({{type}})', text: 'Still firing since {{raisedAt}}: {{summary}}' },
};

export function templateFor(templates: ReceiverTemplates, kind: NotificationKind, type: AlertType): TemplatePair {
  if (kind === 'alert') return templates.byType?.[type] ?? templates.default ?? TYPE_DEFAULTS[type];
  return templates[kind] ?? KIND_DEFAULTS[kind];
}

/** Title and text of one notification; a digest lists one line per alert after its heading. */
export function renderNotification(templates: ReceiverTemplates, kind: NotificationKind, alerts: Alert[]): { title: string; text: string } {
  const first = alerts[0];
  const pair = templateFor(templates, kind, first.type);
  const title = render(pair.title, first, alerts.length);
  let text = render(pair.text, first, alerts.length);
  if (kind === 'digest') {
    const lines = alerts.map((a) => {
      const own = a.status === 'resolved' ? templateFor(templates, 'recovery', a.type) : templateFor(templates, 'alert', a.type);
      return `- ${render(own.text, a)}`;
    });
    text = `${text}\n${lines.join('\n')}`;
  }
  return { title, text };
}

function sampleAlert(): Alert {
  return {
    id: 'S/zero_stock/*/1',
    noticeId: 'S/zero_stock/*/1',
    status: 'firing',
    type: 'zero_stock',
    severity: 'critical',
    sku: 'S',
    location: null,
    region: null,
    category: null,
    tags: [],
    levels: { onHand: 0, reserved: 0, safetyStock: 0, available: 0 },
    threshold: { name: 'zero', value: 0, observed: 0 },
    raisedAt: '1970-01-01T00:00:00.000Z',
    resolvedAt: null,
    suggestedAction: '',
    summary: '',
  };
}
