// Contract tests of the first connectors: each HTTP connector against a local vendor stand-in
// that records method, path, headers and body (checked against the vendor's documented shape),
// its rate-limit and permanent-error answers, and config rejection by field name; email against
// a real SMTP server started here; RabbitMQ against the real broker on 127.0.0.1:5672.

import type { Socket } from 'node:net';
import { connect as amqpConnect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import type { Connector, ConnectorFactory } from '../src/notifier/connector.js';
import { emailConnector, messageIdOf, type EmailConfig } from '../src/notifier/connectors/email.js';
import { firstConnectors } from '../src/notifier/connectors/first.js';
import { connectorConfigProblems, readTextCapped, truncate } from '../src/notifier/connectors/common.js';
import { slackConnector, slackWebhookConnector } from '../src/notifier/connectors/slack.js';
import { teamsConnector, ADAPTIVE_CARD_CONTENT_TYPE } from '../src/notifier/connectors/teams.js';
import { twilioSmsConnector, SMS_BODY_CHARS_MAX } from '../src/notifier/connectors/twilio.js';
import { pagerDutyConnector, PAGERDUTY_RETRY_AFTER_MS_DEFAULT } from '../src/notifier/connectors/pagerduty.js';
import { webhookConnector, verifyWebhookSignature, webhookSignature } from '../src/notifier/connectors/webhook.js';
import { ERRORS } from '../src/errors.js';
import { createRabbitMqConnector, type AmqpConnect, type RabbitMqConfig } from '../src/notifier/connectors/rabbitmq.js';
import { VendorServer } from './connectors/vendor-server.js';
import { SmtpSink, decodeQuotedPrintable, headerOf, selfSignedCertificate, type SmtpSinkOptions } from './connectors/smtp-sink.js';
import { FIXED_NOW_MS, digestNotification, openSignal, resolvedAlert, sampleAlert, sampleNotification, testDeps } from './connectors/fixtures.js';

const deps = testDeps();
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const ROUTING_KEY = 'R0UTINGKEY0000000000000000000001';
const SECRET = 'a-webhook-secret-of-at-least-32-characters';

let vendor: VendorServer;
beforeAll(async () => {
  vendor = await VendorServer.start();
});
afterAll(async () => {
  await vendor.close();
});
beforeEach(() => {
  vendor.reset();
});

describe('the first connector group', () => {
  it('registers every first channel once, by its documented type', () => {
    expect(firstConnectors.map((f) => f.type).sort()).toEqual(
      ['email', 'pagerduty', 'rabbitmq', 'slack', 'slack-webhook', 'teams', 'twilio-sms', 'webhook'].sort(),
    );
  });

  it.each(firstConnectors.map((f) => [f.type, f] as const))('%s: schema compiles strictly, forbids unknown keys, and its doc example is valid', (_type, factory) => {
    expect(factory.configSchema.additionalProperties).toBe(false);
    expect((factory.configSchema.required as string[]).length).toBeGreaterThan(0);
    expect(connectorConfigProblems(factory, factory.doc.exampleConfig)).toEqual([]);
    expect(factory.doc.sends.length).toBeGreaterThan(20);
    expect(factory.doc.rateLimits.length).toBeGreaterThan(20);
  });
});

// ---- configuration rejection: a missing and a misspelt field, each named ----------------------

const validConfigs: Record<string, Record<string, unknown>> = {
  slack: { token: 'xoxb-1-2-abc', channel: '#inventory' },
  'slack-webhook': { url: 'https://hooks.slack.com/services/T/B/X' },
  teams: { url: 'https://example.logic.azure.com/workflows/x' },
  email: { host: '127.0.0.1', port: 25, from: 'alerts@example.com', to: ['ops@example.com'] },
  'twilio-sms': { accountSid: ACCOUNT_SID, authToken: 't', from: '+15005550006', to: '+4915112345678' },
  pagerduty: { routingKey: ROUTING_KEY },
  rabbitmq: { url: 'amqp://guest:guest@127.0.0.1:5672', exchange: 'x' },
  webhook: { url: 'https://erp.example.com/hook', secret: SECRET },
};

const misspellings: Array<[type: string, field: string, misspelt: string]> = [
  ['slack', 'channel', 'chanel'],
  ['slack-webhook', 'url', 'uri'],
  ['teams', 'url', 'webhookUrl'],
  ['email', 'to', 'recipients'],
  ['twilio-sms', 'accountSid', 'accountSID'],
  ['pagerduty', 'routingKey', 'routing_key'],
  ['rabbitmq', 'exchange', 'exchnage'],
  ['webhook', 'secret', 'secrets'],
];

function factoryOf(type: string): ConnectorFactory<any> {
  const factory = firstConnectors.find((f) => f.type === type);
  if (!factory) throw new Error(`no factory ${type}`);
  return factory;
}

describe('configuration is rejected at start, naming the field', () => {
  it.each(misspellings)('%s: missing %s', (type, field) => {
    const factory = factoryOf(type);
    expect(connectorConfigProblems(factory, validConfigs[type])).toEqual([]);
    const config = { ...validConfigs[type] };
    delete config[field];
    expect(connectorConfigProblems(factory, config)).toContain(`(root): must have required property '${field}'`);
    expect(() => factory.create(config, deps)).toThrow(ConfigError);
    expect(() => factory.create(config, deps)).toThrow(`'${field}'`);
  });

  it.each(misspellings)('%s: %s misspelt as %s', (type, field, misspelt) => {
    const factory = factoryOf(type);
    const config: Record<string, unknown> = { ...validConfigs[type], [misspelt]: validConfigs[type][field] };
    delete config[field];
    const problems = connectorConfigProblems(factory, config);
    expect(problems).toContain(`(root): unknown key "${misspelt}"`);
    expect(() => factory.create(config, deps)).toThrow(`unknown key "${misspelt}"`);
  });

  it('rejects values of the wrong shape by path', () => {
    expect(connectorConfigProblems(slackConnector, { token: 'not-a-token', channel: '#x' })).toEqual(['/token: must match pattern "^xox[a-z]-\\S+$"']);
    expect(connectorConfigProblems(factoryOf('email'), { ...validConfigs.email, port: 70000 })).toEqual(['/port: must be <= 65535']);
    expect(connectorConfigProblems(factoryOf('email'), { ...validConfigs.email, to: [] })).toEqual(['/to: must NOT have fewer than 1 items']);
    expect(connectorConfigProblems(factoryOf('webhook'), { ...validConfigs.webhook, secret: 'short' })).toEqual([
      '/secret: must NOT have fewer than 32 characters',
    ]);
    expect(connectorConfigProblems(factoryOf('teams'), { url: 'htps://typo.example.com' })[0]).toMatch(/^\/url: must match pattern/);
    expect(connectorConfigProblems(factoryOf('rabbitmq'), { ...validConfigs.rabbitmq, routingKey: 'alerts.{{sku}}.{{colour}}' })[0]).toMatch(
      /^\/routingKey: must match pattern/,
    );
  });

  it('twilio-sms needs exactly one sender: From or MessagingServiceSid', () => {
    const { from: _from, ...noSender } = validConfigs['twilio-sms'];
    const neither = connectorConfigProblems(twilioSmsConnector, noSender);
    expect(neither).toContain("(root): must have required property 'from'");
    expect(neither).toContain("(root): must have required property 'messagingServiceSid'");
    const both = connectorConfigProblems(twilioSmsConnector, { ...validConfigs['twilio-sms'], messagingServiceSid: `MG${'0'.repeat(32)}` });
    expect(both).toContain('(root): must match exactly one schema in oneOf');
  });
});

describe('vendor base URLs', () => {
  // No network: a fetch that records where it was sent and answers like the vendor would.
  const recordingDeps = (answer: () => Response) => {
    const urls: string[] = [];
    const fetchStub = (async (input: string | URL | Request) => {
      urls.push(String(input));
      return answer();
    }) as typeof fetch;
    return { urls, deps: { fetch: fetchStub, now: () => FIXED_NOW_MS } };
  };

  it('default to the vendors’ documented endpoints when baseUrl is not set', async () => {
    const slack = recordingDeps(() => Response.json({ ok: true, ts: '1' }));
    await slackConnector.create({ token: 'xoxb-1', channel: 'C1' }, slack.deps).send(sampleNotification(), openSignal());
    const twilio = recordingDeps(() => Response.json({ sid: 'SM1' }, { status: 201 }));
    await twilioSmsConnector.create({ accountSid: ACCOUNT_SID, authToken: 't', from: '+15005550006', to: '+4915112345678' }, twilio.deps).send(sampleNotification(), openSignal());
    const pagerDuty = recordingDeps(() => Response.json({ status: 'success', dedup_key: 'k' }, { status: 202 }));
    await pagerDutyConnector.create({ routingKey: ROUTING_KEY }, pagerDuty.deps).send(sampleNotification(), openSignal());
    expect([...slack.urls, ...twilio.urls, ...pagerDuty.urls]).toEqual([
      'https://slack.com/api/chat.postMessage',
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
      'https://events.pagerduty.com/v2/enqueue',
    ]);
  });
});

// ---- Slack chat.postMessage -------------------------------------------------------------------

describe('slack (chat.postMessage)', () => {
  const create = () => slackConnector.create({ token: 'xoxb-123-456-abc', channel: 'C0123456789', baseUrl: `${vendor.url}/api/` }, deps);

  it('posts Block Kit with a text fallback, bearer token and JSON, and returns the message ts', async () => {
    vendor.reply({ body: { ok: true, channel: 'C0123456789', ts: '1732363200.000100' } });
    const notification = sampleNotification();
    const outcome = await create().send(notification, openSignal());
    expect(outcome).toEqual({ kind: 'delivered', receipt: '1732363200.000100' });

    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/api/chat.postMessage');
    expect(request.headers.authorization).toBe('Bearer xoxb-123-456-abc');
    expect(request.headers['user-agent']).toBe('stockade-notifier');
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = request.json();
    expect(body.channel).toBe('C0123456789');
    expect(body.text).toBe('Low stock: ARC-PAC-01\nLow stock: ARC-PAC-01 – just 3 units left.');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Low stock: ARC-PAC-01', emoji: true } });
    expect(body.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: 'Low stock: ARC-PAC-01 – just 3 units left.' } });
    expect(body.blocks[2].type).toBe('section');
    expect(body.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*SKU*\nARC-PAC-01' });
    expect(body.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*Threshold*\nminimum: 3 observed, limit 5' });
    expect(body.blocks[2].fields.length).toBeLessThanOrEqual(10);
    expect(body.blocks[3]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Suggested action:* Reorder 20 units from the supplier' } });
    expect(body.blocks[4].type).toBe('context');
    expect(body.metadata).toEqual({
      event_type: 'stockade_notification',
      event_payload: { delivery_id: notification.deliveryId, alert_id: notification.alert.id, kind: 'alert' },
    });
  });

  it('escapes mrkdwn control characters and leaves out the action on a recovery', async () => {
    vendor.reply({ body: { ok: true, ts: '1.2' } });
    const notification = sampleNotification({ alert: resolvedAlert(), text: 'Back: <b> & co' });
    await create().send(notification, openSignal());
    const blocks = vendor.only().json().blocks as Array<{ type: string; text?: { text: string } }>;
    expect(blocks[1].text?.text).toBe('Back: &lt;b&gt; &amp; co');
    expect(JSON.stringify(blocks)).not.toContain('Suggested action');
  });

  it('lists a digest alert by alert, at most ten, then counts the rest', async () => {
    vendor.reply({ body: { ok: true, ts: '1.3' } });
    const alerts = Array.from({ length: 12 }, (_, i) => sampleAlert({ id: `SKU-${i}/zero_stock/*/1`, sku: `SKU-${i}`, type: 'zero_stock' }));
    await create().send(digestNotification(alerts), openSignal());
    const list = vendor.only().json().blocks[2].text.text as string;
    expect(list.split('\n')).toHaveLength(11);
    expect(list).toContain('• SKU-0 @ WH-BER (eu-central): zero_stock (warning), available 3');
    expect(list.endsWith('• and 2 more')).toBe(true);
  });

  it('ok:false ratelimited inside a 200 is a retry after the Retry-After hint', async () => {
    vendor.reply({ status: 200, headers: { 'retry-after': '7' }, body: { ok: false, error: 'ratelimited' } });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({
      kind: 'retry',
      reason: 'Slack answered ok:false, error ratelimited',
      retryAfterMs: 7000,
    });
  });

  it('HTTP 429 with Retry-After is a retry after that many seconds', async () => {
    vendor.reply({ status: 429, headers: { 'retry-after': '30' }, body: 'rate limited' });
    const outcome = await create().send(sampleNotification(), openSignal());
    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 30_000 });
  });

  it.each(['channel_not_found', 'invalid_auth', 'not_in_channel', 'is_archived', 'invalid_blocks'])('ok:false %s is permanent', async (error) => {
    vendor.reply({ body: { ok: false, error } });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'permanent', reason: `Slack answered ok:false, error ${error}` });
  });

  it('internal_error is a retry; a 503 is a retry; a 200 that is not JSON is a retry', async () => {
    vendor.reply({ body: { ok: false, error: 'internal_error' } }, { status: 503, body: 'down' }, { body: '<html>proxy</html>' });
    expect((await create().send(sampleNotification(), openSignal())).kind).toBe('retry');
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'Slack answered 503: down' });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'Slack answered 200 with a body that is not JSON' });
  });
});

