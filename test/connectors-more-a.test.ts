// Contract tests for the part-A notifier connectors: each one against a local server standing in
// for its vendor, checking the request the vendor documents (method, path, headers, auth, body)
// and how the vendor's answers (success, rate limit, permanent error) become delivery outcomes.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorFactory } from '../src/notifier/connector.js';
import { discordConnector } from '../src/notifier/connectors/discord.js';
import { gmailConnector } from '../src/notifier/connectors/gmail.js';
import { calendarEventId, googleCalendarConnector } from '../src/notifier/connectors/google-calendar.js';
import { googleChatConnector } from '../src/notifier/connectors/google-chat.js';
import { graphMailConnector, outlookConnector, teamsChatConnector } from '../src/notifier/connectors/graph.js';
import { jiraAlertLabel, jiraConnector } from '../src/notifier/connectors/jira.js';
import { mailgunConnector } from '../src/notifier/connectors/mailgun.js';
import { moreAConnectors } from '../src/notifier/connectors/more-a.js';
import { pushoverConnector } from '../src/notifier/connectors/pushover.js';
import { sendgridConnector } from '../src/notifier/connectors/sendgrid.js';
import { OAuth2TokenSource, TOKEN_LIFETIME_MS_DEFAULT } from '../src/notifier/connectors/oauth2.js';
import { snsConnector, snsMessage } from '../src/notifier/connectors/sns.js';
import { telegramConnector } from '../src/notifier/connectors/telegram.js';
import { webexConnector } from '../src/notifier/connectors/webex.js';
import { whatsappConnector } from '../src/notifier/connectors/whatsapp.js';
import { basic, blamedFields, Clock, configErrors, depsWith, NOW_MS, notification, send, without } from './connectors-a/fixtures.js';
import { VendorServer, type RecordedRequest } from './connectors-a/vendor-server.js';

const NOW_S = NOW_MS / 1000;

let vendor: VendorServer;
beforeEach(async () => {
  vendor = await VendorServer.start();
});
afterEach(async () => {
  await vendor.close();
});

const json = (r: RecordedRequest): any => JSON.parse(r.body);
const form = (r: RecordedRequest): URLSearchParams => new URLSearchParams(r.body);

/** A fetch that answers from a list without any network, recording the URLs asked for. */
function scriptedFetch(...responses: Array<() => Response>): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const fetchFn = (async (input: string | URL | Request) => {
    urls.push(String(input));
    const next = responses.shift();
    if (next === undefined) throw new Error(`unexpected request to ${String(input)}`);
    return next();
  }) as typeof fetch;
  return { fetch: fetchFn, urls };
}

// ---------------------------------------------------------------------------------------------
// Configuration: every connector rejects a missing and a misspelt field by name.

