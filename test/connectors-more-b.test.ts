// Contract tests for the part-B notifier connectors: each one against a local stand-in for its
// vendor that checks method, path, headers, auth and body against the vendor's documented shape,
// then the vendor's rate-limit answer (retry with the hinted wait), a permanent refusal, the
// token or session flows (fetched, cached, renewed once on 401), and configuration rejection.

import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  type ProducerRecord,
  type RecordMetadata,
} from 'kafkajs';
import type { Connector, ConnectorFactory, DeliveryOutcome } from '../src/notifier/connector.js';
import { RETRY_AFTER_MS_MAX } from '../src/notifier/http-outcome.js';
import { CONNECTORS } from '../src/notifier/connectors/index.js';
import { moreBConnectors } from '../src/notifier/connectors/more-b.js';
import { asanaConnector } from '../src/notifier/connectors/asana.js';
import { basecampConnector } from '../src/notifier/connectors/basecamp.js';
import { freshdeskConnector } from '../src/notifier/connectors/freshdesk.js';
import { hubspotConnector } from '../src/notifier/connectors/hubspot.js';
import { intercomConnector } from '../src/notifier/connectors/intercom.js';
import { createKafkaConnector, kafkaConnector, kafkaOptions, type KafkaProducerLike, outcomeOfKafkaError } from '../src/notifier/connectors/kafka.js';
import { mondayConnector } from '../src/notifier/connectors/monday.js';
import { netsuiteConnector } from '../src/notifier/connectors/netsuite.js';
import { notionConnector } from '../src/notifier/connectors/notion.js';
import { pipedriveConnector } from '../src/notifier/connectors/pipedrive.js';
import { quickbooksConnector, requestIdOf } from '../src/notifier/connectors/quickbooks.js';
import { salesforceConnector } from '../src/notifier/connectors/salesforce.js';
import { sapB1Connector } from '../src/notifier/connectors/sap-b1.js';
import { trelloConnector } from '../src/notifier/connectors/trello.js';
import { zendeskConnector } from '../src/notifier/connectors/zendesk.js';
import { zohoConnector } from '../src/notifier/connectors/zoho.js';
import { configProblems, depsWith, NOW_MS, sampleAlert, sampleNotification, signal, TestClock } from './connectors-b/fixtures.js';
import { expectedSignature, parseOAuthHeader } from './connectors-b/oauth1-verify.js';
import { basicCredentials, jsonOf, VendorServer } from './connectors-b/vendor-server.js';

let vendor: VendorServer;
let clock: TestClock;
const open: Connector[] = [];

beforeEach(async () => {
  vendor = await VendorServer.start();
  clock = new TestClock();
});

afterEach(async () => {
  for (const connector of open.splice(0)) await connector.close?.();
  await vendor.close();
});

function connect<C>(factory: ConnectorFactory<C>, config: C): Connector {
  expect(configProblems(factory as ConnectorFactory<any>, config)).toEqual([]);
  const connector = factory.create(config, depsWith(clock));
  open.push(connector);
  return connector;
}

const send = (connector: Connector, notification = sampleNotification()): Promise<DeliveryOutcome> => connector.send(notification, { signal: signal() });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------

