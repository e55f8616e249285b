// The HTTP API: the same operations as the WebSocket API plus administration, as JSON resources.
// Every request is authenticated (API key) except health, metrics and the OpenAPI document;
// every async response handles abort; bodies are bounded by http.bodyBytesMax.

import { readFileSync } from 'node:fs';
import uWS from 'uWebSockets.js';
import type { Command } from '../actors/types.js';
import { oversizeBatch } from '../actors/validate.js';
import type { HttpConfig, NotifierLinkConfig, Scope } from '../config.js';
import { SKU_PATTERN } from '../actors/validate.js';
import { SKU_SEARCH_LIMIT_MAX, SKU_SEARCH_SORTS, SKU_SEARCH_WINDOW_MAX, type SkuSearchQuery, type SkuSearchSort } from '../actors/sku-search.js';
import { errorBody, httpStatusOf, type ErrorBody } from '../errors.js';
import { projectFile } from '../paths.js';
import { isPrincipal, keyFromHeaders, requireScope, type KeyRing } from './auth.js';
import type { DemandService } from '../streams/demand-service.js';
import type { StreamsService } from '../streams/service.js';
import type { Metrics } from './metrics.js';
import type { OperationName, Operations } from './operations.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const OPENAPI = readFileSync(projectFile('docs/openapi.json'), 'utf8');

export interface Exchange {
  res: uWS.HttpResponse;
  aborted: boolean;
}