const graphAuth = { tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1' };
const googleAuth = { clientId: 'gclient', clientSecret: 'gsecret', refreshToken: 'grefresh' };

const configCases: Array<{ factory: ConnectorFactory<any>; valid: Record<string, unknown>; required: string; misspelt: [string, string] }> = [
  { factory: sendgridConnector, valid: { apiKey: 'SG.k', from: { email: 'a@example.com' }, to: ['b@example.com'], templateId: 'd-0123456789abcdef0123456789abcdef' }, required: 'templateId', misspelt: ['apiKey', 'apikey'] },
  { factory: mailgunConnector, valid: { apiKey: 'key-1', domain: 'mg.example.com', from: 'a@mg.example.com', to: ['b@example.com'] }, required: 'domain', misspelt: ['region', 'regoin'] },
  { factory: graphMailConnector, valid: { ...graphAuth, userId: 'alerts@contoso.com', to: ['x@contoso.com'] }, required: 'tenantId', misspelt: ['clientSecret', 'clientSecrets'] },
  { factory: outlookConnector, valid: { ...graphAuth, userId: 'alerts@contoso.com', to: ['x@contoso.com'] }, required: 'userId', misspelt: ['to', 'toRecipients'] },
  { factory: teamsChatConnector, valid: { ...graphAuth, chatId: '19:abc@thread.v2' }, required: 'chatId', misspelt: ['tokenUrl', 'tokenURL'] },
  { factory: gmailConnector, valid: { ...googleAuth, from: 'a@example.com', to: ['b@example.com'] }, required: 'refreshToken', misspelt: ['from', 'sender'] },
  { factory: googleCalendarConnector, valid: { ...googleAuth, calendarId: 'primary' }, required: 'calendarId', misspelt: ['durationMinutes', 'duration'] },
  { factory: googleChatConnector, valid: { webhookUrl: 'https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t' }, required: 'webhookUrl', misspelt: ['threadPerAlert', 'threaded'] },
  { factory: discordConnector, valid: { webhookUrl: 'https://discord.com/api/webhooks/1/t' }, required: 'webhookUrl', misspelt: ['username', 'userName'] },
  { factory: telegramConnector, valid: { botToken: '123:abc', chatId: -100123 }, required: 'chatId', misspelt: ['botToken', 'token'] },
  { factory: whatsappConnector, valid: { accessToken: 'EAAG', phoneNumberId: '1065', to: '4915123456789', templateName: 'stock_alert', languageCode: 'en_US' }, required: 'languageCode', misspelt: ['templateName', 'template'] },
  { factory: webexConnector, valid: { botToken: 'wx', roomId: 'Y2lz' }, required: 'roomId', misspelt: ['baseUrl', 'baseURL'] },
  { factory: pushoverConnector, valid: { token: 'app', user: 'usr' }, required: 'user', misspelt: ['priorities', 'priority'] },
  { factory: snsConnector, valid: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:stock', region: 'eu-west-1' }, required: 'topicArn', misspelt: ['endpoint', 'endpointUrl'] },
  { factory: jiraConnector, valid: { baseUrl: 'https://x.atlassian.net', email: 'bot@example.com', apiToken: 'tok', projectKey: 'INV' }, required: 'projectKey', misspelt: ['issueType', 'issuetype'] },
];

describe('configuration', () => {
  it('registers every part-A connector once, each with a closed schema and a doc', () => {
    const types = moreAConnectors.map((f) => f.type);
    expect(types).toEqual([
      'sendgrid', 'mailgun', 'graph-mail', 'outlook', 'teams-chat', 'gmail', 'google-calendar', 'google-chat',
      'discord', 'telegram', 'whatsapp', 'webex', 'pushover', 'sns', 'jira',
    ]);
    for (const factory of moreAConnectors) {
      expect(factory.configSchema.additionalProperties, factory.type).toBe(false);
      expect(factory.doc.sends.length, factory.type).toBeGreaterThan(20);
      expect(factory.doc.rateLimits.length, factory.type).toBeGreaterThan(20);
      expect(configErrors(factory, factory.doc.exampleConfig), `${factory.type} example`).toEqual([]);
    }
    expect(configCases.map((c) => c.factory.type).sort()).toEqual([...types].sort());
  });

  for (const { factory, valid, required, misspelt } of configCases) {
    it(`${factory.type}: a valid config passes`, () => {
      expect(configErrors(factory, valid)).toEqual([]);
    });
    it(`${factory.type}: a missing "${required}" is rejected by name`, () => {
      const errors = configErrors(factory, without(valid, required));
      expect(errors.map((e) => e.keyword)).toContain('required');
      expect(blamedFields(errors)).toEqual([required]);
    });
    it(`${factory.type}: a misspelt "${misspelt[1]}" is rejected by name`, () => {
      const [right, wrong] = misspelt;
      const config: Record<string, unknown> = { ...valid, [wrong]: valid[right] ?? 'x' };
      const errors = configErrors(factory, config);
      expect(errors.map((e) => e.keyword)).toContain('additionalProperties');
      expect(blamedFields(errors)).toContain(wrong);
    });
  }

  it('pushover: emergency priority without retry/expire is rejected, naming emergency', () => {
    const errors = configErrors(pushoverConnector, { token: 'app', user: 'usr', priorities: { critical: 2 } });
    expect(blamedFields(errors)).toContain('emergency');
    const tooFast = configErrors(pushoverConnector, { token: 'app', user: 'usr', priorities: { critical: 2 }, emergency: { retrySeconds: 10, expireSeconds: 600 } });
    expect(tooFast.map((e) => e.instancePath)).toContain('/emergency/retrySeconds');
    expect(configErrors(pushoverConnector, { token: 'app', user: 'usr', priorities: { critical: 2 }, emergency: { retrySeconds: 60, expireSeconds: 3600 } })).toEqual([]);
  });

  it('sns: an access key without its secret is rejected', () => {
    const errors = configErrors(snsConnector, { topicArn: 'arn:aws:sns:eu-west-1:123456789012:stock', region: 'eu-west-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' });
    expect(errors.map((e) => e.keyword)).toContain('dependencies');
    expect(JSON.stringify(errors)).toContain('secretAccessKey');
  });

  it('rejects values of the wrong shape (not only missing keys)', () => {
    expect(configErrors(sendgridConnector, { ...configCases[0].valid, templateId: 'welcome' }).map((e) => e.instancePath)).toEqual(['/templateId']);
    expect(configErrors(mailgunConnector, { ...configCases[1].valid, region: 'asia' }).map((e) => e.instancePath)).toEqual(['/region']);
    expect(configErrors(discordConnector, { webhookUrl: 'discord.com/api/webhooks/1/t' }).map((e) => e.instancePath)).toEqual(['/webhookUrl']);
    expect(configErrors(whatsappConnector, { ...configCases[10].valid, to: '+49 151' }).map((e) => e.instancePath)).toEqual(['/to']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('sendgrid', () => {
  const config = () => ({
    apiKey: 'SG.secret',
    from: { email: 'alerts@example.com', name: 'Stockade' },
    to: ['procurement@example.com', 'sales@example.com'],
    templateId: 'd-0123456789abcdef0123456789abcdef',
    baseUrl: vendor.baseUrl,
  });

  it('posts a dynamic-template mail to /v3/mail/send with the Bearer key', async () => {
    vendor.on('POST', '/v3/mail/send', { status: 202, headers: { 'x-message-id': 'msg-1' } });
    const outcome = await send(sendgridConnector.create(config(), depsWith()));
    expect(outcome).toEqual({ kind: 'delivered', receipt: 'msg-1' });
    const [req] = vendor.requests;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe('Bearer SG.secret');
    expect(req.headers['content-type']).toBe('application/json');
    const body = json(req);
    expect(body.template_id).toBe('d-0123456789abcdef0123456789abcdef');
    expect(body.from).toEqual({ email: 'alerts@example.com', name: 'Stockade' });
    expect(body.personalizations).toHaveLength(1);
    expect(body.personalizations[0].to).toEqual([{ email: 'procurement@example.com' }, { email: 'sales@example.com' }]);
    const data = body.personalizations[0].dynamic_template_data;
    expect(data).toMatchObject({ title: 'Out of stock: SKU-1', sku: 'SKU-1', severity: 'critical', alertType: 'zero_stock', location: 'WH-1' });
    expect(data.levels).toEqual({ onHand: 0, reserved: 0, safetyStock: 2, available: -2 });
    expect(body.custom_args).toEqual({ deliveryId: 'SKU-1/zero_stock/WH-1/3:ops-mail' });
    expect(body).not.toHaveProperty('content');
  });

  it('429 → retry at X-RateLimit-Reset', async () => {
    vendor.on('POST', '/v3/mail/send', { status: 429, headers: { 'x-ratelimit-reset': String(NOW_S + 30) }, body: { errors: [{ message: 'too many requests' }] } });
    const outcome = await send(sendgridConnector.create(config(), depsWith()));
    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 30_000 });
  });

  it('400 (bad template) → permanent', async () => {
    vendor.on('POST', '/v3/mail/send', { status: 400, body: { errors: [{ message: 'The template_id must be a valid GUID', field: 'template_id' }] } });
    const outcome = await send(sendgridConnector.create(config(), depsWith()));
    expect(outcome.kind).toBe('permanent');
    expect(outcome.kind === 'permanent' && outcome.reason).toContain('SendGrid answered 400');
  });

  it('vendor not reached → retry', async () => {
    const baseUrl = vendor.baseUrl;
    await vendor.close();
    vendor = await VendorServer.start();
    const outcome = await send(sendgridConnector.create({ ...config(), baseUrl }, depsWith()));
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.reason).toContain('SendGrid not reached');
  });

  it('an aborted attempt (timeout, shutdown) → retry, nothing sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('attempt timed out'));
    const outcome = await sendgridConnector.create(config(), depsWith()).send(notification(), { signal: controller.signal });
    expect(outcome.kind).toBe('retry');
    expect(vendor.requests).toHaveLength(0);
  });

  it('defaults to api.sendgrid.com', async () => {
    const scripted = scriptedFetch(() => new Response(null, { status: 202 }));
    const { baseUrl: _unused, ...rest } = config();
    await send(sendgridConnector.create(rest, { fetch: scripted.fetch, now: () => NOW_MS }));
    expect(scripted.urls).toEqual(['https://api.sendgrid.com/v3/mail/send']);
  });
});

describe('mailgun', () => {
  const config = () => ({ apiKey: 'key-abc', domain: 'mg.example.com', from: 'Stockade <alerts@mg.example.com>', to: ['a@example.com', 'b@example.com'], baseUrl: vendor.baseUrl });

  it('posts form fields to /v3/{domain}/messages with Basic api:key', async () => {
    vendor.on('POST', '/v3/mg.example.com/messages', { status: 200, body: { id: '<20261123.1@mg.example.com>', message: 'Queued. Thank you.' } });
    const outcome = await send(mailgunConnector.create(config(), depsWith()));
    expect(outcome).toEqual({ kind: 'delivered', receipt: '<20261123.1@mg.example.com>' });
    const [req] = vendor.requests;
    expect(req.headers.authorization).toBe(basic('api', 'key-abc'));
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const fields = form(req);
    expect(fields.get('from')).toBe('Stockade <alerts@mg.example.com>');
    expect(fields.getAll('to')).toEqual(['a@example.com', 'b@example.com']);
    expect(fields.get('subject')).toBe('Out of stock: SKU-1');
    expect(fields.get('text')).toContain('SKU-1 has run out at WH-1.');
    expect(fields.get('text')).toContain('Suggested action: Reorder from the supplier now.');
    expect(fields.get('h:X-Stockade-Delivery-Id')).toBe('SKU-1/zero_stock/WH-1/3:ops-mail');
  });

  it('picks the EU or US base URL by region', async () => {
    const { baseUrl: _unused, ...rest } = config();
    const eu = scriptedFetch(() => Response.json({ id: 'x' }));
    await send(mailgunConnector.create({ ...rest, region: 'eu' }, { fetch: eu.fetch, now: () => NOW_MS }));
    const us = scriptedFetch(() => Response.json({ id: 'y' }));
    await send(mailgunConnector.create(rest, { fetch: us.fetch, now: () => NOW_MS }));
    expect(eu.urls).toEqual(['https://api.eu.mailgun.net/v3/mg.example.com/messages']);
    expect(us.urls).toEqual(['https://api.mailgun.net/v3/mg.example.com/messages']);
  });

  it('429 → retry at Retry-After; 401 → permanent', async () => {
    vendor.on('POST', '/v3/mg.example.com/messages', { status: 429, headers: { 'retry-after': '7' }, body: 'Too Many Requests' }, { status: 401, body: 'Forbidden' });
    const connector = mailgunConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 7000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

// ---------------------------------------------------------------------------------------------
// The shared OAuth2 token source, on its own.

describe('oauth2 token source', () => {
  const source = (clock = new Clock(), tokenUrl = `${vendor.baseUrl}/token`) =>
    new OAuth2TokenSource({ tokenUrl, grant: { kind: 'client_credentials', clientId: 'c', clientSecret: 's' }, vendor: 'Test IdP', fetch: globalThis.fetch, now: clock.now });
  const signal = () => new AbortController().signal;

  it('without expires_in, caches for the default lifetime minus the skew', async () => {
    vendor.on('POST', '/token', { status: 200, body: { access_token: 'a1' } }, { status: 200, body: { access_token: 'a2' } });
    const clock = new Clock();
    const tokens = source(clock);
    expect(await tokens.accessToken(signal())).toBe('a1');
    clock.ms += TOKEN_LIFETIME_MS_DEFAULT - 60_001;
    expect(await tokens.accessToken(signal())).toBe('a1');
    clock.ms += 2;
    expect(await tokens.accessToken(signal())).toBe('a2');
    // No scope configured: none sent.
    expect(form(vendor.requests[0]).has('scope')).toBe(false);
  });

  it('invalidate() forgets only the token it names', async () => {
    vendor.on('POST', '/token', { status: 200, body: { access_token: 'a1', expires_in: 3600 } }, { status: 200, body: { access_token: 'a2', expires_in: 3600 } });
    const tokens = source();
    await tokens.accessToken(signal());
    tokens.invalidate('some-older-token');
    expect(await tokens.accessToken(signal())).toBe('a1');
    tokens.invalidate('a1');
    expect(await tokens.accessToken(signal())).toBe('a2');
  });

  it('an answer without access_token, or a 502 page, is a retry; unreachable is a retry', async () => {
    vendor.on('POST', '/token', { status: 200, body: { token_type: 'Bearer' } }, { status: 502, body: '<html>Bad gateway</html>' });
    const tokens = source();
    await expect(tokens.accessToken(signal())).rejects.toMatchObject({ outcome: { kind: 'retry' } });
    await expect(tokens.accessToken(signal())).rejects.toMatchObject({ outcome: { kind: 'retry' } });
    const tokenUrl = `${vendor.baseUrl}/token`;
    await vendor.close();
    vendor = await VendorServer.start();
    await expect(source(new Clock(), tokenUrl).accessToken(signal())).rejects.toMatchObject({ outcome: { kind: 'retry' } });
  });

  it('400 with an OAuth2 error other than the permanent ones → permanent by status; 429 → retry', async () => {
    vendor.on('POST', '/token', { status: 400, body: { error: 'unsupported_response_type' } }, { status: 429, headers: { 'retry-after': '30' }, body: { error: 'temporarily_unavailable' } });
    const tokens = source();
    await expect(tokens.accessToken(signal())).rejects.toMatchObject({ outcome: { kind: 'permanent' } });
    await expect(tokens.accessToken(signal())).rejects.toMatchObject({ outcome: { kind: 'retry', retryAfterMs: 30_000 } });
  });
});

// ---------------------------------------------------------------------------------------------
// Microsoft Graph and its OAuth2 client-credentials flow.

const TOKEN_PATH = '/tenant-1/oauth2/v2.0/token';
const token = (accessToken: string, expiresIn = 3600) => ({ status: 200, body: { token_type: 'Bearer', expires_in: expiresIn, access_token: accessToken } });

describe('graph-mail and outlook (OAuth2 client credentials)', () => {
  const config = () => ({ ...graphAuth, userId: 'alerts@contoso.com', to: ['logistics@contoso.com'], baseUrl: vendor.baseUrl, tokenUrl: `${vendor.baseUrl}${TOKEN_PATH}` });
  const MAIL_PATH = '/v1.0/users/alerts%40contoso.com/sendMail';

  it('fetches a token by client credentials and posts sendMail with it', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1')).on('POST', MAIL_PATH, { status: 202 });
    expect(await send(graphMailConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered' });
    const [tokenReq, mailReq] = vendor.requests;
    expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(form(tokenReq))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: 'secret-1',
      scope: 'https://graph.microsoft.com/.default',
    });
    expect(mailReq.method).toBe('POST');
    expect(mailReq.path).toBe(MAIL_PATH);
    expect(mailReq.headers.authorization).toBe('Bearer t1');
    const body = json(mailReq);
    expect(body.saveToSentItems).toBe(false);
    expect(body.message.subject).toBe('Out of stock: SKU-1');
    expect(body.message.body.contentType).toBe('Text');
    expect(body.message.body.content).toContain('SKU-1 has run out at WH-1.');
    expect(body.message.toRecipients).toEqual([{ emailAddress: { address: 'logistics@contoso.com' } }]);
    expect(body.message.internetMessageHeaders).toEqual([{ name: 'X-Stockade-Delivery-Id', value: 'SKU-1/zero_stock/WH-1/3:ops-mail' }]);
  });

  it('outlook is the same Graph mail under its own type', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1')).on('POST', MAIL_PATH, { status: 202 });
    const connector = outlookConnector.create(config(), depsWith());
    expect(connector.type).toBe('outlook');
    expect(await send(connector)).toEqual({ kind: 'delivered' });
    expect(vendor.to(MAIL_PATH)).toHaveLength(1);
  });

  it('caches the token until shortly before expiry, then fetches a new one', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1', 3600), token('t2', 3600)).always('POST', MAIL_PATH, { status: 202 });
    const clock = new Clock();
    const connector = graphMailConnector.create(config(), depsWith(clock));
    await send(connector);
    clock.ms += 3_000_000; // 50 minutes: still inside the hour minus the minute of skew
    await send(connector);
    expect(vendor.to(TOKEN_PATH)).toHaveLength(1);
    clock.ms += 600_000; // 60 minutes: inside the last minute, renewed
    await send(connector);
    expect(vendor.to(TOKEN_PATH)).toHaveLength(2);
    expect(vendor.to(MAIL_PATH).map((r) => r.headers.authorization)).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t2']);
  });

  it('concurrent sends share one token request', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1')).always('POST', MAIL_PATH, { status: 202 });
    const connector = graphMailConnector.create(config(), depsWith());
    const outcomes = await Promise.all([send(connector), send(connector), send(connector)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(vendor.to(TOKEN_PATH)).toHaveLength(1);
  });

  it('401 → a new token, sent once more', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1'), token('t2')).on('POST', MAIL_PATH, { status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } }, { status: 202 });
    expect(await send(graphMailConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered' });
    expect(vendor.to(MAIL_PATH).map((r) => r.headers.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('401 twice → permanent, without a third attempt', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1'), token('t2')).always('POST', MAIL_PATH, { status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } });
    const outcome = await send(graphMailConnector.create(config(), depsWith()));
    expect(outcome.kind).toBe('permanent');
    expect(vendor.to(MAIL_PATH)).toHaveLength(2);
    expect(vendor.to(TOKEN_PATH)).toHaveLength(2);
  });

  it('token endpoint invalid_client → permanent, nothing sent; 503 → retry', async () => {
    vendor.on('POST', TOKEN_PATH, { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } }, { status: 503, headers: { 'retry-after': '5' }, body: 'busy' });
    const connector = graphMailConnector.create(config(), depsWith());
    const refused = await send(connector);
    expect(refused.kind).toBe('permanent');
    expect(refused.kind === 'permanent' && refused.reason).toContain('invalid_client');
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 5000 });
    expect(vendor.to(MAIL_PATH)).toHaveLength(0);
  });

  it('429 → retry at Retry-After; 404 (no such mailbox) → permanent', async () => {
    vendor
      .on('POST', TOKEN_PATH, token('t1'))
      .on('POST', MAIL_PATH, { status: 429, headers: { 'retry-after': '12' }, body: { error: { code: 'TooManyRequests' } } }, { status: 404, body: { error: { code: 'ErrorInvalidUser' } } });
    const connector = graphMailConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 12_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });

  it('an aborted attempt while fetching the token → retry, nothing sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('attempt timed out'));
    const outcome = await graphMailConnector.create(config(), depsWith()).send(notification(), { signal: controller.signal });
    expect(outcome.kind).toBe('retry');
    expect(vendor.requests).toHaveLength(0);
  });

  it('defaults to login.microsoftonline.com/{tenant} and graph.microsoft.com', async () => {
    const scripted = scriptedFetch(() => Response.json({ access_token: 't', expires_in: 3600 }), () => new Response(null, { status: 202 }));
    const { baseUrl: _b, tokenUrl: _t, ...rest } = config();
    await send(graphMailConnector.create(rest, { fetch: scripted.fetch, now: () => NOW_MS }));
    expect(scripted.urls).toEqual([
      'https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token',
      'https://graph.microsoft.com/v1.0/users/alerts%40contoso.com/sendMail',
    ]);
  });
});

describe('teams-chat (Graph chat message)', () => {
  const CHAT_PATH = '/v1.0/chats/19%3Aabc%40thread.v2/messages';
  const config = (extra: Record<string, unknown> = {}) => ({ ...graphAuth, chatId: '19:abc@thread.v2', baseUrl: vendor.baseUrl, tokenUrl: `${vendor.baseUrl}${TOKEN_PATH}`, ...extra });

  it('posts an HTML chatMessage with the title escaped', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1')).on('POST', CHAT_PATH, { status: 201, body: { id: '1616990032035' } });
    const n = notification({ title: 'Out of stock: <SKU-1> & more' });
    expect(await send(teamsChatConnector.create(config(), depsWith()), n)).toEqual({ kind: 'delivered', receipt: '1616990032035' });
    const req = vendor.to(CHAT_PATH)[0];
    expect(req.headers.authorization).toBe('Bearer t1');
    const body = json(req);
    expect(body.body.contentType).toBe('html');
    expect(body.body.content).toContain('<b>Out of stock: &#60;SKU-1&#62; &#38; more</b>');
    expect(body.body.content).toContain('SKU-1 has run out at WH-1.<br>Open orders are held.');
    expect(body.body.content).not.toContain('<SKU-1>');
  });

  it('with a refresh token: the refresh-token grant, and the rotated refresh token is used next', async () => {
    vendor
      .on('POST', TOKEN_PATH, { status: 200, body: { access_token: 'd1', expires_in: 3600, refresh_token: 'r2' } }, token('d2'))
      .always('POST', CHAT_PATH, { status: 201, body: { id: 'm' } });
    const clock = new Clock();
    const connector = teamsChatConnector.create(config({ refreshToken: 'r1' }), depsWith(clock));
    await send(connector);
    clock.ms += 3_600_000;
    await send(connector);
    const [first, second] = vendor.to(TOKEN_PATH).map(form);
    expect(first.get('grant_type')).toBe('refresh_token');
    expect(first.get('refresh_token')).toBe('r1');
    expect(first.get('scope')).toBe('https://graph.microsoft.com/.default offline_access');
    expect(second.get('refresh_token')).toBe('r2');
    expect(vendor.to(CHAT_PATH).map((r) => r.headers.authorization)).toEqual(['Bearer d1', 'Bearer d2']);
  });

  it('403 (application token not allowed to post) → permanent', async () => {
    vendor.on('POST', TOKEN_PATH, token('t1')).on('POST', CHAT_PATH, { status: 403, body: { error: { code: 'Forbidden', message: 'Missing role permissions' } } });
    expect((await send(teamsChatConnector.create(config(), depsWith()))).kind).toBe('permanent');
  });
});

// ---------------------------------------------------------------------------------------------
// Google: Gmail and Calendar with the refresh-token grant; Chat through a webhook.

describe('gmail', () => {
  const SEND_PATH = '/gmail/v1/users/me/messages/send';
  const config = () => ({ ...googleAuth, from: 'alerts@example.com', to: ['sales@example.com', 'ops@example.com'], baseUrl: vendor.baseUrl, tokenUrl: `${vendor.baseUrl}/token` });

  it('refresh-token grant, then messages.send with a base64url RFC 2822 raw', async () => {
    vendor.on('POST', '/token', token('g1')).on('POST', SEND_PATH, { status: 200, body: { id: '18c1', threadId: '18c1', labelIds: ['SENT'] } });
    const n = notification({ title: 'Rupture de stock: SKU-1 – café' });
    expect(await send(gmailConnector.create(config(), depsWith()), n)).toEqual({ kind: 'delivered', receipt: '18c1' });
    const tokenReq = vendor.to('/token')[0];
    expect(Object.fromEntries(form(tokenReq))).toEqual({ grant_type: 'refresh_token', client_id: 'gclient', client_secret: 'gsecret', refresh_token: 'grefresh' });
    const req = vendor.to(SEND_PATH)[0];
    expect(req.headers.authorization).toBe('Bearer g1');
    const body = json(req);
    expect(Object.keys(body)).toEqual(['raw']);
    expect(body.raw).toMatch(/^[A-Za-z0-9_-]+$/);
    const mime = Buffer.from(body.raw, 'base64url').toString('utf8');
    const [head, payload] = mime.split('\r\n\r\n');
    const headers = head.split('\r\n');
    expect(headers).toContain('From: alerts@example.com');
    expect(headers).toContain('To: sales@example.com, ops@example.com');
    expect(headers).toContain('Content-Type: text/plain; charset="UTF-8"');
    expect(headers).toContain('X-Stockade-Delivery-Id: SKU-1/zero_stock/WH-1/3:ops-mail');
    const subject = headers.find((h) => h.startsWith('Subject: '))!;
    const encoded = /^Subject: =\?UTF-8\?B\?(.+)\?=$/.exec(subject)![1];
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe('Rupture de stock: SKU-1 – café');
    expect(Buffer.from(payload.replace(/\r\n/g, ''), 'base64').toString('utf8')).toContain('SKU-1 has run out at WH-1.');
  });

  it('403 rateLimitExceeded and 429 → retry; 403 insufficientPermissions → permanent', async () => {
    const googleError = (code: number, reason: string) => ({ error: { code, message: reason, errors: [{ domain: 'usageLimits', reason }] } });
    vendor
      .on('POST', '/token', token('g1'))
      .on(
        'POST',
        SEND_PATH,
        { status: 403, body: googleError(403, 'userRateLimitExceeded') },
        { status: 429, headers: { 'retry-after': '9' }, body: googleError(429, 'rateLimitExceeded') },
        { status: 403, body: googleError(403, 'insufficientPermissions') },
      );
    const connector = gmailConnector.create(config(), depsWith());
    expect((await send(connector)).kind).toBe('retry');
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 9000 });
    expect((await send(connector)).kind).toBe('permanent');
  });

  it('401 → a fresh token once; token invalid_grant (refresh token revoked) → permanent', async () => {
    vendor
      .on('POST', '/token', token('g1'), token('g2'), { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } })
      .on('POST', SEND_PATH, { status: 401, body: {} }, { status: 200, body: { id: 'm2' } }, { status: 401, body: {} });
    const connector = gmailConnector.create(config(), depsWith());
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'm2' });
    expect(vendor.to(SEND_PATH).map((r) => r.headers.authorization)).toEqual(['Bearer g1', 'Bearer g2']);
    const revoked = await send(connector);
    expect(revoked.kind).toBe('permanent');
    expect(revoked.kind === 'permanent' && revoked.reason).toContain('invalid_grant');
  });

  it('defaults to oauth2.googleapis.com and gmail.googleapis.com', async () => {
    const scripted = scriptedFetch(() => Response.json({ access_token: 't', expires_in: 3599 }), () => Response.json({ id: 'x' }));
    const { baseUrl: _b, tokenUrl: _t, ...rest } = config();
    await send(gmailConnector.create(rest, { fetch: scripted.fetch, now: () => NOW_MS }));
    expect(scripted.urls).toEqual(['https://oauth2.googleapis.com/token', 'https://gmail.googleapis.com/gmail/v1/users/me/messages/send']);
  });
});

