// The notifier against a real nats-server (nats.conf with the notifier permissions it asks for):
// consumption, retries and backoff, permanent → dead, circuit and fallback, the ledger, poison.

import { EventEmitter, once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { KvBucket } from '../src/notifier/kv.js';
import type { LedgerRecord } from '../src/notifier/ledger.js';
import type { Notifier } from '../src/notifier/notifier.js';
import { ManualClock } from './notifier/clock.js';
import { sink } from './notifier/connectors.js';
import { AlertPublisher, ackedOn, api, eventWhere, makeAlert, openNotifier, receiver, startNotifier, testConfig, uniqueNames } from './notifier/fixtures.js';
import { NOTIFIER_USER, NotifierNatsServer } from './notifier/nats.js';

let server: NotifierNatsServer;
let publisher: AlertPublisher;
const running: Notifier[] = [];
let tag = 0;

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

async function start(overrides: Record<string, unknown>, clock?: ManualClock, random?: () => number, events?: EventEmitter): Promise<Notifier> {
  const n = await startNotifier(testConfig(server, { nats: uniqueNames(), ...overrides }), clock, random, events);
  running.push(n);
  return n;
}

function acked(n: Notifier, noticeId: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (id: string) => {
      if (id !== noticeId) return;
      n.events.off('acked', on);
      resolve(id);
    };
    n.events.on('acked', on);
  });
}

async function historyOf(n: Notifier, alertId: string): Promise<{ notices: any[]; attempts: any[]; events: any[] }> {
  const res = await api(n, `/v1/alerts/${encodeURIComponent(alertId)}`);
  expect(res.status).toBe(200);
  return res.json();
}