// ---- Slack incoming webhooks ------------------------------------------------------------------

describe('slack-webhook', () => {
  const create = () => slackWebhookConnector.create({ url: `${vendor.url}/services/T000/B000/XXXX` }, deps);

  it('posts the Block Kit message to the webhook URL and takes "ok" as delivered', async () => {
    vendor.reply({ body: 'ok' });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'delivered' });
    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/services/T000/B000/XXXX');
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request.headers.authorization).toBeUndefined();
    const body = request.json();
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.blocks[0].type).toBe('header');
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'action_prohibited'],
    [404, 'channel_not_found'],
    [410, 'channel_is_archived'],
  ])('HTTP %i %s is permanent', async (status, error) => {
    vendor.reply({ status, body: error });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'permanent', reason: `Slack webhook answered ${status}: ${error}` });
  });

  it('429 is a retry after Retry-After; 500 rollup_error is a retry', async () => {
    vendor.reply({ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' }, { status: 500, body: 'rollup_error' });
    expect(await create().send(sampleNotification(), openSignal())).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'Slack webhook answered 500: rollup_error' });
  });
});

// ---- Microsoft Teams Workflows --------------------------------------------------------------

describe('teams (Workflows webhook, Adaptive Card)', () => {
  const path = '/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s3cr3t';
  const create = () => teamsConnector.create({ url: `${vendor.url}${path}` }, deps);

  it('posts a message envelope whose first attachment is an Adaptive Card', async () => {
    vendor.reply({ status: 202 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'delivered' });
    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe(path);
    expect(request.headers['content-type']).toBe('application/json');
    const body = request.json();
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0].contentType).toBe(ADAPTIVE_CARD_CONTENT_TYPE);
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = body.attachments[0].content;
    expect(card.type).toBe('AdaptiveCard');
    expect(card.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
    expect(card.version).toBe('1.4');
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: 'Low stock: ARC-PAC-01', weight: 'Bolder', color: 'Warning', wrap: true });
    expect(card.body[1]).toMatchObject({ type: 'TextBlock', text: 'Low stock: ARC-PAC-01 – just 3 units left.' });
    const factSet = card.body.find((b: { type: string }) => b.type === 'FactSet');
    expect(factSet.facts).toContainEqual({ title: 'SKU', value: 'ARC-PAC-01' });
    expect(factSet.facts).toContainEqual({ title: 'Available', value: '3' });
    expect(JSON.stringify(card.body)).toContain('**Suggested action:** Reorder 20 units from the supplier');
  });

  it('colours a recovery good and a critical alert attention', async () => {
    vendor.reply({ status: 202 }, { status: 202 });
    await create().send(sampleNotification({ alert: resolvedAlert() }), openSignal());
    await create().send(sampleNotification({ alert: sampleAlert({ severity: 'critical' }) }), openSignal());
    expect(vendor.requests[0].json().attachments[0].content.body[0].color).toBe('Good');
    expect(vendor.requests[1].json().attachments[0].content.body[0].color).toBe('Attention');
  });

  it('429 is a retry after Retry-After; 400 (bad card) and 404 (deleted flow) are permanent', async () => {
    vendor.reply({ status: 429, headers: { 'retry-after': '12' } }, { status: 400, body: { error: { code: 'InvalidRequestContent' } } }, { status: 404 });
    expect(await create().send(sampleNotification(), openSignal())).toMatchObject({ kind: 'retry', retryAfterMs: 12_000 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({
      kind: 'permanent',
      reason: 'Teams answered 400: {"error":{"code":"InvalidRequestContent"}}',
    });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'permanent', reason: 'Teams answered 404' });
  });
});