describe('google-calendar', () => {
  const EVENTS_PATH = '/calendar/v3/calendars/team%40group.calendar.google.com/events';
  const config = () => ({ ...googleAuth, calendarId: 'team@group.calendar.google.com', durationMinutes: 45, attendees: ['buyer@example.com'], baseUrl: vendor.baseUrl, tokenUrl: `${vendor.baseUrl}/token` });

  it('inserts an event starting now, id derived from the delivery id', async () => {
    const n = notification();
    const id = calendarEventId(n.deliveryId);
    vendor.on('POST', '/token', token('g1')).on('POST', EVENTS_PATH, { status: 200, body: { id, status: 'confirmed' } });
    expect(await send(googleCalendarConnector.create(config(), depsWith()), n)).toEqual({ kind: 'delivered', receipt: id });
    const req = vendor.to(EVENTS_PATH)[0];
    expect(req.headers.authorization).toBe('Bearer g1');
    const body = json(req);
    expect(body.id).toMatch(/^[a-v0-9]{5,1024}$/);
    expect(body.id).toBe(id);
    expect(body.summary).toBe('Out of stock: SKU-1');
    expect(body.description).toContain('Suggested action: Reorder from the supplier now.');
    expect(body.start).toEqual({ dateTime: '2026-11-23T12:00:00.000Z' });
    expect(body.end).toEqual({ dateTime: '2026-11-23T12:45:00.000Z' });
    expect(body.attendees).toEqual([{ email: 'buyer@example.com' }]);
  });

  it('409 (the event id exists: an earlier attempt got through) → delivered', async () => {
    vendor.on('POST', '/token', token('g1')).on('POST', EVENTS_PATH, { status: 409, body: { error: { code: 409, message: 'The requested identifier already exists.' } } });
    const n = notification();
    expect(await send(googleCalendarConnector.create(config(), depsWith()), n)).toEqual({ kind: 'delivered', receipt: calendarEventId(n.deliveryId) });
  });

  it('403 rateLimitExceeded → retry; 404 (no such calendar) → permanent', async () => {
    vendor
      .on('POST', '/token', token('g1'))
      .on('POST', EVENTS_PATH, { status: 403, body: { error: { code: 403, errors: [{ reason: 'rateLimitExceeded' }] } } }, { status: 404, body: { error: { code: 404, message: 'Not Found' } } });
    const connector = googleCalendarConnector.create(config(), depsWith());
    expect((await send(connector)).kind).toBe('retry');
    expect((await send(connector)).kind).toBe('permanent');
  });
});

