// Escalation, acknowledgement and reminders on a moved clock, with their state in the KV bucket:
// rebuilt by a restarted notifier and shared (one escalation) by two.

import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../src/notifier/notifier.js';
import { ManualClock } from './notifier/clock.js';
import { sink } from './notifier/connectors.js';
import { ADMIN_TOKEN, AlertPublisher, api, makeAlert, receiver, startNotifier, testConfig, uniqueNames } from './notifier/fixtures.js';
import { NotifierNatsServer } from './notifier/nats.js';

let server: NotifierNatsServer;
let publisher: AlertPublisher;
const running: Notifier[] = [];
let tag = 0;
const MINUTE_MS = 60_000;

beforeEach(async () => {
  server = await NotifierNatsServer.start();
  publisher = await AlertPublisher.connect(server);
  await publisher.createStream();
  tag++;
});

afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
  await publisher.close();
  await server.destroy();
});

function setup(extra: Record<string, unknown> = {}) {
  const ops = sink(`ops-${tag}`);
  const boss = sink(`boss-${tag}`);
  const config = {
    nats: uniqueNames(),
    receivers: [receiver('ops', `ops-${tag}`, extra), { ...receiver('boss', `boss-${tag}`), stakeholder: 'management' }],
    rules: [{ name: 'critical', match: { severities: ['critical'] }, receivers: ['ops'], escalation: { afterMinutes: 15, receivers: ['boss'] } }, { name: 'rest', match: { severities: ['warning'] }, receivers: ['ops'] }],
  };
  return { ops, boss, config };
}

async function start(config: Record<string, unknown>, clock: ManualClock): Promise<Notifier> {
  const n = await startNotifier(testConfig(server, config), clock);
  running.push(n);
  return n;
}

function acked(n: Notifier, noticeId: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (id: string) => {
      if (id !== noticeId) return;
      n.events.off('acked', on);
      resolve();
    };
    n.events.on('acked', on);
  });
}

/** Resolves once `n` tracks the alert in the state its predicate wants (changes reach it through the KV watch). */
async function tracked(n: Notifier, alertId: string, want: (s: ReturnType<Notifier['openAlertsBook']['state']>) => boolean): Promise<void> {
  while (!want(n.openAlertsBook.state(alertId))) await once(n.openAlertsBook, 'change');
}