export function send(ex: Exchange, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`).writeHeader('content-type', contentType);
    for (const [name, value] of Object.entries(headers)) ex.res.writeHeader(name, value);
    ex.res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

export function sendError(ex: Exchange, error: ErrorBody): void {
  const headers: Record<string, string> = {};
  const retry = (error.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  if (error.code === 'RATE_LIMITED' && retry) headers['retry-after'] = String(Math.ceil(retry / 1000));
  send(ex, httpStatusOf(error.code), { error }, 'application/json', headers);
}

/** Read a bounded JSON object body; answers the error itself and resolves null on failure. */
export function readJson(ex: Exchange, bytesMax: number): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    ex.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > bytesMax) {
        done = true;
        sendError(ex, errorBody('VALIDATION_FAILED', `request body exceeds http.bodyBytesMax (${bytesMax} bytes)`));
        resolve(null);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      done = true;
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        resolve(parsed as Record<string, unknown>);
      } catch {
        sendError(ex, errorBody('VALIDATION_FAILED', 'the body is not a JSON object'));
        resolve(null);
      }
    });
  });
}

type Method = 'get' | 'post' | 'put' | 'del';
type ToArgs = (body: Record<string, unknown>, params: string[], query: URLSearchParams) => Record<string, unknown>;

export function installHttpApi(
  app: uWS.TemplatedApp,
  operations: Operations,
  keys: KeyRing,
  config: HttpConfig,
  metrics: Metrics,
  streams: StreamsService | null,
  notifier: NotifierLinkConfig,
  demand: DemandService | null,
): void {
  /** A response that notes when the client goes away, so nothing is written to it after. */
  const exchange = (res: uWS.HttpResponse): Exchange => {
    const ex: Exchange = { res, aborted: false };
    res.onAborted(() => {
      ex.aborted = true;
    });
    return ex;
  };

  /** Authenticate from headers (synchronously: uWS requests are valid only in the handler). */
  const begin = (res: uWS.HttpResponse, req: uWS.HttpRequest, paramCount: number) => {
    const ex = exchange(res);
    const params: string[] = [];
    let badParameter = false;
    for (let i = 0; i < paramCount; i++) {
      const raw = req.getParameter(i) ?? '';
      try {
        params.push(decodeURIComponent(raw));
      } catch {
        // A malformed percent-escape: answered as bad input, never thrown out of the handler.
        badParameter = true;
        params.push(raw);
      }
    }
    const principal = keys.authenticate(keyFromHeaders(req.getHeader('authorization'), req.getHeader('x-api-key')));
    return { ex, params, principal, badParameter };
  };

  const route = (method: Method, pattern: string, paramCount: number, op: OperationName, toArgs: ToArgs, okStatus = 200) => {
    app[method](pattern, (res, req) => {
      const { ex, params, principal, badParameter } = begin(res, req, paramCount);
      const query = new URLSearchParams(req.getQuery() ?? '');
      if (badParameter) {
        metrics.request('http', op, 'VALIDATION_FAILED', 0);
        sendError(ex, errorBody('VALIDATION_FAILED', 'a path parameter is not valid percent-encoding'));
        return;
      }
      if (!isPrincipal(principal)) {
        // Drain nothing: answer at once; uWS discards an unread body.
        metrics.request('http', op, principal.code, 0);
        sendError(ex, principal);
        return;
      }
      const run = async (body: Record<string, unknown>) => {
        const reply = await operations.run('http', principal, op, toArgs(body, params, query));
        if (reply.ok) send(ex, okStatus, reply.value, 'application/json', reply.replayed ? { 'idempotent-replayed': 'true' } : {});
        else sendError(ex, reply.error);
      };
      if (method === 'get' || method === 'del') void run({});
      else void readJson(ex, config.bodyBytesMax).then((body) => body && run(body));
    });
  };

  route('post', '/v1/reservations', 0, 'reserve', (b) => b, 201);
  route('post', '/v1/carts', 0, 'reserveCart', (b) => b, 201);
  route('post', '/v1/reservations/:id/release', 1, 'release', (b, [id]) => ({ ...b, reservationId: id }));
  route('post', '/v1/reservations/:id/commit', 1, 'commit', (b, [id]) => ({ ...b, reservationId: id }));
  route('get', '/v1/reservations/:id', 1, 'reservation', (_b, [id]) => ({ reservationId: id }));
  route('get', '/v1/reservations/:id/history', 1, 'history', (_b, [id]) => ({ reservationId: id }));
  route('get', '/v1/skus/:sku', 1, 'availability', (_b, [sku]) => ({ sku }));
  route('put', '/v1/skus/:sku', 1, 'defineSku', (b, [sku]) => ({ ...b, sku }));
  route('put', '/v1/skus/:sku/locations/:location/stock', 2, 'setStock', (b, [sku, location]) => ({ ...b, sku, location }));
  route('post', '/v1/skus/:sku/locations/:location/adjustments', 2, 'adjustStock', (b, [sku, location]) => ({ ...b, sku, location }));
  route('put', '/v1/skus/:sku/thresholds', 1, 'setThresholds', (b, [sku]) => ({ sku, thresholds: b }));
  route('put', '/v1/skus/:sku/out-of-stock-flag', 1, 'flagOutOfStock', (b, [sku]) => ({ ...b, sku }));
  route('del', '/v1/skus/:sku/out-of-stock-flag', 1, 'unflagOutOfStock', (_b, [sku]) => ({ sku, unflaggedBy: 'api' }));
  route('get', '/v1/skus/:sku/reservations', 1, 'reservations', (_b, [sku], query) => {
    const limit = query.get('limit');
    // A malformed limit stays a string, which the command schema refuses with VALIDATION_FAILED.
    return limit === null ? { sku } : { sku, limit: /^\d{1,7}$/.test(limit) ? Number(limit) : limit };
  });
  route('get', '/v1/skus/:sku/stock-series', 1, 'stockSeries', (_b, [sku]) => ({ sku }));
  route('post', '/v1/skus/:sku/fulfilment-failures', 1, 'reportFulfilmentFailure', (b, [sku]) => ({ ...b, sku }));

  // Admin: several engine commands in one request, each answered on its own.
  app.post('/v1/batch', (res, req) => {
    const { ex, principal } = begin(res, req, 0);
    const started = performance.now();
    const fail = (error: ErrorBody) => {
      metrics.request('http', 'batch', error.code, performance.now() - started);
      sendError(ex, error);
    };
    if (!isPrincipal(principal)) return fail(principal);
    const denied = requireScope(principal, 'admin');
    if (denied) return fail(denied);
    void readJson(ex, config.bodyBytesMax).then(async (body) => {
      if (!body) return;
      if (!Array.isArray(body.commands)) return fail(errorBody('VALIDATION_FAILED', 'a batch is { "commands": [ … ] }'));
      const oversize = oversizeBatch(body.commands.length, operations.engine.config.shard.batchCommandsMax);
      if (oversize) return fail(oversize);
      // Each command costs a token, as it would sent one by one.
      const refused = operations.admit(principal, 'admin', Math.max(1, body.commands.length));
      if (refused) return fail(refused);
      const replies = await operations.engine.executeBatch(body.commands as Command[]);
      metrics.request('http', 'batch', 'ok', performance.now() - started);
      send(ex, 200, { replies });
    });
  });

  // Routes answered by a handler of their own (dead letters, the catalogue search).
  const custom = (
    scope: Scope,
    method: 'get' | 'post',
    pattern: string,
    paramCount: number,
    op: string,
    handle: (ex: Exchange, params: string[], query: URLSearchParams, body: Record<string, unknown>) => Promise<void>,
    /** Read a JSON object body (bounded by bodyBytesMax) before handing over. */
    withBody = false,
  ) => {
    app[method](pattern, (res, req) => {
      const { ex, params, principal, badParameter } = begin(res, req, paramCount);
      const query = new URLSearchParams(req.getQuery() ?? '');
      const started = performance.now();
      const fail = (error: ErrorBody) => {
        metrics.request('http', op, error.code, performance.now() - started);
        sendError(ex, error);
      };
      if (badParameter) return fail(errorBody('VALIDATION_FAILED', 'a path parameter is not valid percent-encoding'));
      if (!isPrincipal(principal)) return fail(principal);
      const refused = operations.admit(principal, scope, 1);
      if (refused) return fail(refused);
      const run = (body: Record<string, unknown>) =>
        handle(ex, params, query, body).then(
          () => metrics.request('http', op, 'ok', performance.now() - started),
          (err: Error) => fail(errorBody('INTERNAL', undefined, { reason: err.message })),
        );
      if (withBody) void readJson(ex, config.bodyBytesMax).then((body) => body && run(body));
      else void run({});
    });
  };
  const sequenceOf = (text: string | null, fallback: number) => (text !== null && /^\d{1,15}$/.test(text) ? Number(text) : text === null ? fallback : NaN);
  // Demand figures of a SKU (velocities per window, high demand, time to stock-out against the
  // supplier lead time), from the demand windows of this process.
  custom('read', 'get', '/v1/skus/:sku/demand', 1, 'demand', async (ex, [sku]) => {
    if (!SKU_RE.test(sku)) return sendError(ex, errorBody('INVALID_SKU', undefined, { sku }));
    if (!demand) return sendError(ex, errorBody('NOT_FOUND', 'the demand windows are not running in this process'));
    send(ex, 200, demand.snapshot(sku));
  });
  const admin = (method: 'get' | 'post', pattern: string, paramCount: number, op: string, handle: (ex: Exchange, params: string[], query: URLSearchParams) => Promise<void>) =>
    custom('admin', method, pattern, paramCount, op, handle);
  custom('read', 'get', '/v1/skus', 0, 'searchSkus', async (ex, _params, query) => {
    const parsed = parseSkuSearch(query);
    if ('code' in parsed) return sendError(ex, parsed);
    const result = await operations.engine.searchSkus(parsed);
    if (!result.ok) return sendError(ex, result.error);
    send(ex, 200, result.page);
  });
  // Alert acknowledgement and history live in the notifier (escalation state is shared between
  // notifiers there); the gateway forwards them so the dashboard and API clients need one origin
  // and one key. The notifier's token stays on the server.
  const forward = async (ex: Exchange, method: 'GET' | 'POST', path: string, body?: unknown) => {
    if (!notifier.url) return sendError(ex, errorBody('NOTIFIER_UNAVAILABLE', 'notifier.url is not configured'));
    let answer: Response;
    try {
      answer = await fetch(new URL(path, notifier.url), {
        method,
        headers: { authorization: `Bearer ${notifier.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(notifier.timeoutMs),
      });
    } catch (err) {
      return sendError(ex, errorBody('NOTIFIER_UNAVAILABLE', undefined, { reason: (err as Error).message }));
    }
    const text = await answer.text();
    const contentType = answer.headers.get('content-type') ?? 'application/json';
    if (!answer.ok && contentType.startsWith('application/json')) {
      // The notifier answers errors as a bare {code, message, details}: wrap them like every
      // other error of this API.
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON after all: passed on as it is below.
      }
      if (body && typeof body === 'object' && 'code' in body) return send(ex, answer.status, { error: body });
    }
    const disposition = answer.headers.get('content-disposition');
    send(ex, answer.status, text, contentType, disposition ? { 'content-disposition': disposition } : {});
  };
  custom('admin', 'post', '/v1/alerts/:id/ack', 1, 'ackAlert', (ex, [id], _query, body) => forward(ex, 'POST', `/v1/alerts/${encodeURIComponent(id)}/ack`, body), true);
  custom('read', 'get', '/v1/alerts', 0, 'alertHistory', (ex, _params, query) => forward(ex, 'GET', `/v1/alerts?${query}`));
  custom('read', 'get', '/v1/alerts.csv', 0, 'alertHistoryCsv', (ex, _params, query) => forward(ex, 'GET', `/v1/alerts.csv?${query}`));
  admin('get', '/v1/dead-letters', 0, 'deadLetters', async (ex, _params, query) => {
    const after = sequenceOf(query.get('after'), 0);
    const limit = sequenceOf(query.get('limit'), 100);
    if (Number.isNaN(after) || Number.isNaN(limit) || limit < 1) {
      return sendError(ex, errorBody('VALIDATION_FAILED', 'after and limit are whole numbers, limit at least 1'));
    }
    const letters = streams && (await streams.deadLetters(after, limit));
    if (!letters) return sendError(ex, errorBody('STREAMS_UNAVAILABLE'));
    send(ex, 200, { deadLetters: letters });
  });
  admin('post', '/v1/dead-letters/:seq/replay', 1, 'replayDeadLetter', async (ex, [seqText]) => {
    const seq = sequenceOf(seqText, NaN);
    if (Number.isNaN(seq) || seq < 1) return sendError(ex, errorBody('VALIDATION_FAILED', 'the sequence is a whole number'));
    const outcome = streams && (await streams.replay(seq));
    if (!outcome) return sendError(ex, errorBody('STREAMS_UNAVAILABLE'));
    if (!outcome.replayed) return sendError(ex, errorBody('DEAD_LETTER_NOT_FOUND', undefined, { seq, reason: outcome.reason }));
    send(ex, 200, outcome);
  });

  app.get('/health/live', (res) => send({ res, aborted: false }, 200, { status: 'live' }));
  // Ready means every shard has recovered: reserves are served even while NATS is away, so the
  // streams' state (connection, consumer lag, last applied sequence) is reported, not gated on.
  app.get('/health/ready', (res) => {
    const ex = exchange(res);
    const ready = operations.engine.ready;
    // A shard given up on is not coming back by itself: say so, rather than "recovering".
    const failedShards = operations.engine.failedShards;
    const status = ready ? 'ready' : failedShards.length > 0 ? 'failed' : 'recovering';
    const body = { status, shards: operations.engine.shardCount, depths: operations.engine.depths(), ...(failedShards.length > 0 ? { failedShards } : {}) };
    if (!streams) {
      send(ex, ready ? 200 : 503, { ...body, streams: 'disabled' });
      return;
    }
    void Promise.all([streams.stockLag(), streams.orderLag()]).then(([stockLag, orderLag]) => {
      const { connected, stock, orders, poller } = streams.status();
      send(ex, ready ? 200 : 503, {
        ...body,
        streams: { connected, stock: stock && { ...stock, lagMessages: stockLag }, orders: orders && { ...orders, lagMessages: orderLag }, poller },
      });
    });
  });
  app.get('/metrics', (res) => {
    const ex = exchange(res);
    void metrics.registry.metrics().then((text) => send(ex, 200, text, metrics.registry.contentType));
  });
  app.get('/openapi.json', (res) => send({ res, aborted: false }, 200, OPENAPI));
  app.any('/*', (res) => send({ res, aborted: false }, 404, { error: errorBody('NOT_FOUND') }));
}

