// A receiver's digest window, rate budget and quiet hours, on a clock the test moves.

import { describe, expect, it } from 'vitest';
import { buildNotifierConfig, type ReceiverConfig } from '../src/notifier/config.js';
import type { Deliverer, DeliveryItem } from '../src/notifier/delivery.js';
import { NotifierMetrics } from '../src/notifier/metrics.js';
import { quietMsLeft } from '../src/notifier/quiet-hours.js';
import { ReceiverQueue } from '../src/notifier/receiver-queue.js';
import { ManualClock } from './notifier/clock.js';
import { TEST_REGISTRY } from './notifier/connectors.js';
import { makeAlert } from './notifier/fixtures.js';

function receiverWith(extra: Record<string, unknown>): ReceiverConfig {
  return buildNotifierConfig(
    {
      http: { adminToken: 'a-long-enough-admin-token' },
      receivers: [{ id: 'r', stakeholder: 'sales', type: 'recording', config: { sink: 'x' }, ...extra }],
      rules: [{ name: 'all', match: {}, receivers: ['r'] }],
    },
    TEST_REGISTRY,
  ).receivers[0];
}

/** Records what the queue hands to delivery, and when. */
class DeliveryLog {
  readonly batches: { at: number; ids: string[] }[] = [];
  constructor(private readonly clock: ManualClock) {}
  readonly deliverer = {
    deliver: async (_receiver: string, items: DeliveryItem[]) => {
      this.batches.push({ at: this.clock.now(), ids: items.map((i) => i.deliveryId) });
    },
  } as unknown as Deliverer;
}

function item(id: string, severity: 'warning' | 'critical' = 'warning'): DeliveryItem {
  return { alert: makeAlert({ sku: id, severity }), kind: 'alert', deliveryId: id, decidedAt: 0 };
}

function setup(extra: Record<string, unknown>, start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  const clock = new ManualClock(start);
  const log = new DeliveryLog(clock);
  const errors: unknown[] = [];
  const queue = new ReceiverQueue(receiverWith(extra), log.deliverer, clock, new NotifierMetrics(), (e) => errors.push(e));
  return { clock, log, queue, errors };
}