describe('notifier delivery', () => {
  it('consumes a notice, renders it for the receiver, records notice and attempt, acks it', async () => {
    const s = sink(`basic-${tag}`);
    const n = await start({
      receivers: [receiver('ops', `basic-${tag}`, { templates: { default: { title: 'Low: {{sku}}', text: 'Low stock: {{sku}} – just {{available}} units left.' } } })],
      rules: [{ name: 'all', match: {}, receivers: ['ops'] }],
    });
    const alert = makeAlert({ sku: 'Model.X-1' });
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    const [sent] = await s.waitFor(1);
    await done;
    expect(sent.notification).toMatchObject({ kind: 'alert', title: 'Low: Model.X-1', text: 'Low stock: Model.X-1 – just 3 units left.', deliveryId: `${alert.noticeId}#ops` });
    const h = await historyOf(n, alert.id);
    expect(h.notices).toHaveLength(1);
    expect(h.notices[0].receivers).toEqual(['ops']);
    expect(h.attempts.map((a) => [a.receiver, a.outcome, a.attempt])).toEqual([['ops', 'delivered', 1]]);
    expect(typeof h.attempts[0].latencyMs).toBe('number');
    const metrics = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
    expect(metrics).toContain('notifier_delivery_attempts_total{receiver="ops",outcome="delivered"} 1');
    expect(metrics).toContain('notifier_delivery_latency_seconds_count{receiver="ops"} 1');
    expect(metrics).toContain('notifier_circuit_state{receiver="ops"} 0');
  });

  it('a recovery notice takes the alert route as kind recovery', async () => {
    const s = sink(`recovery-${tag}`);
    await start({ receivers: [receiver('ops', `recovery-${tag}`)], rules: [{ name: 'shoes', match: { categories: ['shoes'] }, receivers: ['ops'] }] });
    const firing = makeAlert();
    const resolved = makeAlert({ ...firing, status: 'resolved', noticeId: `${firing.id}/resolved`, resolvedAt: new Date().toISOString() });
    await publisher.publish(firing);
    await publisher.publish(resolved);
    const sent = await s.waitFor(2);
    expect(sent.map((x) => [x.notification.kind, x.notification.deliveryId])).toEqual([
      ['alert', `${firing.id}#ops`],
      ['recovery', `${firing.id}/resolved#ops`],
    ]);
  });

  it('groups notices of a digest window into one digest notification; every notice acked and in the ledger', async () => {
    const clock = new ManualClock(Date.now());
    const s = sink(`digest-${tag}`, clock.now);
    const events = new EventEmitter();
    const n = await start({ receivers: [receiver('ops', `digest-${tag}`, { digestWindowMs: 60_000 })], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }, clock, undefined, events);
    const alerts = [makeAlert(), makeAlert({ type: 'zero_stock' }), makeAlert()];
    const heldAll = eventWhere(events, 'held', (_receiver: string, count: number) => count === 3);
    for (const a of alerts) await publisher.publish(a);
    await heldAll;
    const done = Promise.all(alerts.map((a) => ackedOn(events, a.noticeId)));
    clock.advance(60_000);
    const [digest] = await s.waitFor(1);
    await done;
    expect(s.sent).toHaveLength(1);
    expect(digest.notification.kind).toBe('digest');
    expect(digest.notification.alerts.map((a) => a.id).sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(digest.notification.title).toBe('3 stock alerts');
    expect(digest.notification.deliveryId).toMatch(/^digest:ops:/);
    const ledger = await openLedger();
    for (const a of alerts) expect((await ledger.get(`${a.noticeId}#ops`))?.value.state).toBe('delivered');
    expect(n.heldCount('ops')).toBe(0);
  });

  it('retries with backoff, honouring retryAfterMs, on the injected clock', async () => {
    const clock = new ManualClock(Date.now());
    const s = sink(`retry-${tag}`, clock.now);
    // Jitter at its top (random → 0.999): delays floor(0.999 · 100 · 2^(n-1)) = 99, 199 ms.
    s.script.push({ kind: 'retry', reason: '503' }, { kind: 'retry', reason: '503' }, { kind: 'retry', reason: '429', retryAfterMs: 30_000 });
    const n = await start({ receivers: [receiver('ops', `retry-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }, clock, () => 0.999);
    const alert = makeAlert();
    const done = acked(n, alert.noticeId);
    const t0 = clock.now();
    await publisher.publish(alert);
    await s.waitFor(1);
    await clock.waitForTimer(99);
    clock.advance(98);
    expect(s.sent).toHaveLength(1);
    clock.advance(1);
    await s.waitFor(2);
    await clock.waitForTimer(199);
    clock.advance(199);
    await s.waitFor(3);
    // The vendor asked for 30 s: longer than the backoff (399 ms), so it wins.
    await clock.waitForTimer(30_000);
    clock.advance(29_999);
    expect(s.sent).toHaveLength(3);
    clock.advance(1);
    await s.waitFor(4);
    await done;
    expect(s.sent.map((x) => x.at - t0)).toEqual([0, 99, 298, 30_298]);
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'delivered']);
    expect(h.attempts[2].reason).toBe('429');
  });

  it('gives up after attemptsMax and records the delivery dead', async () => {
    const clock = new ManualClock(Date.now());
    const s = sink(`exhaust-${tag}`, clock.now);
    s.script.push({ kind: 'retry', reason: 'down' }, { kind: 'retry', reason: 'still down' });
    const n = await start({ delivery: { attemptsMax: 2 }, receivers: [receiver('ops', `exhaust-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }, clock, () => 0.5);
    const alert = makeAlert();
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await s.waitFor(1);
    await clock.waitForTimer(50);
    clock.advance(50);
    await done;
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'dead']);
    expect(h.attempts[2].reason).toBe('attempts exhausted (2): still down');
  });

  it('a permanent answer is recorded dead at once: no retry, the notice acked', async () => {
    const s = sink(`permanent-${tag}`);
    s.script.push({ kind: 'permanent', reason: 'channel_not_found' });
    const n = await start({ receivers: [receiver('ops', `permanent-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] });
    const alert = makeAlert();
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    expect(s.sent).toHaveLength(1);
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => [a.outcome, a.reason])).toEqual([
      ['permanent', 'channel_not_found'],
      ['dead', 'channel_not_found'],
    ]);
    const ledger = await openLedger();
    expect((await ledger.get(`${alert.noticeId}#ops`))?.value.state).toBe('dead');
  });

  it('falls back while the primary keeps failing, opens its circuit, and tries it again half-open after the cool-down', async () => {
    const clock = new ManualClock(Date.now());
    const primary = sink(`primary-${tag}`, clock.now);
    const backup = sink(`backup-${tag}`, clock.now);
    primary.script.push({ kind: 'retry', reason: 'timeout' }, { kind: 'retry', reason: 'timeout' });
    const n = await start(
      {
        delivery: { circuitFailuresMax: 2, fallbackAfterFailures: 2, circuitCooldownMs: 60_000 },
        receivers: [receiver('primary', `primary-${tag}`, { fallback: 'backup' }), receiver('backup', `backup-${tag}`)],
        rules: [{ name: 'all', match: {}, receivers: ['primary'] }],
      },
      clock,
      () => 0,
    );
    const first = makeAlert();
    let done = acked(n, first.noticeId);
    await publisher.publish(first);
    await primary.waitFor(1);
    await clock.waitForTimer(0);
    clock.advance(0);
    await backup.waitFor(1);
    await done;
    expect(primary.sent).toHaveLength(2);
    expect(n.circuitState('primary')).toBe('open');
    const metrics = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
    expect(metrics).toContain('notifier_circuit_state{receiver="primary"} 2');
    expect(metrics).toContain('notifier_delivery_attempts_total{receiver="primary",outcome="retry"} 2');
    expect(metrics).toContain('notifier_delivery_attempts_total{receiver="backup",outcome="delivered"} 1');
    expect(backup.sent[0].notification.deliveryId).toBe(`${first.noticeId}#primary`);
    let h = await historyOf(n, first.id);
    expect(h.attempts.map((a) => [a.receiver, a.outcome, a.fallbackFor ?? null])).toEqual([
      ['primary', 'retry', null],
      ['primary', 'retry', null],
      ['backup', 'delivered', 'primary'],
    ]);
    // Circuit open: the next notice goes to the fallback without touching the primary.
    const second = makeAlert();
    done = acked(n, second.noticeId);
    await publisher.publish(second);
    await backup.waitFor(2);
    await done;
    expect(primary.sent).toHaveLength(2);
    // After the cool-down one trial goes to the primary; it succeeds and closes the circuit.
    clock.advance(60_000);
    expect(n.circuitState('primary')).toBe('half_open');
    const third = makeAlert();
    done = acked(n, third.noticeId);
    await publisher.publish(third);
    await primary.waitFor(3);
    await done;
    expect(n.circuitState('primary')).toBe('closed');
    expect(backup.sent).toHaveLength(2);
    h = await historyOf(n, third.id);
    expect(h.attempts.map((a) => [a.receiver, a.outcome])).toEqual([['primary', 'delivered']]);
    const ledger = await openLedger();
    expect((await ledger.get(`${first.noticeId}#primary`))?.value).toMatchObject({ state: 'delivered', via: 'backup' });
  });

  it('an open circuit without fallback waits for the cool-down instead of calling the receiver', async () => {
    const clock = new ManualClock(Date.now());
    const s = sink(`nofallback-${tag}`, clock.now);
    s.script.push({ kind: 'retry', reason: 'down' });
    const n = await start({ delivery: { circuitFailuresMax: 1, circuitCooldownMs: 10_000 }, receivers: [receiver('ops', `nofallback-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }, clock, () => 0);
    const alert = makeAlert();
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await s.waitFor(1);
    // Backoff 0 (jitter at its bottom), then the circuit: the wait is the cool-down.
    await clock.waitForTimer(0);
    clock.advance(0);
    await clock.waitForTimer(10_000);
    expect(s.sent).toHaveLength(1);
    clock.advance(10_000);
    await s.waitFor(2);
    await done;
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => a.outcome)).toEqual(['retry', 'circuit_open', 'delivered']);
  });

  it('the ledger drops a notice that reaches the notifier again (republished past the duplicate window)', async () => {
    const s = sink(`dedup-${tag}`);
    const n = await start({ receivers: [receiver('ops', `dedup-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] });
    const alert = makeAlert();
    let done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    done = acked(n, alert.noticeId);
    // A second stream message with the same notice (what JetStream redelivery or a re-publish after the duplicate window gives).
    await publisher.publishRaw(`alerts.${alert.type}.${alert.severity}.${alert.sku}`, JSON.stringify(alert));
    await done;
    expect(s.sent).toHaveLength(1);
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => a.outcome)).toEqual(['delivered', 'duplicate']);
  });

  it('a claim left by a crashed notifier is not resent (uncertain), unless the receiver takes idempotency keys', async () => {
    const careful = sink(`careful-${tag}`);
    const idempotent = sink(`idem-${tag}`);
    const n = await start({
      receivers: [receiver('careful', `careful-${tag}`), receiver('idem', `idem-${tag}`, { resendUncertain: true })],
      rules: [{ name: 'all', match: {}, receivers: ['careful', 'idem'] }],
    });
    const alert = makeAlert();
    const ledger = await openLedger();
    const stale = Date.now() - 60_000;
    await ledger.create(`${alert.noticeId}#careful`, { state: 'claimed', by: 'crashed-1', at: stale });
    await ledger.create(`${alert.noticeId}#idem`, { state: 'claimed', by: 'crashed-1', at: stale });
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    expect(careful.sent).toHaveLength(0);
    expect(idempotent.sent.map((x) => x.notification.deliveryId)).toEqual([`${alert.noticeId}#idem`]);
    expect((await ledger.get(`${alert.noticeId}#careful`))?.value.state).toBe('uncertain');
    expect((await ledger.get(`${alert.noticeId}#idem`))?.value.state).toBe('delivered');
    const h = await historyOf(n, alert.id);
    expect(h.attempts.map((a) => [a.receiver, a.outcome]).sort()).toEqual([
      ['careful', 'uncertain'],
      ['idem', 'delivered'],
    ]);
  });

  it('a clean stop during backoff gives the claim back: another notifier sends at once, nothing uncertain', async () => {
    const clock = new ManualClock(Date.now());
    const s = sink(`handover-${tag}`, clock.now);
    s.script.push({ kind: 'retry', reason: '503' });
    const names = uniqueNames();
    const config = { nats: names, receivers: [receiver('ops', `handover-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] };
    const a = await start(config, clock, () => 0.5);
    const alert = makeAlert();
    await publisher.publish(alert);
    await s.waitFor(1);
    await clock.waitForTimer(50);
    await a.stop();
    running.splice(running.indexOf(a), 1);
    const events = new EventEmitter();
    const done = ackedOn(events, alert.noticeId);
    const b = await start(config, undefined, undefined, events);
    await done;
    expect(s.sent).toHaveLength(2);
    const h = await historyOf(b, alert.id);
    expect(h.attempts.map((x) => [x.instance === a.instance ? 'a' : 'b', x.outcome])).toEqual([
      ['a', 'retry'],
      ['b', 'delivered'],
    ]);
  });

  it('terminates and records a poison message; it is never redelivered', async () => {
    const s = sink(`poison-${tag}`);
    const n = await start({ receivers: [receiver('ops', `poison-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] });
    const poisoned = once(n.events, 'poison');
    await publisher.publishRaw('alerts.zero_stock.critical.X', '{"not":"an alert"}');
    const [seq] = await poisoned;
    const alert = makeAlert();
    const done = acked(n, alert.noticeId);
    await publisher.publish(alert);
    await done;
    expect(s.sent).toHaveLength(1);
    const res = await api(n, `/v1/alerts/${encodeURIComponent(`poison:ALERTS:${seq}`)}`);
    const body = await res.json();
    expect(body.events).toHaveLength(1);
    expect(body.events[0].reason).toContain('not an alert');
    const info = await publisher.jsm.consumers.info('ALERTS', n.config.nats.durable);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('two notifiers on one durable split the notices; each reaches the receiver once', async () => {
    const s = sink(`shared-${tag}`);
    const names = uniqueNames();
    const config = { nats: { ...names, maxAckPending: 1 }, receivers: [receiver('ops', `shared-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] };
    const a = await start(config);
    const b = await start(config);
    const served = new Map<string, string>();
    let allServed!: () => void;
    const everyNoticeAcked = new Promise<void>((resolve) => (allServed = resolve));
    const serve = (instance: string) => (id: string) => {
      served.set(id, instance);
      if (served.size === 20) allServed();
    };
    a.events.on('acked', serve(a.instance));
    b.events.on('acked', serve(b.instance));
    const alerts = Array.from({ length: 20 }, () => makeAlert());
    for (const alert of alerts) await publisher.publish(alert);
    await s.waitFor(20);
    await everyNoticeAcked;
    expect(new Set(s.sent.map((x) => x.notification.deliveryId)).size).toBe(20);
    expect(s.sent).toHaveLength(20);
    const byInstance = [...served.values()];
    expect(byInstance.filter((i) => i === a.instance).length).toBeGreaterThan(0);
    expect(byInstance.filter((i) => i === b.instance).length).toBeGreaterThan(0);
  });

  it('waits for the alert stream to exist', async () => {
    const s = sink(`late-${tag}`);
    await publisher.jsm.streams.delete('ALERTS');
    const n = await openNotifier(testConfig(server, { nats: uniqueNames(), receivers: [receiver('ops', `late-${tag}`)], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }));
    running.push(n);
    // The notifier has looked for the stream, found none, and is waiting rather than failing.
    if (n.streamMissingCount === 0) await once(n.events, 'stream-missing');
    expect(n.streamMissingCount).toBeGreaterThan(0);
    const waiting = await fetch(`http://127.0.0.1:${n.port}/healthz`);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toMatchObject({ consuming: false });
    await publisher.createStream();
    await n.whenConsuming();
    expect((await fetch(`http://127.0.0.1:${n.port}/healthz`)).status).toBe(200);
    await publisher.publish(makeAlert());
    await s.waitFor(1);
    expect(s.sent).toHaveLength(1);
  });
});

async function openLedger(): Promise<KvBucket<LedgerRecord>> {
  const nc = await connect({ servers: [server.url], user: NOTIFIER_USER.user, pass: NOTIFIER_USER.pass });
  afterEach(() => nc.drain());
  return KvBucket.open<LedgerRecord>(nc, await jetstreamManager(nc), 'NOTIFIER_LEDGER', 60_000);
}