describe('google-chat', () => {
  const SPACE_PATH = '/v1/spaces/AAAA1234/messages';
  const config = (extra: Record<string, unknown> = {}) => ({ webhookUrl: `${vendor.baseUrl}${SPACE_PATH}?key=k1&token=t1`, ...extra });

  it('posts a cardsV2 message to the webhook, threaded per alert, requestId = delivery id', async () => {
    vendor.on('POST', SPACE_PATH, { status: 200, body: { name: 'spaces/AAAA1234/messages/m1' } });
    expect(await send(googleChatConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: 'spaces/AAAA1234/messages/m1' });
    const [req] = vendor.requests;
    expect(req.query.get('key')).toBe('k1');
    expect(req.query.get('token')).toBe('t1');
    expect(req.query.get('requestId')).toBe('SKU-1/zero_stock/WH-1/3:ops-mail');
    expect(req.query.get('threadKey')).toBe('SKU-1/zero_stock/WH-1/3');
    expect(req.query.get('messageReplyOption')).toBe('REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
    const body = json(req);
    expect(body.cardsV2).toHaveLength(1);
    const card = body.cardsV2[0];
    expect(card.cardId).toBe('stockade-alert');
    expect(card.card.header).toEqual({ title: 'Out of stock: SKU-1', subtitle: 'critical · zero_stock · firing' });
    expect(card.card.sections[0].widgets[0].textParagraph.text).toBe('SKU-1 has run out at WH-1.\nOpen orders are held.');
    expect(card.card.sections[1].widgets).toContainEqual({ decoratedText: { topLabel: 'SKU', text: 'SKU-1' } });
  });

  it('without threading: no threadKey', async () => {
    vendor.on('POST', SPACE_PATH, { status: 200, body: { name: 'm' } });
    await send(googleChatConnector.create(config({ threadPerAlert: false }), depsWith()));
    expect(vendor.requests[0].query.has('threadKey')).toBe(false);
  });

  it('429 RESOURCE_EXHAUSTED → retry; 400 → permanent', async () => {
    vendor.on(
      'POST',
      SPACE_PATH,
      { status: 429, headers: { 'retry-after': '2' }, body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED' } } },
      { status: 400, body: { error: { code: 400, status: 'INVALID_ARGUMENT' } } },
    );
    const connector = googleChatConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
    expect((await send(connector)).kind).toBe('permanent');
  });
});

// ---------------------------------------------------------------------------------------------

describe('discord', () => {
  const HOOK_PATH = '/api/webhooks/123/tok';
  const config = () => ({ webhookUrl: `${vendor.baseUrl}${HOOK_PATH}`, username: 'Stockade' });

  it('executes the webhook with wait=true and an embed, mentions disabled', async () => {
    vendor.on('POST', HOOK_PATH, { status: 200, body: { id: '1100', channel_id: '9' } });
    expect(await send(discordConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: '1100' });
    const [req] = vendor.requests;
    expect(req.query.get('wait')).toBe('true');
    expect(req.headers['content-type']).toBe('application/json');
    const body = json(req);
    expect(body.username).toBe('Stockade');
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.embeds).toHaveLength(1);
    const [embed] = body.embeds;
    expect(embed.title).toBe('Out of stock: SKU-1');
    expect(embed.description).toBe('SKU-1 has run out at WH-1.\nOpen orders are held.');
    expect(embed.color).toBe(0xe74c3c);
    expect(embed.timestamp).toBe('2026-11-23T11:59:00.000Z');
    expect(embed.fields).toContainEqual({ name: 'SKU', value: 'SKU-1', inline: true });
  });

  it('a recovery notice is green', async () => {
    vendor.on('POST', HOOK_PATH, { status: 204 });
    const n = notification({ kind: 'recovery' }, { status: 'resolved', resolvedAt: '2026-11-23T12:30:00.000Z' });
    expect(await send(discordConnector.create(config(), depsWith()), n)).toEqual({ kind: 'delivered' });
    expect(json(vendor.requests[0]).embeds[0].color).toBe(0x2ecc71);
  });

  it('429 → retry after the body\'s retry_after seconds; 404 unknown webhook → permanent', async () => {
    vendor.on(
      'POST',
      HOOK_PATH,
      { status: 429, headers: { 'retry-after': '9' }, body: { message: 'You are being rate limited.', retry_after: 1.5, global: false } },
      { status: 404, body: { message: 'Unknown Webhook', code: 10015 } },
    );
    const connector = discordConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 1500 });
    expect((await send(connector)).kind).toBe('permanent');
  });
});