describe('receiver queue', () => {
  it('without windows or budgets sends each notice at once', async () => {
    const { log, queue } = setup({});
    await queue.submit(item('a'));
    await queue.submit(item('b'));
    expect(log.batches.map((b) => b.ids)).toEqual([['a'], ['b']]);
  });

  it('groups notices within the digest window into one delivery at the window end', async () => {
    const { clock, log, queue } = setup({ digestWindowMs: 60_000 });
    const t0 = clock.now();
    const settled = [queue.submit(item('a'))];
    clock.advance(10_000);
    settled.push(queue.submit(item('b')), queue.submit(item('c')));
    expect(log.batches).toEqual([]);
    clock.advance(49_999);
    expect(log.batches).toEqual([]);
    clock.advance(1);
    await Promise.all(settled);
    expect(log.batches).toEqual([{ at: t0 + 60_000, ids: ['a', 'b', 'c'] }]);
    // The next notice opens a new window.
    const next = queue.submit(item('d'));
    clock.advance(60_000);
    await next;
    expect(log.batches[1]).toEqual({ at: t0 + 120_000, ids: ['d'] });
  });

  it('over the rate budget, notices wait and leave together as one digest when budget frees', async () => {
    const { clock, log, queue } = setup({ rateBudget: { notificationsMax: 2, windowMs: 60_000 } });
    const t0 = clock.now();
    await queue.submit(item('a'));
    clock.advance(1000);
    await queue.submit(item('b'));
    const held = [queue.submit(item('c')), queue.submit(item('d')), queue.submit(item('e'))];
    expect(queue.heldCount).toBe(3);
    expect(log.batches).toHaveLength(2);
    clock.advance(58_999); // t0 + 59.999 s: a's slot is still inside the window
    expect(log.batches).toHaveLength(2);
    clock.advance(1);
    await Promise.all(held);
    expect(log.batches[2]).toEqual({ at: t0 + 60_000, ids: ['c', 'd', 'e'] });
    expect(queue.heldCount).toBe(0);
  });

  it('never drops: a full buffer is sent at once despite the budget', async () => {
    const { log, queue } = setup({ rateBudget: { notificationsMax: 1, windowMs: 3_600_000 }, heldNotificationsMax: 3 });
    await queue.submit(item('a'));
    const held = [queue.submit(item('b')), queue.submit(item('c'))];
    expect(log.batches).toHaveLength(1);
    held.push(queue.submit(item('d')));
    await Promise.all(held);
    expect(log.batches.map((b) => b.ids)).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('holds notices during quiet hours in the receiver time zone until they end', async () => {
    // 23:30 in Berlin (UTC+1 in November) = 22:30 UTC.
    const start = Date.UTC(2026, 10, 23, 22, 30, 0);
    const { clock, log, queue } = setup({ quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' } }, start);
    const held = [queue.submit(item('a')), queue.submit(item('b'))];
    expect(log.batches).toEqual([]);
    const quietEnd = Date.UTC(2026, 10, 24, 6, 0, 0); // 07:00 Berlin
    clock.advance(quietEnd - start - 1);
    expect(log.batches).toEqual([]);
    clock.advance(1);
    await Promise.all(held);
    expect(log.batches).toEqual([{ at: quietEnd, ids: ['a', 'b'] }]);
  });

  it('lets critical notices through quiet hours when criticalPasses, holding the rest', async () => {
    const start = Date.UTC(2026, 10, 23, 23, 0, 0); // midnight in Berlin
    const { clock, log, queue } = setup({ quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin', criticalPasses: true } }, start);
    const warning = queue.submit(item('w'));
    await queue.submit(item('c', 'critical'));
    expect(log.batches).toEqual([{ at: start, ids: ['c'] }]);
    clock.advance(7 * 3_600_000);
    await warning;
    expect(log.batches[1]).toEqual({ at: Date.UTC(2026, 10, 24, 6, 0, 0), ids: ['w'] });
  });

  it('without criticalPasses critical notices wait for the end of quiet hours too', async () => {
    const start = Date.UTC(2026, 10, 23, 23, 0, 0);
    const { clock, log, queue } = setup({ quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' } }, start);
    const critical = queue.submit(item('c', 'critical'));
    expect(log.batches).toEqual([]);
    clock.advance(7 * 3_600_000 - 1);
    expect(log.batches).toEqual([]);
    clock.advance(1);
    await critical;
    expect(log.batches).toEqual([{ at: Date.UTC(2026, 10, 24, 6, 0, 0), ids: ['c'] }]);
  });

  it('stop() rejects what is held so JetStream redelivers it', async () => {
    const { queue } = setup({ digestWindowMs: 60_000 });
    const held = queue.submit(item('a'));
    queue.stop();
    await expect(held).rejects.toThrow('stopping');
    await expect(queue.submit(item('b'))).rejects.toThrow('stopping');
  });
});

describe('quiet hours', () => {
  const q = { start: '22:00', end: '07:00', timeZone: 'America/New_York', criticalPasses: false };
  it('wraps midnight and measures the time left in the zone', () => {
    expect(quietMsLeft(q, Date.UTC(2026, 10, 23, 21, 0, 0))).toBe(0); // 16:00 New York
    expect(quietMsLeft(q, Date.UTC(2026, 10, 24, 3, 0, 0))).toBe(9 * 3_600_000); // 22:00 New York
    expect(quietMsLeft(q, Date.UTC(2026, 10, 24, 11, 30, 0))).toBe(30 * 60_000); // 06:30 New York
    expect(quietMsLeft(q, Date.UTC(2026, 10, 24, 12, 0, 0))).toBe(0); // 07:00 New York: over
  });
  it('handles a same-day window', () => {
    const day = { start: '12:00', end: '13:30', timeZone: 'UTC', criticalPasses: false };
    expect(quietMsLeft(day, Date.UTC(2026, 0, 1, 12, 0, 0))).toBe(90 * 60_000);
    expect(quietMsLeft(day, Date.UTC(2026, 0, 1, 11, 59, 59))).toBe(0);
  });
});
