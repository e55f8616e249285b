// Notifications, dependencies and config validation shared by the part-A connector tests.

import { Ajv, type ErrorObject } from 'ajv';
import type { Alert } from '../../src/alerts/alert.js';
import type { Connector, ConnectorFactory, DeliveryOutcome, Notification } from '../../src/notifier/connector.js';

export const NOW_MS = Date.UTC(2026, 10, 23, 12, 0, 0);

export function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: 'SKU-1/zero_stock/WH-1/3',
    noticeId: 'SKU-1/zero_stock/WH-1/3',
    status: 'firing',
    type: 'zero_stock',
    severity: 'critical',
    sku: 'SKU-1',
    location: 'WH-1',
    region: 'EU',
    category: 'arcade',
    tags: ['flash-sale'],
    levels: { onHand: 0, reserved: 0, safetyStock: 2, available: -2 },
    threshold: { name: 'zero', value: 0, observed: 0 },
    raisedAt: '2026-11-23T11:59:00.000Z',
    resolvedAt: null,
    suggestedAction: 'Reorder from the supplier now.',
    summary: 'Out of stock: SKU-1 at WH-1.',
    ...overrides,
  };
}

export function notification(overrides: Partial<Notification> = {}, alertOverrides: Partial<Alert> = {}): Notification {
  const a = alert(alertOverrides);
  return {
    kind: 'alert',
    alert: a,
    alerts: [a],
    title: 'Out of stock: SKU-1',
    text: 'SKU-1 has run out at WH-1.\nOpen orders are held.',
    deliveryId: 'SKU-1/zero_stock/WH-1/3:ops-mail',
    ...overrides,
  };
}

/** A clock the test moves. */
export class Clock {
  constructor(public ms = NOW_MS) {}
  now = (): number => this.ms;
}

export function depsWith(clock = new Clock()): { fetch: typeof fetch; now: () => number } {
  return { fetch: globalThis.fetch, now: clock.now };
}

export function send(connector: Connector, n: Notification = notification()): Promise<DeliveryOutcome> {
  return connector.send(n, { signal: new AbortController().signal });
}

const ajv = new Ajv({ allErrors: true, strict: true });

/** The schema's errors for `config` ([] when valid), compiled as the notifier compiles it. */
export function configErrors(factory: ConnectorFactory<any>, config: unknown): ErrorObject[] {
  const validate = ajv.compile(factory.configSchema);
  return validate(config) ? [] : (validate.errors ?? []);
}

/** The field names the errors blame: missing ones and unknown ones. */
export function blamedFields(errors: ErrorObject[]): string[] {
  return errors.flatMap((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string };
    return params.missingProperty ?? params.additionalProperty ?? [];
  });
}

export function without<T extends Record<string, unknown>>(config: T, field: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  delete copy[field];
  return copy;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
