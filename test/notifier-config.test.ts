// Notifier configuration (every invalid case names its field), routing rules and templates.

import { describe, expect, it } from 'vitest';
import { buildNotifierConfig, NotifierConfigError } from '../src/notifier/config.js';
import { globToRegExp, Router } from '../src/notifier/routing.js';
import { renderNotification } from '../src/notifier/templates.js';
import { TEST_REGISTRY } from './notifier/connectors.js';
import { makeAlert } from './notifier/fixtures.js';

const TOKEN = 'a-long-enough-admin-token';

function base(): Record<string, any> {
  return {
    http: { adminToken: TOKEN },
    receivers: [
      { id: 'ops-hook', stakeholder: 'logistics', type: 'test-webhook', config: { url: 'http://127.0.0.1:9/hook' } },
      { id: 'buyers', stakeholder: 'procurement', type: 'recording', config: { sink: 'b' } },
      { id: 'boss', stakeholder: 'management', type: 'recording', config: { sink: 'm' } },
    ],
    rules: [{ name: 'all', match: {}, receivers: ['ops-hook'] }],
  };
}

function problem(input: unknown): string {
  try {
    buildNotifierConfig(input, TEST_REGISTRY);
  } catch (err) {
    expect(err).toBeInstanceOf(NotifierConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('notifier configuration', () => {
  it('accepts a valid file, applies defaults and freezes it', () => {
    const config = buildNotifierConfig(base(), TEST_REGISTRY);
    expect(config.nats.stream).toBe('ALERTS');
    expect(config.nats.user).toBe('notifier');
    expect(config.receivers[0].digestWindowMs).toBe(0);
    expect(config.delivery.attemptsMax).toBe(8);
    expect(Object.isFrozen(config.receivers[0])).toBe(true);
    expect(() => ((config.http as { port: number }).port = 1)).toThrow(TypeError);
  });

  it('names a misspelt top-level key', () => {
    expect(problem({ ...base(), reciever: [] })).toContain('(root): unknown key "reciever"');
  });

  it('names a missing required field', () => {
    const input = base();
    delete input.receivers[0].stakeholder;
    expect(problem(input)).toContain('/receivers/0: missing key "stakeholder"');
  });

  it('names a misspelt nested key', () => {
    const input = base();
    input.delivery = { attemptMax: 3 };
    expect(problem(input)).toContain('/delivery: unknown key "attemptMax"');
  });

  it('validates a receiver connector config against its factory schema, naming the field', () => {
    const input = base();
    input.receivers[0].config = { uri: 'http://x' };
    const message = problem(input);
    expect(message).toContain('/receivers/0/config: unknown key "uri"');
    expect(message).toContain('/receivers/0/config: missing key "url"');
  });

  it('rejects an unknown connector type', () => {
    const input = base();
    input.receivers[1].type = 'carrier-pigeon';
    expect(problem(input)).toContain('/receivers/1/type: unknown connector type "carrier-pigeon"');
  });

  it('rejects a rule naming a receiver that does not exist', () => {
    const input = base();
    input.rules[0].receivers = ['nobody'];
    expect(problem(input)).toContain('/rules/0/receivers/0: no receiver "nobody"');
  });

  it('rejects a rule with no receivers and no stakeholders', () => {
    const input = base();
    input.rules[0].receivers = [];
    expect(problem(input)).toContain('/rules/0: names no receivers and no stakeholders');
  });

  it('rejects an unknown template placeholder', () => {
    const input = base();
    input.receivers[0].templates = { default: { title: '{{sku}}', text: 'only {{avialable}} left' } };
    expect(problem(input)).toContain('/receivers/0/templates/default: unknown placeholder "{{avialable}}"');
  });

  it('rejects an unknown time zone and equal quiet-hour bounds', () => {
    const input = base();
    input.receivers[0].quietHours = { start: '22:00', end: '22:00', timeZone: 'Mars/Olympus' };
    const message = problem(input);
    expect(message).toContain('/receivers/0/quietHours/timeZone: unknown time zone "Mars/Olympus"');
    expect(message).toContain('/receivers/0/quietHours: start and end are equal');
  });

  it('rejects a malformed quiet-hours time', () => {
    const input = base();
    input.receivers[0].quietHours = { start: '25:00', end: '07:00', timeZone: 'UTC' };
    expect(problem(input)).toContain('/receivers/0/quietHours/start');
  });

  it('rejects fallback loops, self-fallbacks and unknown fallbacks', () => {
    const self = base();
    self.receivers[0].fallback = 'ops-hook';
    expect(problem(self)).toContain('/receivers/0/fallback: a receiver cannot be its own fallback');
    const chain = base();
    chain.receivers[0].fallback = 'buyers';
    chain.receivers[1].fallback = 'boss';
    expect(problem(chain)).toContain('/receivers/0/fallback: receiver "buyers" has a fallback of its own');
    const missing = base();
    missing.receivers[0].fallback = 'ghost';
    expect(problem(missing)).toContain('/receivers/0/fallback: no receiver "ghost"');
  });

  it('rejects a short admin token', () => {
    const input = base();
    input.http.adminToken = 'short';
    expect(problem(input)).toContain('/http/adminToken: must NOT have fewer than 16 characters');
  });

  it('rejects a duplicate receiver id and an escalation to nobody, both in one message', () => {
    const input = base();
    input.receivers.push({ ...input.receivers[1] });
    input.rules[0].escalation = { afterMinutes: 5, receivers: ['ghost'] };
    const message = problem(input);
    expect(message).toContain('/receivers/3/id: receiver "buyers" is defined twice');
    expect(message).toContain('/rules/0/escalation/receivers/0: no receiver "ghost"');
  });

  it('rejects a severity outside the alert format', () => {
    const input = base();
    input.rules[0].match = { severities: ['urgent'] };
    expect(problem(input)).toContain('/rules/0/match/severities/0: must be one of ["info","warning","critical"]');
  });
});

describe('routing', () => {
  const config = buildNotifierConfig(
    {
      ...base(),
      rules: [
        { name: 'critical-shoes', match: { severities: ['critical'], categories: ['shoes'] }, receivers: ['ops-hook'], escalation: { afterMinutes: 15, receivers: ['boss'] } },
        { name: 'acme-skus', match: { skus: ['ACME-*', 'X-??'] }, stakeholders: ['procurement'] },
        { name: 'berlin', match: { locations: ['BER-1'], types: ['zero_stock'] }, receivers: ['boss'], final: true },
        { name: 'north-tagged', match: { regions: ['north'], tags: ['promo'] }, receivers: ['buyers'] },
        { name: 'never-after-final', match: {}, receivers: ['ops-hook'] },
      ],
    },
    TEST_REGISTRY,
  );
  const router = new Router(config);

  it('globs match whole SKUs, dots included', () => {
    expect(globToRegExp('ACME-*').test('ACME-1.2')).toBe(true);
    expect(globToRegExp('ACME-*').test('XACME-1')).toBe(false);
    expect(globToRegExp('X-??').test('X-12')).toBe(true);
    expect(globToRegExp('X-??').test('X-123')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });

  it('matches severity and category, and carries the escalation for critical alerts', () => {
    const route = router.route(makeAlert({ sku: 'P-1', severity: 'critical', category: 'shoes', location: 'BER-1', type: 'zero_stock' }));
    expect(route.rules).toEqual(['critical-shoes', 'berlin']);
    expect(route.receivers).toEqual(['ops-hook', 'boss']);
    expect(route.escalation).toEqual({ afterMs: 15 * 60_000, receivers: ['boss'] });
  });

  it('matches SKU globs and expands stakeholders to their receivers', () => {
    const route = router.route(makeAlert({ sku: 'ACME-7', severity: 'warning', location: 'HAM-1' }));
    expect(route.rules).toEqual(['acme-skus', 'never-after-final']);
    expect(route.receivers).toEqual(['buyers', 'ops-hook']);
    expect(route.escalation).toBeNull();
  });

  it('matches region and tags (any tag), and a final rule stops the search', () => {
    expect(router.route(makeAlert({ sku: 'Q-1', region: 'north', tags: ['x', 'promo'], location: 'HAM-1' })).rules).toEqual(['north-tagged', 'never-after-final']);
    expect(router.route(makeAlert({ sku: 'Q-1', region: 'north', tags: ['x'], location: 'HAM-1' })).rules).toEqual(['never-after-final']);
    expect(router.route(makeAlert({ sku: 'Q-2', type: 'zero_stock', location: 'BER-1' })).rules).toEqual(['berlin']);
  });

  it('a null location or category never matches a rule that names some', () => {
    expect(router.route(makeAlert({ sku: 'Z', severity: 'critical', category: null, location: null, type: 'zero_stock' })).rules).toEqual(['never-after-final']);
  });

  it('routes a recovery notice exactly as its alert', () => {
    const firing = makeAlert({ sku: 'ACME-9', severity: 'critical', category: 'shoes' });
    const resolved = makeAlert({ ...firing, status: 'resolved', noticeId: `${firing.id}/resolved`, resolvedAt: new Date().toISOString() });
    expect(router.route(resolved)).toEqual(router.route(firing));
  });
});

describe('templates', () => {
  it('fills placeholders from the receiver template', () => {
    const alert = makeAlert({ sku: 'Model-X', levels: { onHand: 4, reserved: 0, safetyStock: 0, available: 4 } });
    const rendered = renderNotification({ default: { title: 'Low stock: {{sku}}', text: 'Low stock: {{sku}} – just {{available}} units left at {{location}} (min {{threshold}}).' } }, 'alert', [alert]);
    expect(rendered).toEqual({ title: 'Low stock: Model-X', text: 'Low stock: Model-X – just 4 units left at WH-1 (min 10).' });
  });

  it('uses the per-type default when the receiver has none, and lists digest items', () => {
    const a = makeAlert({ sku: 'A', type: 'zero_stock', location: null });
    const b = makeAlert({ sku: 'B' });
    const single = renderNotification({}, 'alert', [a]);
    expect(single.title).toBe('Out of stock: A');
    expect(single.text).toContain('all locations');
    const digest = renderNotification({}, 'digest', [a, b]);
    expect(digest.title).toBe('2 stock alerts');
    expect(digest.text.split('\n')).toHaveLength(3);
    expect(digest.text).toContain('- Low stock: B – just 3 units left at WH-1 (minimum 10).');
  });
});

describe('config/notifier.json', () => {
  it('is valid against the production connector registry', async () => {
    const { CONNECTORS } = await import('../src/notifier/connectors/index.js');
    const { loadNotifierConfig } = await import('../src/notifier/config.js');
    const config = loadNotifierConfig(new URL('../config/notifier.json', import.meta.url).pathname, CONNECTORS);
    expect(config.nats.user).toBe('notifier');
    expect(config.receivers.map((r) => r.type)).toContain('webhook');
    expect(config.rules.some((r) => r.escalation !== null)).toBe(true);
  });
});
