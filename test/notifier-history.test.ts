// Alert history over HTTP: query by SKU, type and time range, one alert with its attempts, CSV
// export with RFC 4180 quoting, bounded answers and their invalid inputs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField, historyCsv, type HistoryRecord } from '../src/notifier/history.js';
import type { Notifier } from '../src/notifier/notifier.js';
import { sink } from './notifier/connectors.js';
import { AlertPublisher, api, makeAlert, receiver, startNotifier, testConfig, uniqueNames } from './notifier/fixtures.js';
import { NotifierNatsServer } from './notifier/nats.js';

let server: NotifierNatsServer;
let publisher: AlertPublisher;
let notifier: Notifier;
let startedAt = 0;
const boot = makeAlert({ sku: 'Boot.Red-42', type: 'below_minimum' });
const bootZero = makeAlert({ sku: 'Boot.Red-42', type: 'zero_stock', severity: 'critical' });
const hat = makeAlert({ sku: 'Hat-1', type: 'below_minimum' });
const NASTY_REASON = 'rejected: "channel", archived\nsee docs';

/** A small RFC 4180 reader, to check that what the export writes reads back as written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}

beforeAll(async () => {
  server = await NotifierNatsServer.start();
  publisher = await AlertPublisher.connect(server);
  await publisher.createStream();
  const s = sink('history');
  s.script.push({ kind: 'delivered' }, { kind: 'permanent', reason: NASTY_REASON });
  notifier = await startNotifier(
    testConfig(server, { nats: uniqueNames(), http: { historyLimitDefault: 2, historyLimitMax: 50 }, receivers: [receiver('ops', 'history')], rules: [{ name: 'all', match: {}, receivers: ['ops'] }] }),
  );
  startedAt = Date.now();
  const settled = new Set<string>();
  const all = new Promise<void>((resolve) =>
    notifier.events.on('acked', (id: string) => {
      settled.add(id);
      if (settled.size === 3) resolve();
    }),
  );
  for (const a of [boot, bootZero, hat]) await publisher.publish(a);
  await all;
});

afterAll(async () => {
  await notifier.stop();
  await publisher.close();
  await server.destroy();
});

async function getJson(path: string): Promise<{ status: number; body: any }> {
  const res = await api(notifier, path);
  return { status: res.status, body: await res.json() };
}

describe('alert history', () => {
  it('lists notices by SKU (dots and all), and by SKU and type', async () => {
    const bySku = await getJson(`/v1/alerts?sku=${encodeURIComponent('Boot.Red-42')}&limit=10`);
    expect(bySku.status).toBe(200);
    expect(bySku.body.alerts.map((r: HistoryRecord) => r.alertId)).toEqual([boot.id, bootZero.id]);
    const byType = await getJson(`/v1/alerts?sku=${encodeURIComponent('Boot.Red-42')}&type=zero_stock`);
    expect(byType.body.alerts.map((r: HistoryRecord) => [r.alertId, r.severity])).toEqual([[bootZero.id, 'critical']]);
    const byTypeOnly = await getJson('/v1/alerts?type=below_minimum&limit=10');
    expect(byTypeOnly.body.alerts.map((r: HistoryRecord) => r.sku)).toEqual(['Boot.Red-42', 'Hat-1']);
  });

  it('bounds answers: the default limit, and a limit above the max is refused', async () => {
    const all = await getJson('/v1/alerts');
    expect(all.body.limit).toBe(2);
    expect(all.body.alerts).toHaveLength(2);
    const over = await getJson('/v1/alerts?limit=51');
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'limit' } });
  });

  it('filters by time range (ISO or epoch ms)', async () => {
    const inRange = await getJson(`/v1/alerts?from=${new Date(startedAt - 60_000).toISOString()}&to=${Date.now()}&limit=10`);
    expect(inRange.body.alerts).toHaveLength(3);
    const future = await getJson(`/v1/alerts?from=${Date.now() + 3_600_000}`);
    expect(future.body.alerts).toEqual([]);
    const past = await getJson(`/v1/alerts?to=${startedAt - 60_000}`);
    expect(past.body.alerts).toEqual([]);
  });

  it('refuses bad queries with a stable code naming the field', async () => {
    for (const [query, field] of [
      ['type=nonsense', 'type'],
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['skus=A', 'skus'],
      [`from=${Date.now()}&to=${Date.now() - 1000}`, 'from'],
    ]) {
      const r = await getJson(`/v1/alerts?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body, query).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    }
    expect((await fetch(`http://127.0.0.1:${notifier.port}/v1/alerts`)).status).toBe(401);
  });

  it('returns one alert with its notice and attempts; unknown ids are 404 ALERT_NOT_FOUND', async () => {
    const one = await getJson(`/v1/alerts/${encodeURIComponent(bootZero.id)}`);
    expect(one.status).toBe(200);
    expect(one.body.notices).toHaveLength(1);
    expect(one.body.attempts.map((a: HistoryRecord) => [a.receiver, a.outcome])).toEqual([
      ['ops', 'permanent'],
      ['ops', 'dead'],
    ]);
    const missing = await getJson(`/v1/alerts/${encodeURIComponent('Nope/zero_stock/*/9')}`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('ALERT_NOT_FOUND');
    const raw = await getJson(`/v1/alerts/${bootZero.id}`);
    expect(raw.body.notices).toHaveLength(1);
    const malformed = await getJson('/v1/alerts/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'id' } });
    const unknownParam = await getJson(`/v1/alerts/${encodeURIComponent(bootZero.id)}?sku=x`);
    expect(unknownParam.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'sku' } });
  });

  it('exports notices and attempts as CSV that reads back exactly', async () => {
    const res = await api(notifier, `/v1/alerts.csv?sku=${encodeURIComponent('Boot.Red-42')}&limit=50`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await res.text();
    const rows = parseCsv(text);
    const header = rows[0];
    expect(header.slice(0, 4)).toEqual(['recordedAt', 'record', 'alertId', 'noticeId']);
    const col = (name: string) => header.indexOf(name);
    const body = rows.slice(1);
    expect(body.every((r) => r.length === header.length)).toBe(true);
    // Stream order across alerts follows concurrent work; within one alert it is notice, then attempts.
    const byAlert = [...body].sort((x, y) => x[col('alertId')].localeCompare(y[col('alertId')]));
    expect(byAlert.map((r) => [r[col('alertId')], r[col('record')], r[col('outcome')]])).toEqual([
      [boot.id, 'notice', ''],
      [boot.id, 'attempt', 'delivered'],
      [bootZero.id, 'notice', ''],
      [bootZero.id, 'attempt', 'permanent'],
      [bootZero.id, 'attempt', 'dead'],
    ]);
    expect(byAlert[3][col('reason')]).toBe(NASTY_REASON);
    expect(text).toContain('"rejected: ""channel"", archived\nsee docs"');
  });
});

describe('csv quoting', () => {
  it('quotes only fields that need it and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(['a', 'b'])).toBe('a b');
    expect(historyCsv([]).endsWith('\r\n')).toBe(true);
  });
});
