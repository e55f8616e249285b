// Alerts, notifications and connector dependencies for connector tests: one firing alert with
// every field set, variants by override, and a clock the test fixes.

import type { Alert } from '../../src/alerts/alert.js';
import type { ConnectorDependencies, Notification } from '../../src/notifier/connector.js';

/** 2026-11-23T12:00:00Z: every connector test reads this clock unless it moves it. */
export const FIXED_NOW_MS = Date.UTC(2026, 10, 23, 12, 0, 0);

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  const id = overrides.id ?? 'ARC-PAC-01/below_minimum/WH-BER/3';
  return {
    id,
    noticeId: id,
    status: 'firing',
    type: 'below_minimum',
    severity: 'warning',
    sku: 'ARC-PAC-01',
    location: 'WH-BER',
    region: 'eu-central',
    category: 'arcade',
    tags: ['flagship'],
    levels: { onHand: 5, reserved: 2, safetyStock: 0, available: 3 },
    threshold: { name: 'minimum', value: 5, observed: 3 },
    raisedAt: '2026-11-23T11:59:58.000Z',
    resolvedAt: null,
    suggestedAction: 'Reorder 20 units from the supplier',
    summary: 'Low stock: ARC-PAC-01 – just 3 units left.',
    ...overrides,
  };
}

export function resolvedAlert(overrides: Partial<Alert> = {}): Alert {
  const firing = sampleAlert(overrides);
  return {
    ...firing,
    noticeId: `${firing.id}/resolved`,
    status: 'resolved',
    resolvedAt: '2026-11-23T12:10:00.000Z',
    levels: { onHand: 25, reserved: 2, safetyStock: 0, available: 23 },
    threshold: { ...firing.threshold, observed: 23 },
    summary: 'Back in stock: ARC-PAC-01 – 23 units available.',
    ...overrides,
  };
}

export function sampleNotification(overrides: Partial<Notification> = {}): Notification {
  const alert = overrides.alert ?? sampleAlert();
  return {
    kind: alert.status === 'resolved' ? 'recovery' : 'alert',
    alert,
    alerts: [alert],
    title: alert.status === 'resolved' ? `Recovered: ${alert.sku}` : `Low stock: ${alert.sku}`,
    text: alert.summary,
    deliveryId: `${alert.noticeId}#logistics-slack`,
    ...overrides,
  };
}

/** A digest of several alerts, as the notifier groups them. */
export function digestNotification(alerts: Alert[]): Notification {
  return {
    kind: 'digest',
    alert: alerts[0],
    alerts,
    title: `${alerts.length} stock alerts`,
    text: `${alerts.length} SKUs need attention`,
    deliveryId: `digest/${alerts.map((a) => a.noticeId).join(',')}#procurement`,
  };
}

export function testDeps(now: () => number = () => FIXED_NOW_MS): ConnectorDependencies {
  return { fetch: globalThis.fetch, now };
}

/** A signal that never aborts, for attempts that should run to their end. */
export function openSignal(): { signal: AbortSignal } {
  return { signal: new AbortController().signal };
}
