// The notifier's HTTP API: acknowledgements, alert history (JSON and CSV), metrics, health.
// Every /v1 route needs the admin bearer token; errors answer the one error table's codes.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { ALERT_TYPES } from '../alerts/alert.js';
import { errorBody, httpStatusOf, StockadeError, type ErrorCode } from '../errors.js';
import type { NotifierHttpConfig } from './config.js';
import { historyCsv, type HistoryQuery, type HistoryRecord } from './history.js';
import type { OpenAlertState } from './open-alerts.js';

export interface NotifierApi {
  acknowledge(alertId: string, by: string): Promise<OpenAlertState | null>;
  openAlert(alertId: string): OpenAlertState | null;
  history(query: HistoryQuery): Promise<HistoryRecord[]>;
  metrics(): Promise<{ contentType: string; body: string }>;
  health(): { consuming: boolean; instance: string };
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validateAck = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['by'],
  properties: { by: { type: 'string', minLength: 1, maxLength: 200 } },
});

const QUERY_KEYS = new Set(['sku', 'type', 'from', 'to', 'limit']);

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function send(res: ServerResponse, status: number, body: string, contentType: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json');
}

function fail(code: ErrorCode, message?: string, details?: unknown): never {
  throw new StockadeError(code, message, details);
}

/** A time bound: ISO-8601 or epoch milliseconds. */
function parseTime(name: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) fail('VALIDATION_FAILED', `${name} must be an ISO-8601 time or epoch milliseconds`, { field: name });
  return ms;
}

export function parseHistoryQuery(params: URLSearchParams, config: NotifierHttpConfig): HistoryQuery {
  for (const key of params.keys()) if (!QUERY_KEYS.has(key)) fail('VALIDATION_FAILED', `unknown query parameter "${key}"`, { field: key });
  const q: HistoryQuery = { limit: config.historyLimitDefault };
  const sku = params.get('sku');
  if (sku !== null) {
    if (sku.length === 0 || sku.length > 256) fail('VALIDATION_FAILED', 'sku must be 1-256 characters', { field: 'sku' });
    q.sku = sku;
  }
  const type = params.get('type');
  if (type !== null) {
    if (!(ALERT_TYPES as readonly string[]).includes(type)) fail('VALIDATION_FAILED', `type must be one of ${ALERT_TYPES.join(', ')}`, { field: 'type' });
    q.type = type;
  }
  const from = params.get('from');
  if (from !== null) q.from = parseTime('from', from);
  const to = params.get('to');
  if (to !== null) q.to = parseTime('to', to);
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) fail('VALIDATION_FAILED', 'from is after to', { field: 'from' });
  const limit = params.get('limit');
  if (limit !== null) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > config.historyLimitMax) {
      fail('VALIDATION_FAILED', `limit must be a whole number from 1 to ${config.historyLimitMax}`, { field: 'limit' });
    }
    q.limit = Number(limit);
  }
  return q;
}

/** An alert id from the path; ids hold `/`, so clients may send it percent-encoded or raw. */
function alertIdOf(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    fail('VALIDATION_FAILED', 'the alert id is not valid percent-encoding', { field: 'id' });
  }
  if (id.length === 0 || id.length > 512) fail('VALIDATION_FAILED', 'the alert id must be 1-512 characters', { field: 'id' });
  return id;
}

async function readBody(req: IncomingMessage, bytesMax: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > bytesMax) fail('VALIDATION_FAILED', `the body exceeds ${bytesMax} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class NotifierHttpServer {
  private readonly server: Server;
  private readonly tokenHash: Buffer;

  constructor(
    private readonly config: NotifierHttpConfig,
    private readonly api: NotifierApi,
    private readonly log: { error(obj: object, msg: string): void },
  ) {
    this.tokenHash = sha256(config.adminToken);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (err instanceof StockadeError) return sendJson(res, httpStatusOf(err.code), err.toBody());
        this.log.error({ err: (err as Error).message, url: req.url }, 'notifier http request failed');
        if (!res.headersSent) sendJson(res, 500, errorBody('INTERNAL'));
        else res.destroy();
      });
    });
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorised(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    // Compare digests: equal length, constant time, and the token itself is never compared or logged.
    return match !== null && timingSafeEqual(sha256(match[1]), this.tokenHash);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://notifier');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/metrics') {
      const m = await this.api.metrics();
      return send(res, 200, m.body, m.contentType);
    }
    if (req.method === 'GET' && path === '/healthz') {
      const h = this.api.health();
      return sendJson(res, h.consuming ? 200 : 503, h);
    }
    if (!path.startsWith('/v1/')) fail('NOT_FOUND');
    if (!this.authorised(req)) fail('UNAUTHENTICATED', 'a valid admin bearer token is required');

    if (path === '/v1/alerts' || path === '/v1/alerts.csv') {
      if (req.method !== 'GET') fail('NOT_FOUND');
      const q = parseHistoryQuery(url.searchParams, this.config);
      if (path === '/v1/alerts') {
        const notices = await this.api.history({ ...q, records: ['notice'] });
        return sendJson(res, 200, { alerts: notices, limit: q.limit });
      }
      const records = await this.api.history(q);
      return send(res, 200, historyCsv(records), 'text/csv; charset=utf-8', { 'content-disposition': 'attachment; filename="alerts.csv"' });
    }
    if (path.startsWith('/v1/alerts/')) {
      const rest = path.slice('/v1/alerts/'.length);
      if (req.method === 'POST' && rest.endsWith('/ack')) {
        const alertId = alertIdOf(rest.slice(0, -'/ack'.length));
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req, this.config.bodyBytesMax));
        } catch (err) {
          if (err instanceof StockadeError) throw err;
          fail('VALIDATION_FAILED', 'the body is not JSON');
        }
        if (!validateAck(body)) fail('VALIDATION_FAILED', 'the body must be {"by": "<who>"}', validateAck.errors);
        const state = await this.api.acknowledge(alertId, (body as { by: string }).by);
        if (state === null) fail('ALERT_NOT_OPEN', undefined, { alertId });
        return sendJson(res, 200, { alertId, ackedBy: state.ackedBy, ackedAt: new Date(state.ackedAt!).toISOString() });
      }
      if (req.method === 'GET') {
        const alertId = alertIdOf(rest);
        // One alert's records: everything up to historyLimitMax unless a smaller limit is asked for.
        for (const key of url.searchParams.keys()) if (key !== 'limit') fail('VALIDATION_FAILED', `unknown query parameter "${key}"`, { field: key });
        const limit = url.searchParams.has('limit') ? parseHistoryQuery(url.searchParams, this.config).limit : this.config.historyLimitMax;
        const records = await this.api.history({ alertId, limit });
        if (records.length === 0) fail('ALERT_NOT_FOUND', undefined, { alertId });
        return sendJson(res, 200, {
          alertId,
          notices: records.filter((r) => r.record === 'notice'),
          attempts: records.filter((r) => r.record === 'attempt'),
          events: records.filter((r) => r.record !== 'notice' && r.record !== 'attempt'),
          open: this.api.openAlert(alertId),
        });
      }
    }
    fail('NOT_FOUND');
  }
}