const SEARCH_TEXT_LENGTH_MAX = 64;
const SKU_RE = new RegExp(SKU_PATTERN);

/** `GET /v1/skus?q=&sort=&order=asc|desc&alerting=true&offset=&limit=` → a search query, or the error. */
export function parseSkuSearch(query: URLSearchParams): SkuSearchQuery | ErrorBody {
  const text = query.get('q') ?? '';
  if (text.length > SEARCH_TEXT_LENGTH_MAX) return errorBody('VALIDATION_FAILED', `q is at most ${SEARCH_TEXT_LENGTH_MAX} characters`, { field: 'q' });
  const sort = query.get('sort') ?? 'sku';
  if (!(SKU_SEARCH_SORTS as readonly string[]).includes(sort)) return errorBody('VALIDATION_FAILED', `sort is one of ${SKU_SEARCH_SORTS.join(', ')}`, { field: 'sort' });
  const order = query.get('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') return errorBody('VALIDATION_FAILED', 'order is asc or desc', { field: 'order' });
  const alerting = query.get('alerting') ?? 'false';
  if (alerting !== 'true' && alerting !== 'false') return errorBody('VALIDATION_FAILED', 'alerting is true or false', { field: 'alerting' });
  const whole = (name: string, fallback: number, min: number, max: number): number | ErrorBody => {
    const raw = query.get(name);
    if (raw === null) return fallback;
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) return errorBody('VALIDATION_FAILED', `${name} is a whole number from ${min} to ${max}`, { field: name });
    return n;
  };
  const offset = whole('offset', 0, 0, SKU_SEARCH_WINDOW_MAX);
  if (typeof offset !== 'number') return offset;
  const limit = whole('limit', 50, 1, SKU_SEARCH_LIMIT_MAX);
  if (typeof limit !== 'number') return limit;
  if (offset + limit > SKU_SEARCH_WINDOW_MAX) return errorBody('VALIDATION_FAILED', `offset + limit is at most ${SKU_SEARCH_WINDOW_MAX}`, { field: 'offset' });
  return { text, sort: sort as SkuSearchSort, descending: order === 'desc', alertingOnly: alerting === 'true', offset, limit };
}