describe('telegram', () => {
  const config = () => ({ botToken: '123456:ABC-def', chatId: -1001234567890, baseUrl: vendor.baseUrl });
  const PATH = '/bot123456:ABC-def/sendMessage';

  it('posts sendMessage to /bot{token}/sendMessage', async () => {
    vendor.on('POST', PATH, { status: 200, body: { ok: true, result: { message_id: 42, chat: { id: -1001234567890 } } } });
    expect(await send(telegramConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: '42' });
    const body = json(vendor.requests[0]);
    expect(body.chat_id).toBe(-1001234567890);
    expect(body.text.startsWith('Out of stock: SKU-1\n\nSKU-1 has run out at WH-1.')).toBe(true);
    expect(body.disable_notification).toBe(false);
    expect(body.link_preview_options).toEqual({ is_disabled: true });
    expect(body).not.toHaveProperty('parse_mode');
  });

  it('info notices are silent', async () => {
    vendor.on('POST', PATH, { status: 200, body: { ok: true, result: { message_id: 1 } } });
    await send(telegramConnector.create(config(), depsWith()), notification({}, { severity: 'info' }));
    expect(json(vendor.requests[0]).disable_notification).toBe(true);
  });

  it('ok:false error_code 429 → retry after parameters.retry_after', async () => {
    vendor.on('POST', PATH, { status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 5', parameters: { retry_after: 5 } } });
    expect(await send(telegramConnector.create(config(), depsWith()))).toMatchObject({ kind: 'retry', retryAfterMs: 5000 });
  });

  it('bot blocked → permanent; group migrated → permanent naming the new chat id', async () => {
    vendor.on(
      'POST',
      PATH,
      { status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was kicked from the supergroup chat' } },
      { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -1009999 } } },
    );
    const connector = telegramConnector.create(config(), depsWith());
    expect((await send(connector)).kind).toBe('permanent');
    const migrated = await send(connector);
    expect(migrated.kind).toBe('permanent');
    expect(migrated.kind === 'permanent' && migrated.reason).toContain('-1009999');
  });
});

describe('whatsapp', () => {
  const PATH = '/v21.0/106540352242922/messages';
  const config = (extra: Record<string, unknown> = {}) => ({
    accessToken: 'EAAG-token',
    phoneNumberId: '106540352242922',
    to: '4915123456789',
    templateName: 'stock_alert',
    languageCode: 'en_US',
    baseUrl: vendor.baseUrl,
    ...extra,
  });

  it('sends a template message with language and body parameters', async () => {
    vendor.on('POST', PATH, { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: '4915123456789', wa_id: '4915123456789' }], messages: [{ id: 'wamid.HBgM' }] } });
    expect(await send(whatsappConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: 'wamid.HBgM' });
    const [req] = vendor.requests;
    expect(req.headers.authorization).toBe('Bearer EAAG-token');
    expect(json(req)).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '4915123456789',
      type: 'template',
      template: {
        name: 'stock_alert',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'SKU-1' },
              { type: 'text', text: '-2' },
              { type: 'text', text: 'Reorder from the supplier now.' },
            ],
          },
        ],
      },
    });
  });

  it('template parameters are one line (Meta rejects newlines)', async () => {
    vendor.on('POST', PATH, { status: 200, body: { messages: [{ id: 'w' }] } });
    await send(whatsappConnector.create(config({ bodyParameters: ['text'] }), depsWith()));
    expect(json(vendor.requests[0]).template.components[0].parameters).toEqual([{ type: 'text', text: 'SKU-1 has run out at WH-1. Open orders are held.' }]);
  });

  it('pair rate limit (131056, HTTP 400) → retry; unknown template (132001) → permanent', async () => {
    vendor.on(
      'POST',
      PATH,
      { status: 400, body: { error: { message: '(#131056) (Business Account, Consumer Account) pair rate limit hit', type: 'OAuthException', code: 131056, fbtrace_id: 'A' } } },
      { status: 404, body: { error: { message: '(#132001) Template name does not exist in the translation', type: 'OAuthException', code: 132001 } } },
    );
    const connector = whatsappConnector.create(config(), depsWith());
    expect((await send(connector)).kind).toBe('retry');
    const missing = await send(connector);
    expect(missing.kind).toBe('permanent');
    expect(missing.kind === 'permanent' && missing.reason).toContain('132001');
  });

  it('throughput limit (130429, HTTP 429) → retry at Retry-After', async () => {
    vendor.on('POST', PATH, { status: 429, headers: { 'retry-after': '4' }, body: { error: { message: 'Rate limit hit', code: 130429 } } });
    expect(await send(whatsappConnector.create(config(), depsWith()))).toMatchObject({ kind: 'retry', retryAfterMs: 4000 });
  });
});