// ---- Twilio SMS -------------------------------------------------------------------------------

describe('twilio-sms (Messages API)', () => {
  const base = { accountSid: ACCOUNT_SID, authToken: 'auth-token', to: '+4915112345678' };

  it('posts form-encoded To/From/Body with Basic auth to the Messages resource and returns the SID', async () => {
    vendor.reply({ status: 201, body: { sid: 'SM0123', status: 'queued' } });
    const connector = twilioSmsConnector.create({ ...base, from: '+15005550006', baseUrl: vendor.url }, deps);
    expect(await connector.send(sampleNotification(), openSignal())).toEqual({ kind: 'delivered', receipt: 'SM0123' });
    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:auth-token`).toString('base64')}`);
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = request.form();
    expect([...form.keys()].sort()).toEqual(['Body', 'From', 'To']);
    expect(form.get('To')).toBe('+4915112345678');
    expect(form.get('From')).toBe('+15005550006');
    expect(form.get('Body')).toBe('Low stock: ARC-PAC-01 – just 3 units left.');
  });

  it('sends MessagingServiceSid instead of From, and authenticates with an API key when given', async () => {
    vendor.reply({ status: 201, body: { sid: 'SM0124' } });
    const messagingServiceSid = `MG${'a'.repeat(32)}`;
    const apiKeySid = `SK${'b'.repeat(32)}`;
    const connector = twilioSmsConnector.create({ ...base, authToken: 'key-secret', apiKeySid, messagingServiceSid, baseUrl: vendor.url }, deps);
    await connector.send(sampleNotification(), openSignal());
    const request = vendor.only();
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`${apiKeySid}:key-secret`).toString('base64')}`);
    expect(request.form().get('MessagingServiceSid')).toBe(messagingServiceSid);
    expect(request.form().has('From')).toBe(false);
  });

  it(`cuts the body to ${SMS_BODY_CHARS_MAX} characters`, async () => {
    vendor.reply({ status: 201, body: { sid: 'SM1' } });
    const connector = twilioSmsConnector.create({ ...base, from: '+15005550006', baseUrl: vendor.url }, deps);
    await connector.send(sampleNotification({ text: 'x'.repeat(5000) }), openSignal());
    const body = vendor.only().form().get('Body')!;
    expect(body).toHaveLength(SMS_BODY_CHARS_MAX);
    expect(body.endsWith('…')).toBe(true);
  });

  it('429 / 20429 is a retry after Retry-After; 21211 (invalid To) is permanent and named', async () => {
    vendor.reply(
      { status: 429, headers: { 'retry-after': '4' }, body: { code: 20429, message: 'Too Many Requests', status: 429 } },
      { status: 400, body: { code: 21211, message: "The 'To' number +49 is not a valid phone number.", status: 400 } },
      { status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } },
    );
    const connector = twilioSmsConnector.create({ ...base, from: '+15005550006', baseUrl: vendor.url }, deps);
    expect(await connector.send(sampleNotification(), openSignal())).toEqual({
      kind: 'retry',
      reason: 'Twilio answered 429, error 20429 (too many requests): Too Many Requests',
      retryAfterMs: 4000,
    });
    expect(await connector.send(sampleNotification(), openSignal())).toEqual({
      kind: 'permanent',
      reason: "Twilio answered 400, error 21211 (invalid 'To' phone number): The 'To' number +49 is not a valid phone number.",
    });
    expect(await connector.send(sampleNotification(), openSignal())).toMatchObject({ kind: 'permanent' });
  });
});

// ---- PagerDuty Events v2 ----------------------------------------------------------------------

describe('pagerduty (Events API v2)', () => {
  const create = () => pagerDutyConnector.create({ routingKey: ROUTING_KEY, source: 'stockade-test', client: 'Stockade', baseUrl: vendor.url }, deps);
  const accepted = (dedupKey: string) => ({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } });

  it('triggers with dedup_key = alert id, summary, source, severity and custom details', async () => {
    const alert = sampleAlert();
    vendor.reply(accepted(alert.id));
    expect(await create().send(sampleNotification({ alert }), openSignal())).toEqual({ kind: 'delivered', receipt: alert.id });
    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v2/enqueue');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.authorization).toBeUndefined();
    const event = request.json();
    expect(event).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: alert.id,
      client: 'Stockade',
      payload: {
        summary: 'Low stock: ARC-PAC-01',
        source: 'stockade-test/WH-BER',
        severity: 'warning',
        timestamp: alert.raisedAt,
        component: 'ARC-PAC-01',
        group: 'eu-central',
        class: 'below_minimum',
      },
    });
    expect(event.payload.custom_details).toMatchObject({
      sku: 'ARC-PAC-01',
      levels: alert.levels,
      threshold: alert.threshold,
      suggested_action: 'Reorder 20 units from the supplier',
    });
  });

  it.each([
    ['info', 'info'],
    ['warning', 'warning'],
    ['critical', 'critical'],
  ] as const)('maps severity %s to %s', async (severity, expected) => {
    vendor.reply(accepted('k'));
    await create().send(sampleNotification({ alert: sampleAlert({ severity }) }), openSignal());
    expect(vendor.only().json().payload.severity).toBe(expected);
  });

  it('resolves the same dedup_key on recovery', async () => {
    const alert = resolvedAlert();
    vendor.reply(accepted(alert.id));
    await create().send(sampleNotification({ alert }), openSignal());
    expect(vendor.only().json()).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: alert.id });
  });

  it('429 without a hint is a retry after 30 s; with Retry-After, after that', async () => {
    vendor.reply({ status: 429, body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' } });
    vendor.reply({ status: 429, headers: { 'retry-after': '5' } });
    expect(await create().send(sampleNotification(), openSignal())).toMatchObject({ kind: 'retry', retryAfterMs: PAGERDUTY_RETRY_AFTER_MS_DEFAULT });
    expect(PAGERDUTY_RETRY_AFTER_MS_DEFAULT).toBe(30_000);
    expect(await create().send(sampleNotification(), openSignal())).toMatchObject({ kind: 'retry', retryAfterMs: 5000 });
  });

  it('400 (invalid event) is permanent; 500 is a retry', async () => {
    vendor.reply({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Length of routing_key is incorrect'] } });
    vendor.reply({ status: 500 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({
      kind: 'permanent',
      reason: 'PagerDuty answered 400: {"status":"invalid event","message":"Event object is invalid","errors":["Length of routing_key is incorrect"]}',
    });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'PagerDuty answered 500' });
  });

  it('a digest sends one event per alert and stops at the first failure', async () => {
    const alerts = [sampleAlert({ id: 'A/zero_stock/*/1', sku: 'A' }), resolvedAlert({ id: 'B/zero_stock/*/1', sku: 'B' }), sampleAlert({ id: 'C/zero_stock/*/1', sku: 'C' })];
    vendor.reply(accepted('A/zero_stock/*/1'), { status: 429, headers: { 'retry-after': '1' } });
    const outcome = await create().send(digestNotification(alerts), openSignal());
    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 1000 });
    expect(vendor.requests.map((r) => [r.json().event_action, r.json().dedup_key])).toEqual([
      ['trigger', 'A/zero_stock/*/1'],
      ['resolve', 'B/zero_stock/*/1'],
    ]);
    expect(vendor.requests[0].json().payload.summary).toBe(alerts[0].summary);
  });
});

// ---- Generic signed webhook -------------------------------------------------------------------

describe('webhook (HMAC-signed JSON)', () => {
  const create = (now = () => FIXED_NOW_MS) => webhookConnector.create({ url: `${vendor.url}/hooks/stockade`, secret: SECRET }, testDeps(now));

  it('posts the notification document with a signature the receiver helper accepts', async () => {
    vendor.reply({ status: 204 });
    const notification = sampleNotification();
    expect(await create().send(notification, openSignal())).toEqual({ kind: 'delivered' });
    const request = vendor.only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hooks/stockade');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['idempotency-key']).toBe(notification.deliveryId);
    expect(request.headers['x-stockade-timestamp']).toBe(String(FIXED_NOW_MS / 1000));
    const signature = request.headers['x-stockade-signature'] as string;
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(signature).toBe(`v1=${webhookSignature(SECRET, String(FIXED_NOW_MS / 1000), request.text)}`);
    expect(request.json()).toEqual({
      deliveryId: notification.deliveryId,
      kind: 'alert',
      title: notification.title,
      text: notification.text,
      alert: notification.alert,
      alerts: notification.alerts,
    });
    const verdict = verifyWebhookSignature({
      secret: SECRET,
      body: request.body,
      timestamp: request.headers['x-stockade-timestamp'] as string,
      signature,
      now: FIXED_NOW_MS + 1000,
    });
    expect(verdict).toEqual({ ok: true, timestampMs: FIXED_NOW_MS });
  });

  it('does not follow a redirect (permanent) and maps 429 / 500 to retries', async () => {
    vendor.reply({ status: 301, headers: { location: 'http://127.0.0.1:1/elsewhere' } }, { status: 429, headers: { 'retry-after': '9' } }, { status: 502 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'permanent', reason: 'Webhook answered 301' });
    expect(vendor.requests).toHaveLength(1);
    expect(await create().send(sampleNotification(), openSignal())).toMatchObject({ kind: 'retry', retryAfterMs: 9000 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'Webhook answered 502' });
    // A null-body status must not be mistaken for a network failure.
    vendor.reply({ status: 304 });
    expect(await create().send(sampleNotification(), openSignal())).toEqual({ kind: 'permanent', reason: 'Webhook answered 304' });
  });

  it('an aborted attempt (timeout) is a retry, and the request is left unanswered', async () => {
    let release!: () => void;
    vendor.reply({ status: 200, after: new Promise<void>((resolve) => (release = resolve)) });
    const controller = new AbortController();
    const sending = create().send(sampleNotification(), { signal: controller.signal });
    await vendor.waitForRequests(1);
    controller.abort(new Error('attempt timed out'));
    const outcome = await sending;
    release();
    expect(outcome.kind).toBe('retry');
    expect((outcome as { reason: string }).reason).toMatch(/^Webhook not reached: /);
  });

  it('a receiver that is not listening is a retry', async () => {
    const gone = await VendorServer.start();
    const url = `${gone.url}/hook`;
    await gone.close();
    const outcome = await webhookConnector.create({ url, secret: SECRET }, deps).send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('retry');
  });
});

describe('verifyWebhookSignature', () => {
  const body = '{"deliveryId":"d-1"}';
  const timestamp = String(FIXED_NOW_MS / 1000);
  const signature = `v1=${webhookSignature(SECRET, timestamp, body)}`;
  const verify = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
    verifyWebhookSignature({ secret: SECRET, body, timestamp, signature, now: FIXED_NOW_MS, ...overrides });

  it('accepts a matching signature within the tolerance, either side', () => {
    expect(verify({})).toEqual({ ok: true, timestampMs: FIXED_NOW_MS });
    expect(verify({ now: FIXED_NOW_MS + 299_000 }).ok).toBe(true);
    expect(verify({ now: FIXED_NOW_MS - 299_000 }).ok).toBe(true);
  });

  it('rejects a replay older than the tolerance, and a timestamp from the future', () => {
    expect(verify({ now: FIXED_NOW_MS + 301_000 })).toMatchObject({ ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' });
    expect(verify({ now: FIXED_NOW_MS - 301_000 })).toMatchObject({ ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' });
    expect(verify({ now: FIXED_NOW_MS + 61_000, toleranceMs: 60_000 })).toMatchObject({ ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' });
  });

  it('rejects a changed body, another secret, a re-dated timestamp, and missing or malformed headers', () => {
    const invalid = { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' };
    expect(verify({ body: '{"deliveryId":"d-2"}' })).toMatchObject(invalid);
    expect(verify({ secret: 'another-secret-of-at-least-32-characters!' })).toMatchObject(invalid);
    // Moving the timestamp to look fresh breaks the signature: it covers the timestamp too.
    expect(verify({ timestamp: String(FIXED_NOW_MS / 1000 + 1) })).toMatchObject(invalid);
    expect(verify({ signature: undefined })).toMatchObject(invalid);
    expect(verify({ signature: 'v1=zz' })).toMatchObject(invalid);
    expect(verify({ signature: `v0=${signature.slice(3)}` })).toMatchObject(invalid);
    expect(verify({ signature: `v1=${'0'.repeat(2000)}` })).toMatchObject(invalid);
    expect(verify({ timestamp: null })).toMatchObject(invalid);
    expect(verify({ timestamp: '1.5e9' })).toMatchObject(invalid);
  });

  it('accepts any one of several secrets (rotation) and any one of several v1 signatures', () => {
    expect(verify({ secret: ['the-new-secret-of-at-least-32-characters', SECRET] }).ok).toBe(true);
    expect(verify({ signature: `v1=${'ab'.repeat(32)}, ${signature}` }).ok).toBe(true);
  });

  it('its codes are in the error table, answered 401', () => {
    expect(ERRORS.WEBHOOK_SIGNATURE_INVALID.status).toBe(401);
    expect(ERRORS.WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE.status).toBe(401);
  });
});

describe('shared helpers', () => {
  it('truncate never splits a surrogate pair and marks the cut', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
    expect(truncate('a😀b', 3)).toBe('a…');
  });

  it('readTextCapped keeps at most bytesMax bytes of an answer', async () => {
    const text = await readTextCapped(new Response('x'.repeat(10_000)), 100);
    expect(text).toBe('x'.repeat(100));
  });
});

// ---- Email over SMTP, against a real SMTP server -----------------------------------------------

describe('email (SMTP via nodemailer)', () => {
  const to = ['logistics@example.com', 'procurement@example.com'];
  const connectors: Connector[] = [];
  const sinks: SmtpSink[] = [];
  const open = async (sinkOptions: SmtpSinkOptions = {}, config: Partial<EmailConfig> = {}) => {
    const sink = await SmtpSink.start(sinkOptions);
    sinks.push(sink);
    const connector = emailConnector.create(
      { host: '127.0.0.1', port: sink.port, from: 'Stockade alerts <alerts@stockade.example>', to, connectionTimeoutMs: 5000, ...config },
      deps,
    );
    connectors.push(connector);
    return { sink, connector };
  };
  afterAll(async () => {
    for (const connector of connectors) await connector.close?.();
    for (const sink of sinks) await sink.close();
  });

  it('sends one message to the to list: envelope, subject, text and HTML bodies, a stable Message-ID', async () => {
    const { sink, connector } = await open({ credentials: { user: 'alerts', pass: 's3cret' } }, { auth: { user: 'alerts', pass: 's3cret' } });
    const notification = sampleNotification();
    const outcome = await connector.send(notification, openSignal());
    const messageId = messageIdOf(notification.deliveryId, 'Stockade alerts <alerts@stockade.example>');
    expect(outcome).toEqual({ kind: 'delivered', receipt: messageId });
    expect(sink.messages).toHaveLength(1);
    const mail = sink.messages[0];
    expect(mail.mailFrom).toBe('alerts@stockade.example');
    expect(mail.rcptTo).toEqual(to);
    expect(mail.user).toBe('alerts');
    expect(headerOf(mail.raw, 'Subject')).toBe('Low stock: ARC-PAC-01');
    expect(headerOf(mail.raw, 'From')).toBe('Stockade alerts <alerts@stockade.example>');
    expect(headerOf(mail.raw, 'To')).toBe('logistics@example.com, procurement@example.com');
    expect(headerOf(mail.raw, 'Message-ID')).toBe(messageId);
    expect(headerOf(mail.raw, 'X-Stockade-Delivery-Id')).toBe(notification.deliveryId);
    expect(headerOf(mail.raw, 'X-Stockade-Alert-Id')).toBe(notification.alert.id);
    expect(headerOf(mail.raw, 'Content-Type')).toMatch(/^multipart\/alternative;/);
    const decoded = decodeQuotedPrintable(mail.raw);
    expect(decoded).toMatch(/Content-Type: text\/plain/);
    expect(decoded).toMatch(/Content-Type: text\/html/);
    expect(decoded).toContain('Low stock: ARC-PAC-01 – just 3 units left.');
    expect(decoded).toContain('SKU: ARC-PAC-01');
    expect(decoded).toContain('Threshold: minimum: 3 observed, limit 5');
    expect(decoded).toContain('Suggested action: Reorder 20 units from the supplier');
    expect(decoded).toContain('<th align="left">SKU</th><td>ARC-PAC-01</td>');
  });

  it('requireTLS: upgrades with STARTTLS, verifying the server against tlsCa, before it authenticates', async () => {
    const tls = selfSignedCertificate();
    const { sink, connector } = await open(
      { tls, credentials: { user: 'alerts', pass: 's3cret' } },
      { requireTLS: true, tlsCa: tls.cert, auth: { user: 'alerts', pass: 's3cret' } },
    );
    expect((await connector.send(sampleNotification(), openSignal())).kind).toBe('delivered');
    expect(sink.messages[0]).toMatchObject({ secure: true, user: 'alerts' });
  });

  it('secure: TLS from the first byte', async () => {
    const tls = selfSignedCertificate();
    const { sink, connector } = await open({ tls, secure: true }, { secure: true, tlsCa: tls.cert });
    expect((await connector.send(sampleNotification(), openSignal())).kind).toBe('delivered');
    expect(sink.messages[0].secure).toBe(true);
  });

  it('requireTLS against a server that offers no STARTTLS sends nothing in the clear (permanent)', async () => {
    const { sink, connector } = await open({}, { requireTLS: true });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('permanent');
    expect((outcome as { reason: string }).reason).toMatch(/STARTTLS/);
    expect(sink.dataReceived).toBe(0);
  });

  it('a server certificate the connector does not trust is permanent, and nothing is sent', async () => {
    const { sink, connector } = await open({ tls: selfSignedCertificate() }, { requireTLS: true });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome).toMatchObject({ kind: 'permanent' });
    expect((outcome as { reason: string }).reason).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect(sink.dataReceived).toBe(0);
  });

  it('a resend of the same delivery carries the same Message-ID; another delivery another', async () => {
    const { sink, connector } = await open();
    const first = sampleNotification();
    await connector.send(first, openSignal());
    await connector.send(first, openSignal());
    await connector.send(sampleNotification({ deliveryId: 'other-delivery' }), openSignal());
    const ids = sink.messages.map((m) => headerOf(m.raw, 'Message-ID'));
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('escapes HTML in the rendered text', async () => {
    const { sink, connector } = await open();
    await connector.send(sampleNotification({ text: 'Shelf <A&B> empty' }), openSignal());
    const decoded = decodeQuotedPrintable(sink.messages[0].raw);
    expect(decoded).toContain('<p>Shelf &lt;A&amp;B&gt; empty</p>');
    expect(decoded).toContain('Shelf <A&B> empty');
  });

  it('a 5xx refusal of every recipient is permanent', async () => {
    const { sink, connector } = await open({ rejectRcptTo: () => ({ code: 550, message: 'mailbox unavailable' }) });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('permanent');
    expect((outcome as { reason: string }).reason).toMatch(/550/);
    expect(sink.messages).toHaveLength(0);
  });

  it('a 4xx at DATA is a retry; a 4xx at MAIL FROM is a retry', async () => {
    const data = await open({ rejectData: () => ({ code: 451, message: 'local error in processing, try later' }) });
    const atData = await data.connector.send(sampleNotification(), openSignal());
    expect(atData.kind).toBe('retry');
    expect((atData as { reason: string }).reason).toMatch(/^SMTP server answered 451/);
    const mailFrom = await open({ rejectMailFrom: () => ({ code: 421, message: 'service not available' }) });
    const atMailFrom = await mailFrom.connector.send(sampleNotification(), openSignal());
    expect(atMailFrom.kind).toBe('retry');
    expect((atMailFrom as { reason: string }).reason).toMatch(/421/);
  });

  it('a 5xx at DATA (content refused) is permanent', async () => {
    const { connector } = await open({ rejectData: () => ({ code: 554, message: 'message refused' }) });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('permanent');
    expect((outcome as { reason: string }).reason).toMatch(/^SMTP server answered 554/);
  });

  it('some recipients refused: delivered to the others, the refused named in the receipt', async () => {
    const { sink, connector } = await open({
      rejectRcptTo: (address) => (address === 'procurement@example.com' ? { code: 550, message: 'no such user' } : undefined),
    });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('delivered');
    expect((outcome as { receipt: string }).receipt).toMatch(/; refused: procurement@example\.com$/);
    expect(sink.messages[0].rcptTo).toEqual(['logistics@example.com']);
  });

  it('wrong credentials (535) are permanent', async () => {
    const { connector } = await open({ credentials: { user: 'alerts', pass: 's3cret' } }, { auth: { user: 'alerts', pass: 'wrong' } });
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('permanent');
    expect((outcome as { reason: string }).reason).toMatch(/535/);
  });

  it('a server that is not there is a retry', async () => {
    const gone = await SmtpSink.start();
    const port = gone.port;
    await gone.close();
    const connector = emailConnector.create({ host: '127.0.0.1', port, from: 'alerts@stockade.example', to, connectionTimeoutMs: 2000 }, deps);
    connectors.push(connector);
    const outcome = await connector.send(sampleNotification(), openSignal());
    expect(outcome.kind).toBe('retry');
  });

  it('an attempt aborted while the server holds its answer is a retry', async () => {
    let release!: () => void;
    const { sink, connector } = await open({ holdData: new Promise<void>((resolve) => (release = resolve)) });
    const controller = new AbortController();
    const sending = connector.send(sampleNotification(), { signal: controller.signal });
    // Abort once the server holds the message: the connector must not wait for its answer.
    await sink.waitForData(1);
    controller.abort(new Error('attempt timed out'));
    const outcome = await sending;
    release();
    expect(outcome.kind).toBe('retry');
    expect((outcome as { reason: string }).reason).toMatch(/^SMTP EABORT/);
  });
});

// ---- RabbitMQ, against the real broker ---------------------------------------------------------

describe('rabbitmq (amqplib, confirm channel)', () => {
  const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
  const run = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const exchange = `stockade-test-alerts-${run}`;
  const mismatchedExchange = `stockade-test-fanout-${run}`;
  const queue = `stockade-test-alerts-q-${run}`;
  const overflowQueue = `stockade-test-overflow-q-${run}`;
  let admin: ChannelModel;
  let channel: Channel;
  const connectors: Connector[] = [];
  const create = (config: Partial<RabbitMqConfig> = {}, connect?: AmqpConnect) => {
    const connector = createRabbitMqConnector({ url: BROKER_URL, exchange, ...config }, deps, connect);
    connectors.push(connector);
    return connector;
  };

  /** The next message on a queue, waited for through a consumer (no polling). */
  const nextMessage = (name: string) =>
    new Promise<ConsumeMessage>((resolve, reject) => {
      let tag: string | undefined;
      let pending: ConsumeMessage | undefined;
      channel
        .consume(name, (message) => {
          if (!message) return reject(new Error('consumer cancelled'));
          channel.ack(message);
          if (tag) void channel.cancel(tag).then(() => resolve(message), reject);
          else pending = message;
        })
        .then(({ consumerTag }) => {
          tag = consumerTag;
          if (pending) void channel.cancel(tag).then(() => resolve(pending!), reject);
        }, reject);
    });

  beforeAll(async () => {
    admin = await amqpConnect(BROKER_URL);
    channel = await admin.createChannel();
    // Declared exactly as the connector declares it, so either may come first.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, 'alerts.#');
    // At most one message, and the broker nacks publishes beyond it.
    await channel.assertQueue(overflowQueue, { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await channel.bindQueue(overflowQueue, exchange, 'overflow.#');
    await channel.assertExchange(mismatchedExchange, 'fanout', { durable: false, autoDelete: false });
  });

  afterAll(async () => {
    for (const connector of connectors) await connector.close?.();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(overflowQueue);
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(mismatchedExchange);
    await admin.close();
  });

  it('publishes a persistent JSON message with messageId = deliveryId, confirmed, routed by the template', async () => {
    const notification = sampleNotification();
    const outcome = await create().send(notification, openSignal());
    expect(outcome).toEqual({ kind: 'delivered', receipt: 'alerts.below_minimum.warning' });
    const message = await nextMessage(queue);
    expect(message.fields.exchange).toBe(exchange);
    expect(message.fields.routingKey).toBe('alerts.below_minimum.warning');
    expect(message.properties.deliveryMode).toBe(2);
    expect(message.properties.messageId).toBe(notification.deliveryId);
    expect(message.properties.correlationId).toBe(notification.alert.id);
    expect(message.properties.contentType).toBe('application/json');
    expect(message.properties.type).toBe('stockade.alert');
    expect(message.properties.timestamp).toBe(FIXED_NOW_MS / 1000);
    expect(message.properties.headers).toMatchObject({ 'x-stockade-alert-id': notification.alert.id, 'x-stockade-notice-id': notification.alert.noticeId });
    expect(JSON.parse(message.content.toString('utf8'))).toEqual({
      deliveryId: notification.deliveryId,
      kind: 'alert',
      title: notification.title,
      text: notification.text,
      alert: notification.alert,
      alerts: notification.alerts,
    });
  });

  it('fills every template field (a null location reads "none")', async () => {
    const alert = resolvedAlert({ location: null, region: null });
    const outcome = await create({ routingKey: 'alerts.{{sku}}.{{location}}.{{region}}.{{status}}.{{kind}}.{{category}}' }).send(
      sampleNotification({ alert }),
      openSignal(),
    );
    expect(outcome).toEqual({ kind: 'delivered', receipt: 'alerts.ARC-PAC-01.none.none.resolved.recovery.arcade' });
    expect((await nextMessage(queue)).fields.routingKey).toBe('alerts.ARC-PAC-01.none.none.resolved.recovery.arcade');
  });

  it('a nack from the broker is a retry', async () => {
    const connector = create({ routingKey: 'overflow.{{type}}' });
    expect(await connector.send(sampleNotification(), openSignal())).toMatchObject({ kind: 'delivered' });
    const refused = await connector.send(sampleNotification({ deliveryId: 'second' }), openSignal());
    expect(refused.kind).toBe('retry');
    expect((refused as { reason: string }).reason).toMatch(/^RabbitMQ did not confirm the publish/);
    await channel.purgeQueue(overflowQueue);
  });

  it('a connection lost under a publish is a retry, and the next send reconnects and delivers', async () => {
    const models: ChannelModel[] = [];
    const connect: AmqpConnect = async (url, options) => {
      const model = await amqpConnect(url, options);
      models.push(model);
      return model;
    };
    const connector = create({}, connect);
    expect((await connector.send(sampleNotification({ deliveryId: 'before-cut' }), openSignal())).kind).toBe('delivered');
    expect((await nextMessage(queue)).properties.messageId).toBe('before-cut');

    // Not events.once: it rejects on the 'error' that precedes 'close'.
    const closed = new Promise<void>((resolve) => models[0].once('close', () => resolve()));
    const sending = connector.send(sampleNotification({ deliveryId: 'under-cut' }), openSignal());
    // Reset the TCP connection before the publish reaches the broker: no confirm can come.
    const socket = (models[0] as unknown as { connection: { stream: Socket } }).connection.stream;
    socket.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const lost = await sending;
    expect(lost.kind).toBe('retry');
    expect((lost as { reason: string }).reason).toMatch(/^RabbitMQ (did not confirm the publish|channel unusable): /);
    await closed;

    const again = await connector.send(sampleNotification({ deliveryId: 'after-cut' }), openSignal());
    expect(again.kind).toBe('delivered');
    expect(models).toHaveLength(2);
    expect((await nextMessage(queue)).properties.messageId).toBe('after-cut');
  });

  it('an exchange deleted under the connector: the publish is a retry, the next send declares it again on a new connection', async () => {
    const ownExchange = `${exchange}-own`;
    const models: ChannelModel[] = [];
    const connect: AmqpConnect = async (url, options) => {
      const model = await amqpConnect(url, options);
      models.push(model);
      return model;
    };
    const connector = create({ exchange: ownExchange }, connect);
    try {
      expect((await connector.send(sampleNotification(), openSignal())).kind).toBe('delivered');
      const firstClosed = new Promise<void>((resolve) => models[0].once('close', () => resolve()));
      await channel.deleteExchange(ownExchange);
      // The broker answers the publish to a missing exchange by closing the channel (404).
      const lost = await connector.send(sampleNotification(), openSignal());
      expect(lost.kind).toBe('retry');
      await firstClosed;
      expect((await connector.send(sampleNotification(), openSignal())).kind).toBe('delivered');
      expect(models).toHaveLength(2);
      await channel.checkExchange(ownExchange);
    } finally {
      await connector.close?.();
      await channel.deleteExchange(ownExchange);
    }
  });

  it(`refuses a publish beyond publishesUnconfirmedMax as a retry`, async () => {
    const connector = create({ publishesUnconfirmedMax: 1 });
    const [first, second] = await Promise.all([
      connector.send(sampleNotification({ deliveryId: 'bounded-1' }), openSignal()),
      connector.send(sampleNotification({ deliveryId: 'bounded-2' }), openSignal()),
    ]);
    expect(first.kind).toBe('delivered');
    expect(second).toEqual({ kind: 'retry', reason: '1 publishes await a confirm (publishesUnconfirmedMax 1)' });
    expect((await nextMessage(queue)).properties.messageId).toBe('bounded-1');
  });

  it('refused credentials (403) and an exchange declared otherwise (406) are permanent', async () => {
    const badLogin = await create({ url: 'amqp://guest:wrong-password@127.0.0.1:5672' }).send(sampleNotification(), openSignal());
    expect(badLogin.kind).toBe('permanent');
    expect((badLogin as { reason: string }).reason).toMatch(/403/);
    const mismatch = await create({ exchange: mismatchedExchange, exchangeType: 'topic' }).send(sampleNotification(), openSignal());
    expect(mismatch.kind).toBe('permanent');
    expect((mismatch as { reason: string }).reason).toMatch(/406/);
  });

  it('a broker that is not there is a retry; a closed connector refuses as a retry', async () => {
    const unreachable = await create({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 2000 }).send(sampleNotification(), openSignal());
    expect(unreachable.kind).toBe('retry');
    const connector = create();
    await connector.close?.();
    expect(await connector.send(sampleNotification(), openSignal())).toEqual({ kind: 'retry', reason: 'the RabbitMQ connector is closed' });
  });

  it('mandatory: a message no queue is bound for comes back as a retry; without it the broker drops it', async () => {
    const template = { routingKey: 'nobody-listens.{{type}}' };
    const returned = await create({ ...template, mandatory: true }).send(sampleNotification(), openSignal());
    expect(returned).toEqual({ kind: 'retry', reason: 'RabbitMQ returned the message: no queue is bound for routing key nobody-listens.below_minimum' });
    expect(await create(template).send(sampleNotification(), openSignal())).toEqual({ kind: 'delivered', receipt: 'nobody-listens.below_minimum' });
    // And a mandatory publish that does reach a queue is delivered as usual.
    expect((await create({ mandatory: true }).send(sampleNotification({ deliveryId: 'routed' }), openSignal())).kind).toBe('delivered');
    expect((await nextMessage(queue)).properties.messageId).toBe('routed');
  });

  it('a routing key over 255 bytes is permanent', async () => {
    const alert = sampleAlert({ sku: 'S'.repeat(300) });
    const outcome = await create({ routingKey: 'alerts.{{sku}}' }).send(sampleNotification({ alert }), openSignal());
    expect(outcome.kind).toBe('permanent');
  });
});

describe('the vendor stand-in (test/connectors/vendor-server.ts)', () => {
  it('answers past requestsMax with 503 and past bodyBytesMax with 413, recording neither', async () => {
    const small = await VendorServer.start({ requestsMax: 1, bodyBytesMax: 10, defaultReply: { status: 201, body: { ok: true } } });
    try {
      const first = await fetch(`${small.url}/a?x=1`, { method: 'PUT', body: 'hello', headers: { 'x-test': 'yes' } });
      expect(first.status).toBe(201);
      expect(await first.json()).toEqual({ ok: true });
      expect((await fetch(`${small.url}/b`, { method: 'POST', body: 'x'.repeat(11) })).status).toBe(413);
      expect((await fetch(`${small.url}/c`, { method: 'POST', body: 'ok' })).status).toBe(503);
      const only = small.only();
      expect([only.method, only.path, only.text, only.headers['x-test']]).toEqual(['PUT', '/a?x=1', 'hello', 'yes']);
      expect(small.refused).toBe(2);
    } finally {
      await small.close();
    }
  });

  it('replies in queue order, then by default; a reply may be a function of the request', async () => {
    vendor.reply({ status: 418, body: 'first' }, (request) => ({ status: 200, body: `echo ${request.text}` }));
    expect(await (await fetch(vendor.url, { method: 'POST', body: 'a' })).text()).toBe('first');
    expect(await (await fetch(vendor.url, { method: 'POST', body: 'b' })).text()).toBe('echo b');
    expect((await fetch(vendor.url, { method: 'POST', body: 'c' })).status).toBe(200);
    await vendor.waitForRequests(3);
    expect(vendor.requests.map((r) => r.text)).toEqual(['a', 'b', 'c']);
  });
});
