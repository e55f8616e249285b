// A notification as the notifier hands it to a connector, a fixed clock, and config validation
// the way the notifier does it (ajv, strict, every error, unknown keys by name).

import { Ajv } from 'ajv';
import type { Alert } from '../../src/alerts/alert.js';
import type { ConnectorDependencies, ConnectorFactory, Notification } from '../../src/notifier/connector.js';

export const NOW_MS = Date.UTC(2026, 10, 23, 12, 0, 0);

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: 'SKU-1/zero_stock/WH-1/3',
    noticeId: 'SKU-1/zero_stock/WH-1/3',
    status: 'firing',
    type: 'zero_stock',
    severity: 'critical',
    sku: 'SKU-1',
    location: 'WH-1',
    region: 'EU',
    category: 'shoes',
    tags: ['flash-sale'],
    levels: { onHand: 0, reserved: 0, safetyStock: 2, available: 0 },
    threshold: { name: 'zero', value: 0, observed: 0 },
    raisedAt: '2026-11-23T11:59:58.000Z',
    resolvedAt: null,
    suggestedAction: 'Reorder from the supplier or move stock from WH-2.',
    summary: 'Out of stock: SKU-1 at WH-1.',
    ...overrides,
  };
}

export function sampleNotification(overrides: Partial<Notification> = {}, alert: Alert = sampleAlert()): Notification {
  return {
    kind: 'alert',
    alert,
    alerts: [alert],
    title: 'Out of stock: SKU-1 at WH-1',
    text: 'Out of stock: SKU-1 – just 0 units left at WH-1.',
    deliveryId: 'SKU-1/zero_stock/WH-1/3:procurement',
    ...overrides,
  };
}

export class TestClock {
  constructor(public nowMs = NOW_MS) {}
  now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export function depsWith(clock = new TestClock()): ConnectorDependencies {
  return { fetch: globalThis.fetch, now: clock.now };
}

export function signal(): AbortSignal {
  return new AbortController().signal;
}

const ajv = new Ajv({ allErrors: true, strict: true });

/** The problems the notifier reports for a receiver config, each naming the field. */
export function configProblems(factory: ConnectorFactory<any>, config: unknown): string[] {
  const validate = ajv.compile(factory.configSchema);
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath || '(root)';
    if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    return `${where}: ${e.message}`;
  });
}
