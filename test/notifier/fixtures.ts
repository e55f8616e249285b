// Alerts, configurations and a running notifier for the notifier tests.

import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { alertSubject, type Alert } from '../../src/alerts/alert.js';
import type { Clock } from '../../src/notifier/clock.js';
import { buildNotifierConfig, type NotifierConfig } from '../../src/notifier/config.js';
import { Notifier } from '../../src/notifier/notifier.js';
import { NOTIFIER_USER, STOCKADE_USER, type NotifierNatsServer } from './nats.js';
import { TEST_REGISTRY } from './connectors.js';

export const ADMIN_TOKEN = 'test-notifier-admin-token-0001';

let alertSeq = 0;
export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  const sku = overrides.sku ?? `SKU-${++alertSeq}`;
  const type = overrides.type ?? 'below_minimum';
  const id = overrides.id ?? `${sku}/${type}/${overrides.location ?? 'WH-1'}/1`;
  const status = overrides.status ?? 'firing';
  return {
    id,
    noticeId: status === 'resolved' ? `${id}/resolved` : id,
    status,
    type,
    severity: 'warning',
    sku,
    location: 'WH-1',
    region: 'eu-west',
    category: 'shoes',
    tags: ['summer'],
    levels: { onHand: 5, reserved: 2, safetyStock: 0, available: 3 },
    threshold: { name: 'minimum', value: 10, observed: 3 },
    raisedAt: new Date(Date.UTC(2026, 10, 23, 12, 0, 0)).toISOString(),
    resolvedAt: status === 'resolved' ? new Date(Date.UTC(2026, 10, 23, 12, 5, 0)).toISOString() : null,
    suggestedAction: 'Reorder from the supplier.',
    summary: `Low stock: ${sku} – just 3 units left.`,
    ...overrides,
  };
}

/** Unique JetStream names per test so runs never collide (one server per file anyway). */
export function uniqueNames(): { stream: string; durable: string; ledgerBucket: string; stateBucket: string; historyStream: string } {
  const tag = randomBytes(3).toString('hex');
  return { stream: 'ALERTS', durable: `notifier-${tag}`, ledgerBucket: 'NOTIFIER_LEDGER', stateBucket: 'NOTIFIER_STATE', historyStream: 'NOTIFIER_HISTORY' };
}

export function testConfig(server: NotifierNatsServer, overrides: Record<string, unknown>): Readonly<NotifierConfig> {
  const { nats, delivery, http, ...rest } = overrides as { nats?: object; delivery?: object; http?: object };
  return buildNotifierConfig(
    {
      logLevel: 'silent',
      nats: { servers: [server.url], user: NOTIFIER_USER.user, password: NOTIFIER_USER.pass, streamWaitMs: 50, ...nats },
      http: { port: 0, adminToken: ADMIN_TOKEN, ...http },
      delivery: { backoffBaseMs: 100, backoffMaxMs: 10_000, attemptTimeoutMs: 2000, claimStaleMs: 5000, ...delivery },
      ...rest,
    },
    TEST_REGISTRY,
    'test',
  );
}

export const silentLog = pino({ level: 'silent' });

/** A started notifier, which may still be waiting for its alert stream. */
export function openNotifier(config: Readonly<NotifierConfig>, clock?: Clock, random?: () => number, events?: EventEmitter): Promise<Notifier> {
  return Notifier.start({ config, registry: TEST_REGISTRY, log: silentLog, ...(clock ? { clock } : {}), ...(random ? { random } : {}), ...(events ? { events } : {}) });
}

/** A started notifier that is consuming its alert stream. */
export async function startNotifier(config: Readonly<NotifierConfig>, clock?: Clock, random?: () => number, events?: EventEmitter): Promise<Notifier> {
  const notifier = await openNotifier(config, clock, random, events);
  await notifier.whenConsuming();
  return notifier;
}

/** Stockade's side: the ALERTS stream (created by the test, as Stockade would) and publishing. */
export class AlertPublisher {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async connect(server: NotifierNatsServer): Promise<AlertPublisher> {
    const nc = await connect({ servers: [server.url], user: STOCKADE_USER.user, pass: STOCKADE_USER.pass });
    return new AlertPublisher(nc, await jetstreamManager(nc));
  }

  async createStream(): Promise<void> {
    await this.jsm.streams.add({ name: 'ALERTS', subjects: ['alerts.>'], retention: RetentionPolicy.Limits, storage: StorageType.File, duplicate_window: 120_000_000_000 });
  }

  async publish(alert: Alert): Promise<void> {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', alert.noticeId);
    await jetstream(this.nc).publish(alertSubject(alert), JSON.stringify(alert), { headers: h });
  }

  async publishRaw(subject: string, data: string): Promise<void> {
    await jetstream(this.nc).publish(subject, data);
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

export function receiver(id: string, sinkName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, stakeholder: 'logistics', type: 'recording', config: { sink: sinkName }, ...extra };
}

export async function api(notifier: Notifier, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${notifier.port}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as object) },
  });
}

/** Resolves once `events` emits `name` with arguments `want` accepts (a listener kept throughout, so no emit is missed). */
export function eventWhere(events: EventEmitter, name: string, want: (...args: any[]) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const on = (...args: unknown[]) => {
      if (!want(...args)) return;
      events.off(name, on);
      resolve();
    };
    events.on(name, on);
  });
}

/** Resolves once `events` reports `noticeId` acked. */
export function ackedOn(events: EventEmitter, noticeId: string): Promise<void> {
  return eventWhere(events, 'acked', (id: string) => id === noticeId);
}