describe('webex', () => {
  const config = () => ({ botToken: 'wx-bot', roomId: 'Y2lzY29', baseUrl: vendor.baseUrl });

  it('posts markdown to /v1/messages with the bot token', async () => {
    vendor.on('POST', '/v1/messages', { status: 200, body: { id: 'Y2lzY29zcGFyazovL3VzL01FU1NBR0U', roomId: 'Y2lzY29' } });
    expect(await send(webexConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: 'Y2lzY29zcGFyazovL3VzL01FU1NBR0U' });
    const [req] = vendor.requests;
    expect(req.headers.authorization).toBe('Bearer wx-bot');
    const body = json(req);
    expect(body.roomId).toBe('Y2lzY29');
    expect(body.markdown.startsWith('**Out of stock: SKU-1**\n\nSKU-1 has run out at WH-1.')).toBe(true);
    // zero_stock would otherwise open an italic run.
    expect(body.markdown).toContain('zero\\_stock');
    expect(body.text).toContain('Out of stock: SKU-1');
  });

  it('429 → retry at Retry-After; 404 (bot not in the room) → permanent', async () => {
    vendor.on('POST', '/v1/messages', { status: 429, headers: { 'retry-after': '3' }, body: { message: 'Too Many Requests' } }, { status: 404, body: { message: 'Could not find a room' } });
    const connector = webexConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
    expect((await send(connector)).kind).toBe('permanent');
  });
});