describe('registry and configuration', () => {
  it('registers sixteen connectors under distinct types, all joined into CONNECTORS', () => {
    const types = moreBConnectors.map((f) => f.type);
    expect(types).toEqual([
      'zendesk', 'freshdesk', 'salesforce', 'hubspot', 'zoho-crm', 'pipedrive', 'trello', 'asana',
      'monday', 'basecamp', 'notion', 'intercom', 'sap-b1', 'netsuite', 'quickbooks', 'kafka',
    ]);
    for (const type of types) expect(CONNECTORS.get(type)).toBe(moreBConnectors.find((f) => f.type === type));
  });

  for (const factory of moreBConnectors) {
    describe(factory.type, () => {
      it('documents what it sends and its rate limits, with an example config the schema accepts', () => {
        expect(factory.doc.sends.length).toBeGreaterThan(40);
        expect(factory.doc.rateLimits.length).toBeGreaterThan(40);
        expect(configProblems(factory, factory.doc.exampleConfig)).toEqual([]);
        expect(factory.configSchema.additionalProperties).toBe(false);
      });

      it('rejects each missing required field by name', () => {
        const required = factory.configSchema.required as string[];
        expect(required.length).toBeGreaterThan(0);
        for (const field of required) {
          const config: Record<string, unknown> = { ...factory.doc.exampleConfig };
          delete config[field];
          expect(configProblems(factory, config)).toContain(`(root): must have required property '${field}'`);
        }
      });

      it('rejects a misspelt field by name', () => {
        const [first] = factory.configSchema.required as string[];
        const config: Record<string, unknown> = { ...factory.doc.exampleConfig };
        const misspelt = `${first}s`;
        config[misspelt] = config[first];
        delete config[first];
        const problems = configProblems(factory, config);
        expect(problems).toContain(`(root): unknown key "${misspelt}"`);
        expect(problems).toContain(`(root): must have required property '${first}'`);
      });
    });
  }

  it('rejects values of the wrong shape, naming the field', () => {
    expect(configProblems(zendeskConnector, { baseUrl: 'acme.zendesk.com', email: 'a@b', apiToken: 't' })).toEqual([
      '/baseUrl: must match pattern "^https?://[^\\s/]+"',
    ]);
    expect(configProblems(kafkaConnector, { brokers: [], topic: 'alerts' })).toEqual(['/brokers: must NOT have fewer than 1 items']);
    expect(configProblems(kafkaConnector, { brokers: ['b:9092'], topic: 'alerts', sasl: { mechanism: 'plain', username: 'u', pasword: 'p' } })).toEqual([
      "/sasl: must have required property 'password'",
      '/sasl: unknown key "pasword"',
    ]);
    expect(configProblems(basecampConnector, { ...basecampConnector.doc.exampleConfig, userAgent: 'Stockade' })).toEqual([
      '/userAgent: must match pattern "^.+\\(.+\\)$"',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('zendesk', () => {
  const config = () => ({ baseUrl: vendor.url, email: 'bot@acme.com', apiToken: 'zd-token', groupId: 77, tags: ['Purchasing Team'] });

  it('creates a ticket with token Basic auth, an Idempotency-Key and the alert as a private comment', async () => {
    vendor.reply('POST', '/api/v2/tickets.json', { status: 201, json: { ticket: { id: 4711 } } });
    const outcome = await send(connect(zendeskConnector, config()));
    expect(outcome).toEqual({ kind: 'delivered', receipt: '4711' });
    const [request] = vendor.to('POST', '/api/v2/tickets.json');
    expect(basicCredentials(request)).toEqual(['bot@acme.com/token', 'zd-token']);
    expect(request.headers['idempotency-key']).toBe('SKU-1/zero_stock/WH-1/3:procurement');
    expect(request.headers['content-type']).toBe('application/json');
    const { ticket } = jsonOf(request);
    expect(ticket).toMatchObject({
      subject: 'Out of stock: SKU-1 at WH-1',
      type: 'problem',
      priority: 'urgent',
      group_id: 77,
      external_id: 'SKU-1/zero_stock/WH-1/3',
      tags: ['stockade', 'zero_stock', 'sku_sku-1', 'purchasing_team'],
    });
    expect(ticket.comment.public).toBe(false);
    expect(ticket.comment.body).toContain('Out of stock: SKU-1 – just 0 units left at WH-1.');
    expect(ticket.comment.body).toContain('Suggested action: Reorder from the supplier');
  });

  it('429 → retry after Retry-After; 422 → permanent', async () => {
    vendor.reply('POST', '/api/v2/tickets.json', { status: 429, headers: { 'retry-after': '93' }, json: { error: 'TooManyRequests' } }, { status: 422, json: { error: 'RecordInvalid' } });
    const connector = connect(zendeskConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 93_000 });
    const permanent = await send(connector);
    expect(permanent.kind).toBe('permanent');
    expect(permanent.kind === 'permanent' && permanent.reason).toContain('RecordInvalid');
  });

  it('an unreachable host → retry', async () => {
    const connector = connect(zendeskConnector, { ...config(), baseUrl: `http://127.0.0.1:${await closedPort()}` });
    const outcome = await send(connector);
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.reason).toMatch(/^Zendesk not reached/);
  });
});

describe('freshdesk', () => {
  const config = () => ({ baseUrl: vendor.url, apiKey: 'fd-key', requesterEmail: 'alerts@acme.com', groupId: 9 });

  it('creates an open ticket with the API key as Basic user and an HTML description', async () => {
    vendor.reply('POST', '/api/v2/tickets', { status: 201, json: { id: 31 } });
    expect(await send(connect(freshdeskConnector, config()))).toEqual({ kind: 'delivered', receipt: '31' });
    const [request] = vendor.to('POST', '/api/v2/tickets');
    expect(basicCredentials(request)).toEqual(['fd-key', 'X']);
    const body = jsonOf(request);
    expect(body).toMatchObject({ subject: 'Out of stock: SKU-1 at WH-1', email: 'alerts@acme.com', status: 2, priority: 4, group_id: 9, tags: ['stockade', 'zero_stock'] });
    expect(body.description).toMatch(/^<p>Out of stock: SKU-1 – just 0 units left at WH-1.<\/p><p>SKU: SKU-1 at WH-1<br>/);
  });

  it('escapes HTML in the alert text', async () => {
    vendor.reply('POST', '/api/v2/tickets', { status: 201, json: { id: 32 } });
    await send(connect(freshdeskConnector, config()), sampleNotification({ text: 'a <b>bold</b> & "quoted"' }));
    expect(jsonOf(vendor.requests[0]).description).toContain('<p>a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;</p>');
  });

  it('429 → retry after Retry-After; 400 validation → permanent', async () => {
    vendor.reply('POST', '/api/v2/tickets', { status: 429, headers: { 'retry-after': '12' } }, { status: 400, json: { description: 'Validation failed', errors: [{ field: 'email', code: 'invalid_value' }] } });
    const connector = connect(freshdeskConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 12_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('salesforce', () => {
  const config = (extra: Record<string, unknown> = {}) => ({ loginUrl: vendor.url, clientId: 'ck', clientSecret: 'cs', ownerId: '005000000000001', ...extra });
  const taskPath = '/services/data/v62.0/sobjects/Task';
  let tokensIssued = 0;

  beforeEach(() => {
    tokensIssued = 0;
    vendor.reply('POST', '/services/oauth2/token', () => {
      tokensIssued += 1;
      return { status: 200, json: { access_token: `sf-token-${tokensIssued}`, instance_url: vendor.url, token_type: 'Bearer', issued_at: String(NOW_MS) } };
    });
  });

  it('gets a client-credentials token, then creates a Task on the instance_url it names', async () => {
    vendor.reply('POST', taskPath, { status: 201, json: { id: '00T000000000001', success: true, errors: [] } });
    const connector = connect(salesforceConnector, config({ whatId: '001000000000001' }));
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: '00T000000000001' });
    const [token] = vendor.to('POST', '/services/oauth2/token');
    expect(token.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({ grant_type: 'client_credentials', client_id: 'ck', client_secret: 'cs' });
    const [task] = vendor.to('POST', taskPath);
    expect(task.headers.authorization).toBe('Bearer sf-token-1');
    expect(jsonOf(task)).toEqual({
      Subject: 'Out of stock: SKU-1 at WH-1',
      Description: expect.stringContaining('Alert id: SKU-1/zero_stock/WH-1/3'),
      Priority: 'High',
      Status: 'Not Started',
      ActivityDate: '2026-11-23',
      OwnerId: '005000000000001',
      WhatId: '001000000000001',
    });
  });

  it('uses the refresh-token grant when a refresh token is configured', async () => {
    vendor.reply('POST', taskPath, { status: 201, json: { id: '00T2', success: true } });
    await send(connect(salesforceConnector, config({ refreshToken: 'rt-1', apiVersion: '60.0' })));
    expect(Object.fromEntries(new URLSearchParams(vendor.to('POST', '/services/oauth2/token')[0].body))).toEqual({
      grant_type: 'refresh_token', refresh_token: 'rt-1', client_id: 'ck', client_secret: 'cs',
    });
    expect(vendor.to('POST', '/services/data/v60.0/sobjects/Task')).toHaveLength(1);
  });

  it('caches the token across sends and renews it once on 401 INVALID_SESSION_ID', async () => {
    const expired = { status: 401, json: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] };
    vendor.reply('POST', taskPath, { status: 201, json: { id: 'a' } }, { status: 201, json: { id: 'b' } }, expired, { status: 201, json: { id: 'c' } });
    const connector = connect(salesforceConnector, config());
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'a' });
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'b' });
    expect(tokensIssued).toBe(1);
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'c' });
    expect(tokensIssued).toBe(2);
    expect(vendor.to('POST', taskPath).map((r) => r.headers.authorization)).toEqual(['Bearer sf-token-1', 'Bearer sf-token-1', 'Bearer sf-token-1', 'Bearer sf-token-2']);
  });

  it('concurrent sends share one token request', async () => {
    vendor.reply('POST', taskPath, { status: 201, json: { id: 'x' } });
    const connector = connect(salesforceConnector, config());
    const outcomes = await Promise.all([send(connector), send(connector), send(connector)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(tokensIssued).toBe(1);
  });

  it('a second 401 after a fresh token is the answer: permanent, no third request', async () => {
    vendor.reply('POST', taskPath, { status: 401, json: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] });
    expect(await send(connect(salesforceConnector, config()))).toMatchObject({ kind: 'permanent' });
    expect(vendor.to('POST', taskPath)).toHaveLength(2);
    expect(tokensIssued).toBe(2);
  });

  it('REQUEST_LIMIT_EXCEEDED → retry after the longest hint; REQUIRED_FIELD_MISSING → permanent', async () => {
    vendor.reply(
      'POST',
      taskPath,
      { status: 403, json: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] },
      { status: 400, json: [{ message: 'Required fields are missing: [Subject]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['Subject'] }] },
    );
    const connector = connect(salesforceConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: RETRY_AFTER_MS_MAX });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });

  it('a token endpoint refusing the client → permanent; its 503 → retry; no Task is sent', async () => {
    vendor.reply('POST', '/services/oauth2/token', { status: 400, json: { error: 'invalid_client', error_description: 'invalid client credentials' } }, { status: 503, headers: { 'retry-after': '5' }, body: 'down' });
    const connector = connect(salesforceConnector, config());
    const refused = await send(connector);
    expect(refused.kind).toBe('permanent');
    expect(refused.kind === 'permanent' && refused.reason).toContain('invalid_client');
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 5_000 });
    expect(vendor.to('POST', taskPath)).toHaveLength(0);
  });
});

describe('hubspot', () => {
  const config = () => ({ accessToken: 'pat-na1-x', baseUrl: vendor.url, ownerId: '123' });
  const path = '/crm/v3/objects/tasks';

  it('creates a task with the private-app Bearer token and the documented properties', async () => {
    vendor.reply('POST', path, { status: 201, json: { id: '512', properties: {} } });
    expect(await send(connect(hubspotConnector, config()))).toEqual({ kind: 'delivered', receipt: '512' });
    const [request] = vendor.to('POST', path);
    expect(request.headers.authorization).toBe('Bearer pat-na1-x');
    expect(jsonOf(request)).toEqual({
      properties: {
        hs_timestamp: '2026-11-23T12:00:00.000Z',
        hs_task_subject: 'Out of stock: SKU-1 at WH-1',
        hs_task_body: expect.stringContaining('Available: 0 (on hand 0, reserved 0)'),
        hs_task_status: 'NOT_STARTED',
        hs_task_priority: 'HIGH',
        hs_task_type: 'TODO',
        hubspot_owner_id: '123',
      },
    });
  });

  it('a recovery notice is a low-priority task', async () => {
    vendor.reply('POST', path, { status: 201, json: { id: '513' } });
    const resolved = sampleAlert({ status: 'resolved', noticeId: 'SKU-1/zero_stock/WH-1/3/resolved', resolvedAt: '2026-11-23T12:10:00.000Z' });
    await send(connect(hubspotConnector, config()), sampleNotification({ kind: 'recovery' }, resolved));
    expect(jsonOf(vendor.requests[0]).properties.hs_task_priority).toBe('LOW');
  });

  it('429 burst limit → retry after the rate-limit interval; DAILY → the longest hint; 400 → permanent', async () => {
    vendor.reply(
      'POST',
      path,
      {
        status: 429,
        headers: { 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '0' },
        json: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' },
      },
      { status: 429, json: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', policyName: 'DAILY' } },
      { status: 400, json: { status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid' } },
    );
    const connector = connect(hubspotConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 10_000 });
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: RETRY_AFTER_MS_MAX });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('zoho crm', () => {
  const config = (extra: Record<string, unknown> = {}) => ({ accountsUrl: vendor.url, clientId: '1000.ABC', clientSecret: 'zs', refreshToken: 'zr', ownerId: '4150868000000225013', ...extra });
  const path = '/crm/v6/Tasks';
  let issued = 0;

  beforeEach(() => {
    issued = 0;
    vendor.reply('POST', '/oauth/v2/token', () => {
      issued += 1;
      return { status: 200, json: { access_token: `1000.zoho-${issued}`, api_domain: vendor.url, token_type: 'Bearer', expires_in: 3600 } };
    });
  });

  const created = { status: 201, json: { data: [{ code: 'SUCCESS', details: { id: '4150868000001' }, message: 'record added', status: 'success' }] } };

  it('refreshes with the query-string grant, then creates a Task with the Zoho-oauthtoken header', async () => {
    vendor.reply('POST', path, created);
    expect(await send(connect(zohoConnector, config()))).toEqual({ kind: 'delivered', receipt: '4150868000001' });
    const [token] = vendor.to('POST', '/oauth/v2/token');
    expect(Object.fromEntries(token.query)).toEqual({ refresh_token: 'zr', client_id: '1000.ABC', client_secret: 'zs', grant_type: 'refresh_token' });
    const [task] = vendor.to('POST', path);
    expect(task.headers.authorization).toBe('Zoho-oauthtoken 1000.zoho-1');
    expect(jsonOf(task)).toEqual({
      data: [{ Subject: 'Out of stock: SKU-1 at WH-1', Description: expect.any(String), Due_Date: '2026-11-23', Priority: 'High', Status: 'Not Started', Owner: { id: '4150868000000225013' } }],
    });
  });

  it('reuses the token for its hour, renews it after, and once on 401 INVALID_TOKEN', async () => {
    vendor.reply('POST', path, created, created, created, { status: 401, json: { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' } }, created);
    const connector = connect(zohoConnector, config());
    await send(connector);
    clock.advance(30 * 60_000);
    await send(connector);
    expect(issued).toBe(1);
    clock.advance(30 * 60_000);
    await send(connector);
    expect(issued).toBe(2);
    expect(await send(connector)).toMatchObject({ kind: 'delivered' });
    expect(issued).toBe(3);
    expect(vendor.to('POST', path).map((r) => r.headers.authorization)).toEqual([
      'Zoho-oauthtoken 1000.zoho-1', 'Zoho-oauthtoken 1000.zoho-1', 'Zoho-oauthtoken 1000.zoho-2', 'Zoho-oauthtoken 1000.zoho-2', 'Zoho-oauthtoken 1000.zoho-3',
    ]);
  });

  it('429 → retry with Retry-After; a per-record error in a 202 → permanent', async () => {
    vendor.reply(
      'POST',
      path,
      { status: 429, headers: { 'retry-after': '60' }, json: { code: 'TOO_MANY_REQUESTS', status: 'error' } },
      { status: 202, json: { data: [{ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Subject' }, message: 'required field not found', status: 'error' }] } },
    );
    const connector = connect(zohoConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 60_000 });
    const outcome = await send(connector);
    expect(outcome.kind).toBe('permanent');
    expect(outcome.kind === 'permanent' && outcome.reason).toContain('MANDATORY_NOT_FOUND');
  });

  it("the accounts server's invalid_code inside a 200 → permanent, nothing sent to CRM", async () => {
    vendor.reply('POST', '/oauth/v2/token', { status: 200, json: { error: 'invalid_code' } });
    expect(await send(connect(zohoConnector, config()))).toMatchObject({ kind: 'permanent' });
    expect(vendor.to('POST', path)).toHaveLength(0);
  });

  it('apiBaseUrl overrides the api_domain of the token answer', async () => {
    const other = await VendorServer.start();
    try {
      other.reply('POST', '/crm/v2/Tasks', created);
      expect(await send(connect(zohoConnector, config({ apiBaseUrl: other.url, apiVersion: 'v2' })))).toMatchObject({ kind: 'delivered' });
      expect(other.to('POST', '/crm/v2/Tasks')).toHaveLength(1);
      expect(vendor.to('POST', path)).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe('pipedrive', () => {
  const config = () => ({ baseUrl: vendor.url, apiToken: 'pd-token', ownerId: 42, dealId: 7 });
  const path = '/api/v2/activities';

  it('creates a task activity with api_token in the query', async () => {
    vendor.reply('POST', path, { status: 201, json: { success: true, data: { id: 901 } } });
    expect(await send(connect(pipedriveConnector, config()))).toEqual({ kind: 'delivered', receipt: '901' });
    const [request] = vendor.to('POST', path);
    expect(request.query.get('api_token')).toBe('pd-token');
    expect(jsonOf(request)).toEqual({
      subject: 'Out of stock: SKU-1 at WH-1', type: 'task', due_date: '2026-11-23', note: expect.stringMatching(/^<p>/), done: false, owner_id: 42, deal_id: 7,
    });
  });

  it('429 → retry at x-ratelimit-reset; 401 → permanent; success:false → permanent', async () => {
    vendor.reply(
      'POST',
      path,
      { status: 429, headers: { 'x-ratelimit-limit': '80', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }, json: { success: false, error: 'Rate limit exceeded' } },
      { status: 401, json: { success: false, error: 'unauthorized access', errorCode: 401 } },
      { status: 200, json: { success: false, error: 'Activity type is not valid' } },
    );
    const connector = connect(pipedriveConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 2_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('trello', () => {
  const config = () => ({ apiKey: 'tk', token: 'tt', listId: 'list-1', labelIds: ['l1', 'l2'], baseUrl: vendor.url });

  it('creates a card on the list with idList, key and token', async () => {
    vendor.reply('POST', '/1/cards', { status: 200, json: { id: 'card-9', shortUrl: 'https://trello.com/c/x' } });
    expect(await send(connect(trelloConnector, config()))).toEqual({ kind: 'delivered', receipt: 'card-9' });
    const [request] = vendor.to('POST', '/1/cards');
    expect(Object.fromEntries(request.query)).toEqual({ idList: 'list-1', key: 'tk', token: 'tt' });
    expect(jsonOf(request)).toEqual({ name: 'Out of stock: SKU-1 at WH-1', desc: expect.stringContaining('SKU: SKU-1 at WH-1'), pos: 'top', idLabels: 'l1,l2' });
  });

  it('429 without Retry-After → retry after the 10 s window; 401 invalid token → permanent', async () => {
    vendor.reply('POST', '/1/cards', { status: 429, json: { error: 'API_TOKEN_LIMIT_EXCEEDED', message: 'Rate limit exceeded' } }, { status: 401, body: 'invalid token' });
    const connector = connect(trelloConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 10_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('asana', () => {
  it('an attempt whose signal is already aborted → retry, nothing reaches the vendor', async () => {
    const controller = new AbortController();
    controller.abort(new Error('attempt timed out'));
    const connector = connect(asanaConnector, { accessToken: 'asana-pat', projectId: '1204', baseUrl: vendor.url });
    const outcome = await connector.send(sampleNotification(), { signal: controller.signal });
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/^Asana not reached/) });
    expect(vendor.requests).toHaveLength(0);
  });

  const config = () => ({ accessToken: 'asana-pat', projectId: '1204', assignee: 'buyer@acme.com', followers: ['999'], baseUrl: vendor.url });

  it('creates a task in the project with data.projects and a Bearer token', async () => {
    vendor.reply('POST', '/api/1.0/tasks', { status: 201, json: { data: { gid: '12050', resource_type: 'task' } } });
    expect(await send(connect(asanaConnector, config()))).toEqual({ kind: 'delivered', receipt: '12050' });
    const [request] = vendor.to('POST', '/api/1.0/tasks');
    expect(request.headers.authorization).toBe('Bearer asana-pat');
    expect(jsonOf(request)).toEqual({
      data: { name: 'Out of stock: SKU-1 at WH-1', notes: expect.any(String), projects: ['1204'], due_on: '2026-11-23', assignee: 'buyer@acme.com', followers: ['999'] },
    });
  });

  it('429 → retry after Retry-After; 403 → permanent', async () => {
    vendor.reply('POST', '/api/1.0/tasks', { status: 429, headers: { 'retry-after': '30' }, json: { errors: [{ message: 'Rate limit enforced' }] } }, { status: 403, json: { errors: [{ message: 'Forbidden' }] } });
    const connector = connect(asanaConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 30_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('monday.com', () => {
  const config = () => ({ apiToken: 'mon-token', boardId: '1234567890', groupId: 'topics', columns: { severity: 'text', sku: 'text4', details: 'long1' }, apiUrl: `${vendor.url}/v2` });

  it('posts a create_item mutation with column_values as a JSON string', async () => {
    vendor.reply('POST', '/v2', { status: 200, json: { data: { create_item: { id: '9876' } }, account_id: 1 } });
    expect(await send(connect(mondayConnector, config()))).toEqual({ kind: 'delivered', receipt: '9876' });
    const [request] = vendor.to('POST', '/v2');
    expect(request.headers.authorization).toBe('mon-token');
    expect(request.headers['api-version']).toBe('2026-10');
    const body = jsonOf(request);
    expect(body.query).toMatch(/^mutation \(\$boardId: ID!, \$groupId: String, \$itemName: String!, \$columnValues: JSON\)/);
    expect(body.query).toContain('create_item (board_id: $boardId, group_id: $groupId, item_name: $itemName, column_values: $columnValues) { id }');
    expect(body.variables).toEqual({ boardId: '1234567890', groupId: 'topics', itemName: 'Out of stock: SKU-1 at WH-1', columnValues: expect.any(String) });
    expect(JSON.parse(body.variables.columnValues)).toEqual({ text: 'critical', text4: 'SKU-1', long1: 'Out of stock: SKU-1 – just 0 units left at WH-1.' });
  });

  it('a complexity error inside a 200 → retry after retry_in_seconds', async () => {
    vendor.reply('POST', '/v2', { status: 200, json: { errors: [{ message: 'Complexity budget exhausted', extensions: { code: 'COMPLEXITY_BUDGET_EXHAUSTED', retry_in_seconds: 17 } }] } });
    expect(await send(connect(mondayConnector, config()))).toMatchObject({ kind: 'retry', retryAfterMs: 17_000 });
  });

  it('the older ComplexityException → retry after "reset in N seconds"; 429 → Retry-After', async () => {
    vendor.reply(
      'POST',
      '/v2',
      { status: 200, json: { error_code: 'ComplexityException', status_code: 429, error_message: 'Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 reset in 3 seconds', errors: ['Complexity budget exhausted'] } },
      { status: 429, headers: { 'retry-after': '40' }, json: { errors: [{ message: 'Rate Limit Exceeded', extensions: { code: 'RATE_LIMIT_EXCEEDED' } }] } },
    );
    const connector = connect(mondayConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 3_000 });
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 40_000 });
  });

  it('a GraphQL error inside a 200 (unknown board) → permanent', async () => {
    vendor.reply('POST', '/v2', { status: 200, json: { data: { create_item: null }, errors: [{ message: 'Board not found', extensions: { code: 'InvalidBoardIdException', status_code: 200 } }] } });
    const outcome = await send(connect(mondayConnector, config()));
    expect(outcome.kind).toBe('permanent');
    expect(outcome.kind === 'permanent' && outcome.reason).toContain('InvalidBoardIdException');
  });
});

describe('basecamp', () => {
  const config = () => ({
    accountId: '999', projectId: '2085', todolistId: '1069', userAgent: 'Stockade notifier (ops@acme.com)',
    clientId: 'bc-id', clientSecret: 'bc-secret', redirectUri: 'https://stockade.acme.com/oauth/basecamp', refreshToken: 'bc-refresh',
    assigneeIds: [1049], baseUrl: vendor.url, tokenUrl: `${vendor.url}/authorization/token`,
  });
  const path = '/999/buckets/2085/todolists/1069/todos.json';
  let issued = 0;

  beforeEach(() => {
    issued = 0;
    vendor.reply('POST', '/authorization/token', () => {
      issued += 1;
      return { status: 200, json: { access_token: `bc-${issued}`, expires_in: 1_209_600 } };
    });
  });

  it('refreshes through Launchpad, then creates a to-do with the User-Agent and Bearer token', async () => {
    vendor.reply('POST', path, { status: 201, json: { id: 1069479500, app_url: 'https://3.basecamp.com/…' } });
    expect(await send(connect(basecampConnector, config()))).toEqual({ kind: 'delivered', receipt: '1069479500' });
    const [token] = vendor.to('POST', '/authorization/token');
    expect(Object.fromEntries(token.query)).toEqual({ type: 'refresh', refresh_token: 'bc-refresh', client_id: 'bc-id', redirect_uri: 'https://stockade.acme.com/oauth/basecamp', client_secret: 'bc-secret' });
    const [todo] = vendor.to('POST', path);
    expect(todo.headers['user-agent']).toBe('Stockade notifier (ops@acme.com)');
    expect(todo.headers.authorization).toBe('Bearer bc-1');
    expect(jsonOf(todo)).toEqual({ content: 'Out of stock: SKU-1 at WH-1', description: expect.stringMatching(/^<p>/), due_on: '2026-11-23', assignee_ids: [1049], notify: true });
  });

  it('renews the token once on 401; 429 → Retry-After; 404 → permanent', async () => {
    vendor.reply('POST', path, { status: 401, body: 'OAuth token expired' }, { status: 201, json: { id: 1 } }, { status: 429, headers: { 'retry-after': '10' } }, { status: 404, body: '' });
    const connector = connect(basecampConnector, config());
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: '1' });
    expect(issued).toBe(2);
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 10_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    expect(issued).toBe(2);
  });
});

describe('notion', () => {
  const config = () => ({ token: 'secret_n', databaseId: 'db-1', severityProperty: 'Severity', skuProperty: 'SKU', baseUrl: vendor.url });

  it('creates a page in the database with Notion-Version and typed properties', async () => {
    vendor.reply('POST', '/v1/pages', { status: 200, json: { object: 'page', id: 'page-1' } });
    expect(await send(connect(notionConnector, config()))).toEqual({ kind: 'delivered', receipt: 'page-1' });
    const [request] = vendor.to('POST', '/v1/pages');
    expect(request.headers.authorization).toBe('Bearer secret_n');
    expect(request.headers['notion-version']).toBe('2022-06-28');
    const body = jsonOf(request);
    expect(body.parent).toEqual({ database_id: 'db-1' });
    expect(body.properties).toEqual({
      Name: { title: [{ type: 'text', text: { content: 'Out of stock: SKU-1 at WH-1' } }] },
      Severity: { select: { name: 'critical' } },
      SKU: { rich_text: [{ type: 'text', text: { content: 'SKU-1' } }] },
    });
    expect(body.children[0]).toEqual({ object: 'block', type: 'paragraph', paragraph: { rich_text: [{ type: 'text', text: { content: 'Out of stock: SKU-1 – just 0 units left at WH-1.' } }] } });
  });

  it('splits text longer than 2000 characters into blocks within the rich-text limit', async () => {
    vendor.reply('POST', '/v1/pages', { status: 200, json: { object: 'page', id: 'page-2' } });
    await send(connect(notionConnector, config()), sampleNotification({ text: 'x'.repeat(4500) }));
    const lengths = jsonOf(vendor.requests[0]).children.map((b: any) => b.paragraph.rich_text[0].text.content.length);
    expect(lengths.slice(0, 3)).toEqual([2000, 2000, 500]);
  });

  it('429 rate_limited → Retry-After; 409 conflict → retry; 404 object_not_found → permanent', async () => {
    vendor.reply(
      'POST',
      '/v1/pages',
      { status: 429, headers: { 'retry-after': '2' }, json: { object: 'error', status: 429, code: 'rate_limited', message: 'rate limited' } },
      { status: 409, json: { object: 'error', status: 409, code: 'conflict_error', message: 'conflict' } },
      { status: 404, json: { object: 'error', status: 404, code: 'object_not_found', message: 'Could not find database' } },
    );
    const connector = connect(notionConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 2_000 });
    expect(await send(connector)).toMatchObject({ kind: 'retry' });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('intercom', () => {
  const config = () => ({ accessToken: 'ic-token', ticketTypeId: '12', contactEmail: 'alerts@acme.com', baseUrl: vendor.url });

  it('creates a back-office ticket with the Intercom-Version header', async () => {
    vendor.reply('POST', '/tickets', { status: 200, json: { type: 'ticket', id: '489', ticket_id: '7' } });
    expect(await send(connect(intercomConnector, config()))).toEqual({ kind: 'delivered', receipt: '489' });
    const [request] = vendor.to('POST', '/tickets');
    expect(request.headers.authorization).toBe('Bearer ic-token');
    expect(request.headers['intercom-version']).toBe('2.11');
    expect(jsonOf(request)).toEqual({
      ticket_type_id: '12',
      contacts: [{ email: 'alerts@acme.com' }],
      ticket_attributes: { _default_title_: 'Out of stock: SKU-1 at WH-1', _default_description_: expect.stringContaining('Alert: zero_stock (critical, firing)') },
    });
  });

  it('429 → retry at X-RateLimit-Reset (epoch seconds); 400 parameter_invalid → permanent', async () => {
    vendor.reply(
      'POST',
      '/tickets',
      { status: 429, headers: { 'x-ratelimit-limit': '1000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW_MS / 1000 + 7) }, json: { type: 'error.list', errors: [{ code: 'rate_limit_exceeded' }] } },
      { status: 400, json: { type: 'error.list', errors: [{ code: 'parameter_invalid', message: 'Ticket type not found' }] } },
    );
    const connector = connect(intercomConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 7_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('sap business one service layer', () => {
  const config = (extra: Record<string, unknown> = {}) => ({ baseUrl: vendor.url, companyDb: 'SBODEMOUS', userName: 'manager', password: 'pw', handledBy: 12, ...extra });
  let logins = 0;

  beforeEach(() => {
    logins = 0;
    vendor.reply('POST', '/b1s/v1/Login', () => {
      logins += 1;
      return {
        status: 200,
        headers: { 'set-cookie': [`B1SESSION=session-${logins}; path=/b1s; HttpOnly`, 'ROUTEID=.node1; path=/b1s'] },
        json: { 'odata.metadata': 'x', SessionId: `session-${logins}`, Version: '1000190', SessionTimeout: 30 },
      };
    });
    vendor.reply('POST', '/b1s/v1/Logout', { status: 204 });
  });

  it('logs in once and creates Activities with the B1SESSION and ROUTEID cookies', async () => {
    vendor.reply('POST', '/b1s/v1/Activities', { status: 201, json: { ActivityCode: 501 } }, { status: 201, json: { ActivityCode: 502 } });
    const connector = connect(sapB1Connector, config());
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: '501' });
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: '502' });
    expect(logins).toBe(1);
    expect(jsonOf(vendor.to('POST', '/b1s/v1/Login')[0])).toEqual({ CompanyDB: 'SBODEMOUS', UserName: 'manager', Password: 'pw' });
    const [first] = vendor.to('POST', '/b1s/v1/Activities');
    expect(first.headers.cookie).toBe('B1SESSION=session-1; ROUTEID=.node1');
    expect(jsonOf(first)).toEqual({
      Activity: 'cn_Task', Details: 'Out of stock: SKU-1 at WH-1', Notes: expect.stringContaining('SKU: SKU-1'), Priority: 'pr_High', ActivityDate: '2026-11-23', HandledBy: 12, PersonalFlag: 'tYES',
    });
  });

  it('keeps the session while it is used and logs in again after SessionTimeout of idleness', async () => {
    vendor.reply('POST', '/b1s/v1/Activities', { status: 201, json: { ActivityCode: 1 } });
    const connector = connect(sapB1Connector, config());
    await send(connector);
    clock.advance(20 * 60_000);
    await send(connector);
    clock.advance(20 * 60_000);
    await send(connector);
    expect(logins).toBe(1);
    clock.advance(30 * 60_000);
    await send(connector);
    expect(logins).toBe(2);
  });

  it('logs in again once on 401 (session dropped) and resends', async () => {
    vendor.reply('POST', '/b1s/v1/Activities', { status: 401, json: { error: { code: 301, message: { lang: 'en-us', value: 'Invalid session or session already timeout.' } } } }, { status: 201, json: { ActivityCode: 7 } });
    expect(await send(connect(sapB1Connector, config()))).toEqual({ kind: 'delivered', receipt: '7' });
    expect(logins).toBe(2);
    expect(vendor.to('POST', '/b1s/v1/Activities').map((r) => r.headers.cookie)).toEqual(['B1SESSION=session-1; ROUTEID=.node1', 'B1SESSION=session-2; ROUTEID=.node1']);
  });

  it('400 from Activities (no such user) → permanent; 502 → retry', async () => {
    vendor.reply(
      'POST',
      '/b1s/v1/Activities',
      { status: 400, json: { error: { code: -5002, message: { lang: 'en-us', value: "Invalid 'HandledBy'" } } } },
      { status: 502, body: 'Bad Gateway' },
    );
    const connector = connect(sapB1Connector, config());
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    expect(await send(connector)).toMatchObject({ kind: 'retry' });
    expect(logins).toBe(1);
  });

  it('wrong credentials at login → permanent; Service Layer down at login → retry; nothing else sent', async () => {
    vendor.reply('POST', '/b1s/v1/Login', { status: 401, json: { error: { code: 100000027, message: { lang: 'en-us', value: 'Login failed' } } } }, { status: 503, body: '' });
    const connector = connect(sapB1Connector, config());
    const refused = await send(connector);
    expect(refused.kind).toBe('permanent');
    expect(refused.kind === 'permanent' && refused.reason).toContain('Login failed');
    expect(await send(connector)).toMatchObject({ kind: 'retry' });
    expect(vendor.to('POST', '/b1s/v1/Activities')).toHaveLength(0);
  });

  it('a login answer without a B1SESSION cookie → retry', async () => {
    vendor.reply('POST', '/b1s/v1/Login', { status: 200, json: { SessionId: 'x', SessionTimeout: 30 } });
    const outcome = await send(connect(sapB1Connector, config()));
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('without a B1SESSION cookie') });
  });

  it('sends an internal message to the configured users when record is "message"', async () => {
    vendor.reply('POST', '/b1s/v1/MessagesService_SendMessage', { status: 204 });
    expect(await send(connect(sapB1Connector, config({ record: 'message', recipientUserCodes: ['manager', 'buyer1'], cardCode: 'V1000' })))).toEqual({ kind: 'delivered' });
    expect(jsonOf(vendor.to('POST', '/b1s/v1/MessagesService_SendMessage')[0])).toEqual({
      Message: {
        Subject: 'Out of stock: SKU-1 at WH-1', Text: expect.any(String), Priority: 'pr_High',
        RecipientCollection: [{ UserCode: 'manager', SendInternal: 'tYES' }, { UserCode: 'buyer1', SendInternal: 'tYES' }],
      },
    });
  });

  it('a message record without recipients is refused at start, naming recipientUserCodes', () => {
    expect(configProblems(sapB1Connector, config({ record: 'message' }))).toContain("(root): must have required property 'recipientUserCodes'");
  });

  it('logs out on close with the session cookie', async () => {
    vendor.reply('POST', '/b1s/v1/Activities', { status: 201, json: { ActivityCode: 1 } });
    const connector = connect(sapB1Connector, config());
    await send(connector);
    await connector.close?.();
    expect(vendor.to('POST', '/b1s/v1/Logout').map((r) => r.headers.cookie)).toEqual(['B1SESSION=session-1; ROUTEID=.node1']);
  });
});

describe('netsuite', () => {
  const config = () => ({ accountId: '1234567_SB1', consumerKey: 'ck', consumerSecret: 'c&s', tokenId: 'tid', tokenSecret: 't s', assignedId: '42', baseUrl: vendor.url });
  const path = '/services/rest/record/v1/task';

  it('creates a task signed with OAuth 1.0 HMAC-SHA256 for the account realm', async () => {
    vendor.reply('POST', path, { status: 204, headers: { location: `${vendor.url}${path}/1001` } });
    expect(await send(connect(netsuiteConnector, config()))).toEqual({ kind: 'delivered', receipt: `${vendor.url}${path}/1001` });
    const [request] = vendor.to('POST', path);
    const fields = parseOAuthHeader(request.headers.authorization ?? '');
    expect(fields.get('realm')).toBe('1234567_SB1');
    expect(fields.get('oauth_consumer_key')).toBe('ck');
    expect(fields.get('oauth_token')).toBe('tid');
    expect(fields.get('oauth_signature_method')).toBe('HMAC-SHA256');
    expect(fields.get('oauth_version')).toBe('1.0');
    expect(fields.get('oauth_timestamp')).toBe(String(NOW_MS / 1000));
    expect(fields.get('oauth_nonce')).toMatch(/^[0-9a-f]{32}$/);
    expect(fields.get('oauth_signature')).toBe(expectedSignature('POST', `${vendor.url}${path}`, fields, 'c&s', 't s'));
    expect(jsonOf(request)).toEqual({ title: 'Out of stock: SKU-1 at WH-1', message: expect.any(String), priority: 'HIGH', duedate: '2026-11-23', assigned: { id: '42' } });
  });

  it('every request has a fresh nonce', async () => {
    vendor.reply('POST', path, { status: 204 });
    const connector = connect(netsuiteConnector, config());
    await send(connector);
    await send(connector);
    const nonces = vendor.to('POST', path).map((r) => parseOAuthHeader(r.headers.authorization ?? '').get('oauth_nonce'));
    expect(new Set(nonces).size).toBe(2);
  });

  it('429 (concurrency limit) → retry; 400 with o:errorDetails → permanent; 401 → permanent', async () => {
    vendor.reply(
      'POST',
      path,
      { status: 429, headers: { 'retry-after': '1' }, json: { title: 'Too Many Requests', status: 429 } },
      { status: 400, json: { type: 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1', title: 'Bad Request', status: 400, 'o:errorDetails': [{ detail: 'Invalid field value', 'o:errorCode': 'USER_ERROR' }] } },
      { status: 401, json: { title: 'Unauthorized', status: 401, 'o:errorDetails': [{ detail: 'Invalid login attempt.', 'o:errorCode': 'INVALID_LOGIN' }] } },
    );
    const connector = connect(netsuiteConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 1_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
  });
});

describe('quickbooks online', () => {
  const config = (extra: Record<string, unknown> = {}) => ({
    clientId: 'qb-id', clientSecret: 'qb-secret', refreshToken: 'rt-0', realmId: '9130355377388716', itemIdsBySku: { 'SKU-1': '19' },
    baseUrl: vendor.url, tokenUrl: `${vendor.url}/oauth2/v1/tokens/bearer`, ...extra,
  });
  const path = '/v3/company/9130355377388716/attachable';
  let issued = 0;

  beforeEach(() => {
    issued = 0;
    vendor.reply('POST', '/oauth2/v1/tokens/bearer', () => {
      issued += 1;
      return { status: 200, json: { token_type: 'bearer', access_token: `qb-${issued}`, refresh_token: `rt-${issued}`, expires_in: 3600, x_refresh_token_expires_in: 8_726_400 } };
    });
  });

  const created = { status: 200, json: { Attachable: { Id: '5000000000000', Note: '…' }, time: '2026-11-23T04:00:00-08:00' } };

  it('refreshes with Basic client auth, then attaches a note to the SKU item with a stable requestid', async () => {
    vendor.reply('POST', path, created);
    const notification = sampleNotification();
    expect(await send(connect(quickbooksConnector, config()), notification)).toEqual({ kind: 'delivered', receipt: '5000000000000' });
    const [token] = vendor.to('POST', '/oauth2/v1/tokens/bearer');
    expect(basicCredentials(token)).toEqual(['qb-id', 'qb-secret']);
    expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-0' });
    const [note] = vendor.to('POST', path);
    expect(note.headers.authorization).toBe('Bearer qb-1');
    expect(note.query.get('minorversion')).toBe('75');
    expect(note.query.get('requestid')).toBe(requestIdOf(notification.deliveryId));
    expect(jsonOf(note)).toEqual({
      Note: expect.stringMatching(/^Out of stock: SKU-1 at WH-1\n\n/),
      AttachableRef: [{ EntityRef: { type: 'Item', value: '19' }, IncludeOnSend: false }],
    });
  });

  it('a SKU with no mapped item gets a standalone note; notes stay within 2000 characters', async () => {
    vendor.reply('POST', path, created);
    await send(connect(quickbooksConnector, config()), sampleNotification({ text: 'y'.repeat(5000) }, sampleAlert({ sku: 'SKU-2' })));
    const body = jsonOf(vendor.to('POST', path)[0]);
    expect(body.AttachableRef).toBeUndefined();
    expect(body.Note).toHaveLength(2000);
  });

  it('uses the rotated refresh token for the next refresh (after 401 and after expiry)', async () => {
    vendor.reply('POST', path, created, { status: 401, json: { fault: { error: [{ message: 'message=AuthenticationFailed', code: '3200' }], type: 'AUTHENTICATION' } } }, created, created);
    const connector = connect(quickbooksConnector, config());
    await send(connector);
    expect(await send(connector)).toMatchObject({ kind: 'delivered' });
    clock.advance(60 * 60_000);
    await send(connector);
    expect(vendor.to('POST', '/oauth2/v1/tokens/bearer').map((r) => new URLSearchParams(r.body).get('refresh_token'))).toEqual(['rt-0', 'rt-1', 'rt-2']);
    expect(vendor.to('POST', path).map((r) => r.headers.authorization)).toEqual(['Bearer qb-1', 'Bearer qb-1', 'Bearer qb-2', 'Bearer qb-3']);
  });

  it('429 throttling → retry; 400 ValidationFault → permanent; invalid_grant at refresh → permanent', async () => {
    vendor.reply(
      'POST',
      path,
      { status: 429, headers: { 'retry-after': '60' }, json: { Fault: { Error: [{ Message: 'ThrottleExceeded', code: '003001' }], type: 'ThrottleExceeded' } } },
      { status: 400, json: { Fault: { Error: [{ Message: 'Request has invalid or unsupported property', code: '2010' }], type: 'ValidationFault' } } },
    );
    const connector = connect(quickbooksConnector, config());
    expect(await send(connector)).toMatchObject({ kind: 'retry', retryAfterMs: 60_000 });
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    vendor.reply('POST', '/oauth2/v1/tokens/bearer', { status: 400, json: { error: 'invalid_grant' } });
    expect(await send(connect(quickbooksConnector, config()))).toMatchObject({ kind: 'permanent' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('kafka (no broker on this machine: producer injected)', () => {
  class FakeProducer implements KafkaProducerLike {
    connects = 0;
    disconnects = 0;
    records: ProducerRecord[] = [];
    failures: unknown[] = [];
    async connect(): Promise<void> {
      this.connects += 1;
    }
    async send(record: ProducerRecord): Promise<RecordMetadata[]> {
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
      this.records.push(record);
      return [{ topicName: record.topic, partition: 2, errorCode: 0, baseOffset: String(100 + this.records.length) }];
    }
    async disconnect(): Promise<void> {
      this.disconnects += 1;
    }
  }

  const config = { brokers: ['127.0.0.1:9092'], topic: 'stockade.alerts' };

  it('configures an idempotent producer: idempotent, one request in flight, no topic auto-creation', () => {
    const { client, producer } = kafkaOptions({ ...config, clientId: 'n1', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    expect(producer).toEqual({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(client).toMatchObject({ clientId: 'n1', brokers: ['127.0.0.1:9092'], ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
  });

  it('connects once and sends acks=all records keyed by alert id', async () => {
    const fake = new FakeProducer();
    const connector = createKafkaConnector(config, depsWith(clock), () => fake);
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'stockade.alerts/2@101' });
    expect(await send(connector)).toEqual({ kind: 'delivered', receipt: 'stockade.alerts/2@102' });
    expect(fake.connects).toBe(1);
    const [record] = fake.records;
    expect(record.topic).toBe('stockade.alerts');
    expect(record.acks).toBe(-1);
    const [message] = record.messages;
    expect(message.key).toBe('SKU-1/zero_stock/WH-1/3');
    expect(message.headers).toEqual({ 'delivery-id': 'SKU-1/zero_stock/WH-1/3:procurement', 'content-type': 'application/json', 'alert-type': 'zero_stock' });
    expect(JSON.parse(String(message.value))).toMatchObject({ kind: 'alert', deliveryId: 'SKU-1/zero_stock/WH-1/3:procurement', alert: { id: 'SKU-1/zero_stock/WH-1/3', sku: 'SKU-1' } });
    await connector.close?.();
    expect(fake.disconnects).toBe(1);
  });

  it('maps retriable kafkajs errors to retry and non-retriable ones to permanent', async () => {
    const notLeader = new KafkaJSProtocolError({ message: 'not leader', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true } as any);
    const topicDenied = new KafkaJSProtocolError({ message: 'Not authorized to access topics', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as any);
    const cases: [unknown, DeliveryOutcome['kind']][] = [
      [new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), 'retry'],
      [new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), 'retry'],
      [notLeader, 'retry'],
      [new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 5, retryTime: 1000 }), 'retry'],
      [topicDenied, 'permanent'],
      [new KafkaJSNumberOfRetriesExceeded(topicDenied, { retryCount: 0, retryTime: 0 }), 'permanent'],
      [new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)('SASL SCRAM SHA512 authentication failed'), 'permanent'],
      [new KafkaJSNonRetriableError('message too large'), 'permanent'],
    ];
    for (const [error, kind] of cases) expect(outcomeOfKafkaError(error).kind, String((error as Error).message)).toBe(kind);
    expect(outcomeOfKafkaError(topicDenied)).toMatchObject({ reason: expect.stringContaining('TOPIC_AUTHORIZATION_FAILED') });

    const fake = new FakeProducer();
    fake.failures.push(topicDenied);
    const connector = createKafkaConnector(config, depsWith(clock), () => fake);
    expect(await send(connector)).toMatchObject({ kind: 'permanent' });
    expect(await send(connector)).toMatchObject({ kind: 'delivered' });
  });

  it('a failed connect is tried again on the next send', async () => {
    const fake = new FakeProducer();
    let refusals = 1;
    fake.connect = async () => {
      fake.connects += 1;
      if (refusals-- > 0) throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    };
    const connector = createKafkaConnector(config, depsWith(clock), () => fake);
    expect(await send(connector)).toMatchObject({ kind: 'retry' });
    expect(await send(connector)).toMatchObject({ kind: 'delivered' });
    expect(fake.connects).toBe(2);
  });

  it('an attempt aborted before sending is not handed to kafkajs', async () => {
    const fake = new FakeProducer();
    const connector = createKafkaConnector(config, depsWith(clock), () => fake);
    const controller = new AbortController();
    controller.abort();
    expect(await connector.send(sampleNotification(), { signal: controller.signal })).toMatchObject({ kind: 'retry' });
    expect(fake.connects).toBe(0);
  });

  it('the real kafkajs producer against a closed port → retry naming the connection error', async () => {
    const port = await closedPort();
    const connector = kafkaConnector.create({ brokers: [`127.0.0.1:${port}`], topic: 'stockade.alerts', retriesMax: 1, connectionTimeoutMs: 1000 }, depsWith(clock));
    open.push(connector);
    const outcome = await send(connector);
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.reason).toMatch(/KafkaJSConnectionError.*ECONNREFUSED/);
  });
});