describe('escalation', () => {
  it('escalates a critical alert nobody acknowledged within N minutes, once', async () => {
    const clock = new ManualClock(Date.now());
    const { ops, boss, config } = setup();
    const n = await start(config, clock);
    const alert = makeAlert({ severity: 'critical' });
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    await ops.waitFor(1);
    clock.advance(15 * MINUTE_MS - 1);
    expect(boss.sent).toHaveLength(0);
    clock.advance(1);
    const [escalated] = await boss.waitFor(1);
    expect(escalated.notification).toMatchObject({ kind: 'escalation', deliveryId: `${alert.id}#escalation#boss` });
    expect(escalated.notification.title).toBe(`Escalated: ${alert.sku} (below_minimum)`);
    await tracked(n, alert.id, (s) => s?.escalation?.done === true);
    clock.advance(60 * MINUTE_MS);
    expect(boss.sent).toHaveLength(1);
    const h = await (await api(n, `/v1/alerts/${encodeURIComponent(alert.id)}`)).json();
    expect(h.events.map((e: { record: string }) => e.record)).toEqual(['escalation']);
    expect(h.attempts.map((a: { receiver: string; notificationKind: string; outcome: string }) => [a.receiver, a.notificationKind, a.outcome])).toEqual([
      ['ops', 'alert', 'delivered'],
      ['boss', 'escalation', 'delivered'],
    ]);
  });

  it('an acknowledgement over HTTP stops the escalation; warnings never escalate', async () => {
    const clock = new ManualClock(Date.now());
    const { boss, config } = setup();
    const n = await start(config, clock);
    const critical = makeAlert({ severity: 'critical' });
    const warning = makeAlert({ severity: 'warning' });
    const done = Promise.all([acked(n, critical.noticeId), acked(n, warning.noticeId)]);
    await publisher.publish(critical);
    await publisher.publish(warning);
    await done;
    expect(n.openAlertsBook.state(warning.id)).toBeNull();
    clock.advance(10 * MINUTE_MS);
    const res = await api(n, `/v1/alerts/${encodeURIComponent(critical.id)}/ack`, { method: 'POST', body: JSON.stringify({ by: 'ana@logistics' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ alertId: critical.id, ackedBy: 'ana@logistics' });
    clock.advance(60 * MINUTE_MS);
    expect(clock.pending).toEqual([]);
    expect(boss.sent).toHaveLength(0);
    const h = await (await api(n, `/v1/alerts/${encodeURIComponent(critical.id)}`)).json();
    expect(h.events).toMatchObject([{ record: 'ack', by: 'ana@logistics' }]);
    expect(h.open).toMatchObject({ ackedBy: 'ana@logistics' });
  });

  it('the recovery notice closes the alert before its escalation', async () => {
    const clock = new ManualClock(Date.now());
    const { ops, boss, config } = setup();
    const n = await start(config, clock);
    const alert = makeAlert({ severity: 'critical' });
    const resolved = makeAlert({ ...alert, status: 'resolved', noticeId: `${alert.id}/resolved`, resolvedAt: new Date().toISOString() });
    const done = acked(n, resolved.noticeId);
    await publisher.publish(alert);
    await publisher.publish(resolved);
    await done;
    expect(n.openAlertsBook.state(alert.id)).toBeNull();
    clock.advance(60 * MINUTE_MS);
    expect(boss.sent).toHaveLength(0);
    expect((await ops.waitFor(2)).map((s) => s.notification.kind)).toEqual(['alert', 'recovery']);
  });

  it('ack answers: unknown alert 404 ALERT_NOT_OPEN, bad body 400, no or wrong token 401', async () => {
    const { config } = setup();
    const n = await start(config, new ManualClock(Date.now()));
    let res = await api(n, `/v1/alerts/${encodeURIComponent('NOPE/zero_stock/*/1')}/ack`, { method: 'POST', body: JSON.stringify({ by: 'x' }) });
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('ALERT_NOT_OPEN');
    res = await api(n, '/v1/alerts/A%2Fzero_stock%2F*%2F1/ack', { method: 'POST', body: JSON.stringify({ who: 'x' }) });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('VALIDATION_FAILED');
    res = await api(n, '/v1/alerts/A/ack', { method: 'POST', body: 'not json' });
    expect((await res.json()).code).toBe('VALIDATION_FAILED');
    res = await fetch(`http://127.0.0.1:${n.port}/v1/alerts/A/ack`, { method: 'POST', body: '{"by":"x"}' });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('UNAUTHENTICATED');
    res = await fetch(`http://127.0.0.1:${n.port}/v1/alerts/A/ack`, { method: 'POST', body: '{"by":"x"}', headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    expect(res.status).toBe(401);
  });

  it('a restarted notifier rebuilds the deadline from the KV bucket and escalates', async () => {
    const clock = new ManualClock(Date.now());
    const { boss, config } = setup();
    const first = await start(config, clock);
    const alert = makeAlert({ severity: 'critical' });
    const done = acked(first, alert.noticeId);
    await publisher.publish(alert);
    await done;
    await first.stop();
    running.splice(running.indexOf(first), 1);
    clock.advance(5 * MINUTE_MS);
    const second = await start(config, clock);
    expect(second.openAlertsBook.state(alert.id)?.escalation?.done).toBe(false);
    clock.advance(10 * MINUTE_MS);
    const [escalated] = await boss.waitFor(1);
    expect(escalated.notification.kind).toBe('escalation');
  });

  it('two notifiers sharing the state escalate once between them', async () => {
    const clock = new ManualClock(Date.now());
    const { boss, config } = setup();
    const a = await start(config, clock);
    const b = await start(config, clock);
    const alert = makeAlert({ severity: 'critical' });
    await publisher.publish(alert);
    await Promise.all([tracked(a, alert.id, (s) => s !== null), tracked(b, alert.id, (s) => s !== null)]);
    clock.advance(15 * MINUTE_MS);
    await boss.waitFor(1);
    await Promise.all([tracked(a, alert.id, (s) => s?.escalation?.done === true), tracked(b, alert.id, (s) => s?.escalation?.done === true)]);
    expect(boss.sent).toHaveLength(1);
  });
});

describe('reminders', () => {
  it('re-notifies a still-firing alert every N minutes until it resolves', async () => {
    const clock = new ManualClock(Date.now());
    const { ops, config } = setup({ repeatEveryMinutes: 30 });
    const n = await start(config, clock);
    const alert = makeAlert({ severity: 'warning' });
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    clock.advance(30 * MINUTE_MS);
    await ops.waitFor(2);
    await tracked(n, alert.id, (s) => s?.reminders[0].count === 1);
    clock.advance(30 * MINUTE_MS);
    const sent = await ops.waitFor(3);
    expect(sent.map((s) => [s.notification.kind, s.notification.deliveryId])).toEqual([
      ['alert', `${alert.noticeId}#ops`],
      ['reminder', `${alert.id}#reminder1#ops`],
      ['reminder', `${alert.id}#reminder2#ops`],
    ]);
    const resolved = makeAlert({ ...alert, status: 'resolved', noticeId: `${alert.id}/resolved`, resolvedAt: new Date().toISOString() });
    const closed = acked(n, resolved.noticeId);
    await publisher.publish(resolved);
    await closed;
    clock.advance(120 * MINUTE_MS);
    expect(ops.sent.map((s) => s.notification.kind)).toEqual(['alert', 'reminder', 'reminder', 'recovery']);
  });
});