describe('pushover', () => {
  const PATH = '/1/messages.json';
  const config = (extra: Record<string, unknown> = {}) => ({ token: 'azGDORePK8gMaC0QOYAMyEEuzJnyUi', user: 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG', baseUrl: vendor.baseUrl, ...extra });

  it('posts the form with priority by severity and the raise time', async () => {
    vendor.on('POST', PATH, { status: 200, body: { status: 1, request: '647d2300-702c-4b38-8b2f-d56326ae460b' } });
    expect(await send(pushoverConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: '647d2300-702c-4b38-8b2f-d56326ae460b' });
    const fields = form(vendor.requests[0]);
    expect(vendor.requests[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(fields.get('token')).toBe('azGDORePK8gMaC0QOYAMyEEuzJnyUi');
    expect(fields.get('user')).toBe('uQiRzpo4DXghDmr9QzzfQu27cmVRsG');
    expect(fields.get('title')).toBe('Out of stock: SKU-1');
    expect(fields.get('message')).toContain('SKU-1 has run out at WH-1.');
    expect(fields.get('priority')).toBe('1');
    expect(fields.get('timestamp')).toBe(String(Date.parse('2026-11-23T11:59:00.000Z') / 1000));
    expect(fields.has('retry')).toBe(false);
    expect(fields.has('expire')).toBe(false);
  });

  it('emergency priority 2 carries retry and expire; the receipt is the emergency receipt', async () => {
    vendor.on('POST', PATH, { status: 200, body: { status: 1, request: 'r', receipt: 'rcpt-1' } });
    const connector = pushoverConnector.create(config({ priorities: { critical: 2 }, emergency: { retrySeconds: 60, expireSeconds: 3600 } }), depsWith());
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'rcpt-1' });
    const fields = form(vendor.requests[0]);
    expect([fields.get('priority'), fields.get('retry'), fields.get('expire')]).toEqual(['2', '60', '3600']);
  });

  it('maps info, warning and recovery notices to their priorities', async () => {
    vendor.always('POST', PATH, { status: 200, body: { status: 1, request: 'r' } });
    const connector = pushoverConnector.create(config({ priorities: { warning: 1 } }), depsWith());
    await send(connector, notification({}, { severity: 'info' }));
    await send(connector, notification({}, { severity: 'warning' }));
    await send(connector, notification({ kind: 'recovery' }, { status: 'resolved', resolvedAt: '2026-11-23T12:10:00.000Z' }));
    expect(vendor.requests.map((r) => form(r).get('priority'))).toEqual(['-1', '1', '-1']);
  });

  it('429 (monthly limit) → retry at X-Limit-App-Reset; 400 status 0 → permanent; 500 → retry', async () => {
    vendor.on(
      'POST',
      PATH,
      { status: 429, headers: { 'x-limit-app-limit': '10000', 'x-limit-app-remaining': '0', 'x-limit-app-reset': String(NOW_S + 3600) }, body: { status: 0, errors: ['message limit reached'] } },
      { status: 400, body: { user: 'invalid', errors: ['user identifier is not a valid user, group, or subscribed user key'], status: 0, request: 'x' } },
      { status: 500, body: 'oops' },
    );
    const connector = pushoverConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 900_000 }); // an hour, capped at RETRY_AFTER_MS_MAX
    expect((await send(connector)).kind).toBe('permanent');
    expect((await send(connector)).kind).toBe('retry');
  });
});

// ---------------------------------------------------------------------------------------------

describe('sns (AWS SDK against a local SNS query-protocol server)', () => {
  const publishResponse = (messageId: string) => ({
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>`,
  });
  const errorResponse = (status: number, code: string, type = 'Sender') => ({
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${code} happened</Message></Error><RequestId>req-2</RequestId></ErrorResponse>`,
  });
  const config = (topic = 'sales-stock-notify.fifo') => ({
    topicArn: `arn:aws:sns:eu-west-1:123456789012:${topic}`,
    region: 'eu-west-1',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    endpoint: vendor.baseUrl,
  });

  it('publishes with SigV4 and, on a FIFO topic, MessageGroupId and MessageDeduplicationId', async () => {
    vendor.on('POST', '/', publishResponse('94f20ce6-13c5-43a0-9a9e-ca52d816e90b'));
    const connector = snsConnector.create(config(), depsWith());
    try {
      expect(await send(connector)).toEqual({ kind: 'delivered', receipt: '94f20ce6-13c5-43a0-9a9e-ca52d816e90b' });
    } finally {
      await connector.close?.();
    }
    const [req] = vendor.requests;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/sns\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(req.headers['content-type']).toContain('application/x-www-form-urlencoded');
    const fields = form(req);
    expect(fields.get('Action')).toBe('Publish');
    expect(fields.get('Version')).toBe('2010-03-31');
    expect(fields.get('TopicArn')).toBe('arn:aws:sns:eu-west-1:123456789012:sales-stock-notify.fifo');
    expect(fields.get('Subject')).toBe('Out of stock: SKU-1');
    expect(fields.get('MessageGroupId')).toBe('SKU-1');
    expect(fields.get('MessageDeduplicationId')).toBe('SKU-1/zero_stock/WH-1/3:ops-mail');
    const message = JSON.parse(fields.get('Message')!);
    expect(message).toMatchObject({ kind: 'alert', title: 'Out of stock: SKU-1', deliveryId: 'SKU-1/zero_stock/WH-1/3:ops-mail' });
    expect(message.alerts[0].sku).toBe('SKU-1');
    const attributes: Record<string, string> = {};
    for (let i = 1; fields.has(`MessageAttributes.entry.${i}.Name`); i++) {
      expect(fields.get(`MessageAttributes.entry.${i}.Value.DataType`)).toBe('String');
      attributes[fields.get(`MessageAttributes.entry.${i}.Name`)!] = fields.get(`MessageAttributes.entry.${i}.Value.StringValue`)!;
    }
    expect(attributes).toEqual({ severity: 'critical', alertType: 'zero_stock', sku: 'SKU-1', status: 'firing' });
  });

  it('a standard topic gets no group or deduplication id; a non-ASCII title becomes an ASCII subject', async () => {
    vendor.on('POST', '/', publishResponse('m2'));
    const connector = snsConnector.create(config('sales-stock-notify'), depsWith());
    try {
      await send(connector, notification({ title: 'Rupture – SKU-1\nnow' }));
    } finally {
      await connector.close?.();
    }
    const fields = form(vendor.requests[0]);
    expect(fields.has('MessageGroupId')).toBe(false);
    expect(fields.has('MessageDeduplicationId')).toBe(false);
    expect(fields.get('Subject')).toBe('Rupture ? SKU-1?now');
  });

  it('a delivery id SNS would refuse is hashed into a valid deduplication id', async () => {
    vendor.on('POST', '/', publishResponse('m3'));
    const connector = snsConnector.create(config(), depsWith());
    try {
      await send(connector, notification({ deliveryId: `café ${'x'.repeat(200)}` }));
    } finally {
      await connector.close?.();
    }
    expect(form(vendor.requests[0]).get('MessageDeduplicationId')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('Throttled and InternalError → retry (one request each, SDK retries off); NotFound, AuthorizationError, InvalidParameter → permanent', async () => {
    vendor.on(
      'POST',
      '/',
      errorResponse(429, 'Throttled'),
      errorResponse(500, 'InternalError', 'Receiver'),
      errorResponse(404, 'NotFound'),
      errorResponse(403, 'AuthorizationError'),
      errorResponse(400, 'InvalidParameter'),
    );
    const connector = snsConnector.create(config(), depsWith());
    const outcomes = [];
    try {
      for (let i = 0; i < 5; i++) outcomes.push(await send(connector));
    } finally {
      await connector.close?.();
    }
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'permanent', 'permanent', 'permanent']);
    expect(outcomes[0].kind === 'retry' && outcomes[0].reason).toContain('ThrottledException');
    expect(outcomes[2].kind === 'permanent' && outcomes[2].reason).toContain('NotFound');
    expect(vendor.requests).toHaveLength(5);
  });

  it('a digest too large for SNS keeps its first alerts and counts the rest', () => {
    const many = Array.from({ length: 2000 }, (_, i) => notification({}, { sku: `SKU-${i}`, suggestedAction: 'x'.repeat(200) }).alert);
    const message = snsMessage(config(), notification({ kind: 'digest', alerts: many }));
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(250 * 1024);
    const parsed = JSON.parse(message);
    expect(parsed.alerts.length).toBeGreaterThan(0);
    expect(parsed.alerts.length + parsed.alertsOmitted).toBe(2000);
    expect(parsed.alerts[0].sku).toBe('SKU-0');
    expect(JSON.parse(snsMessage(config(), notification())).alertsOmitted).toBe(0);
  });

  it('an aborted attempt → retry, nothing sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('attempt timed out'));
    const connector = snsConnector.create(config(), depsWith());
    try {
      expect((await connector.send(notification(), { signal: controller.signal })).kind).toBe('retry');
    } finally {
      await connector.close?.();
    }
    expect(vendor.requests).toHaveLength(0);
  });

  it('endpoint not reached → retry', async () => {
    const endpoint = vendor.baseUrl;
    await vendor.close();
    vendor = await VendorServer.start();
    const connector = snsConnector.create({ ...config(), endpoint }, depsWith());
    try {
      expect((await send(connector)).kind).toBe('retry');
    } finally {
      await connector.close?.();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('jira', () => {
  const config = () => ({ baseUrl: vendor.baseUrl, email: 'bot@example.com', apiToken: 'jira-token', projectKey: 'INV', labels: ['inventory'] });

  /** A Jira that remembers issues by label, as the real one does (searched by JQL labels = "…"). */
  function statefulJira(): { issues: Map<string, string> } {
    const issues = new Map<string, string>();
    vendor.always('POST', '/rest/api/3/search/jql', (req) => {
      const label = /labels = "([^"]+)"/.exec(json(req).jql)![1];
      const key = issues.get(label);
      return { status: 200, body: { issues: key === undefined ? [] : [{ id: '10000', key }], isLast: true } };
    });
    vendor.always('POST', '/rest/api/3/issue', (req) => {
      const key = `INV-${issues.size + 1}`;
      issues.set(json(req).fields.labels[0], key);
      return { status: 201, body: { id: String(10_000 + issues.size), key, self: `${vendor.baseUrl}/rest/api/3/issue/${key}` } };
    });
    vendor.always('POST', '/rest/api/3/issue/INV-1/comment', { status: 201, body: { id: '20000' } });
    return { issues };
  }

  it('first notice: searches by the alert label, finds nothing, creates the issue with that label', async () => {
    statefulJira();
    expect(await send(jiraConnector.create(config(), depsWith()))).toEqual({ kind: 'delivered', receipt: 'INV-1' });
    const label = jiraAlertLabel('SKU-1/zero_stock/WH-1/3');
    const [search, create] = vendor.requests;
    for (const req of [search, create]) expect(req.headers.authorization).toBe(basic('bot@example.com', 'jira-token'));
    expect(search.path).toBe('/rest/api/3/search/jql');
    expect(json(search)).toEqual({ jql: `project = "INV" AND labels = "${label}" ORDER BY created DESC`, fields: ['summary', 'status'], maxResults: 1 });
    expect(create.path).toBe('/rest/api/3/issue');
    const { fields } = json(create);
    expect(fields.project).toEqual({ key: 'INV' });
    expect(fields.issuetype).toEqual({ name: 'Task' });
    expect(fields.summary).toBe('Out of stock: SKU-1');
    expect(fields.labels).toEqual([label, 'inventory']);
    expect(fields.description.type).toBe('doc');
    expect(fields.description.version).toBe(1);
    expect(fields.description.content[0]).toEqual({ type: 'paragraph', content: [{ type: 'text', text: 'SKU-1 has run out at WH-1.' }] });
    for (const paragraph of fields.description.content) expect(paragraph.content[0].text.length).toBeGreaterThan(0);
  });

  it('a repeat of the same alert finds the issue and comments on it instead of opening a duplicate', async () => {
    const { issues } = statefulJira();
    const connector = jiraConnector.create(config(), depsWith());
    await send(connector);
    const recovery = notification({ kind: 'recovery', title: 'Back in stock: SKU-1', deliveryId: 'SKU-1/zero_stock/WH-1/3/resolved:ops' }, { status: 'resolved', noticeId: 'SKU-1/zero_stock/WH-1/3/resolved', resolvedAt: '2026-11-23T13:00:00.000Z' });
    expect(await send(connector, recovery)).toEqual({ kind: 'delivered', receipt: 'INV-1' });
    expect(issues.size).toBe(1);
    expect(vendor.to('/rest/api/3/issue')).toHaveLength(1);
    const comments = vendor.to('/rest/api/3/issue/INV-1/comment');
    expect(comments).toHaveLength(1);
    const body = json(comments[0]).body;
    expect(body.type).toBe('doc');
    expect(body.content[0].content[0].text).toBe('Back in stock: SKU-1');
    // Another episode of the same SKU and type is a different alert: a new issue.
    await send(connector, notification({ deliveryId: 'd4' }, { id: 'SKU-1/zero_stock/WH-1/4', noticeId: 'SKU-1/zero_stock/WH-1/4' }));
    expect(issues.size).toBe(2);
  });

  it('labels are distinct per alert id, without spaces, within 255 characters', () => {
    const a = jiraAlertLabel('SKU-1/zero_stock/*/3');
    const b = jiraAlertLabel('SKU-1/zero_stock/_/3');
    expect(a).not.toBe(b);
    const long = jiraAlertLabel(`${'S'.repeat(64)}/lead_time_exhaustion/${'L location '.repeat(30)}/12345`);
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long).not.toMatch(/\s/);
  });

  it('429 on search → retry at Retry-After, nothing created; 400 on create → permanent', async () => {
    vendor
      .on('POST', '/rest/api/3/search/jql', { status: 429, headers: { 'retry-after': '20' }, body: { errorMessages: ['Rate limit exceeded'] } }, { status: 200, body: { issues: [] } })
      .on('POST', '/rest/api/3/issue', { status: 400, body: { errorMessages: [], errors: { issuetype: 'Specify a valid issue type' } } });
    const connector = jiraConnector.create(config(), depsWith());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 20_000 });
    expect(vendor.to('/rest/api/3/issue')).toHaveLength(0);
    const refused = await send(connector);
    expect(refused.kind).toBe('permanent');
    expect(refused.kind === 'permanent' && refused.reason).toContain('Specify a valid issue type');
  });

  it('a comment refused with 404 (issue deleted meanwhile) → permanent', async () => {
    vendor
      .on('POST', '/rest/api/3/search/jql', { status: 200, body: { issues: [{ id: '1', key: 'INV-7' }] } })
      .on('POST', '/rest/api/3/issue/INV-7/comment', { status: 404, body: { errorMessages: ['Issue does not exist or you do not have permission to see it.'] } });
    expect((await send(jiraConnector.create(config(), depsWith()))).kind).toBe('permanent');
  });
});
