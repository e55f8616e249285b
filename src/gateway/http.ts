// HTTP API over uWebSockets.js: the engine's commands as JSON resources, plus health endpoints.
// Every response path handles abort (the client may go away while a shard is answering), bodies
// are bounded by http.bodyBytesMax, and every error answers the stable code from errors.ts.

import uWS from 'uWebSockets.js';
import type { Engine } from '../actors/engine.js';
import type { Command, Reply } from '../actors/types.js';
import type { HttpConfig } from '../config.js';
import { errorBody, httpStatusOf, type ErrorBody } from '../errors.js';

export interface HttpServer {
  port: number;
  close(): void;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  400: '400 Bad Request',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

interface Exchange {
  res: uWS.HttpResponse;
  aborted: boolean;
}

function send(ex: Exchange, status: number, body: unknown): void {
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res
      .writeStatus(STATUS_TEXT[status] ?? `${status} Status`)
      .writeHeader('content-type', 'application/json')
      .end(JSON.stringify(body));
  });
}

function sendError(ex: Exchange, error: ErrorBody): void {
  send(ex, httpStatusOf(error.code), { error });
}

function sendReply(ex: Exchange, reply: Reply, createdStatus = 200): void {
  if (reply.ok) send(ex, createdStatus, reply.value);
  else sendError(ex, reply.error);
}

/** Read a bounded JSON object body; answers the error itself and resolves null on failure. */
function readJson(ex: Exchange, bytesMax: number): Promise<Record<string, unknown> | null> {
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

type BodyToCommand = (body: Record<string, unknown>, params: string[]) => Command;

export function startHttpServer(engine: Engine, config: HttpConfig): Promise<HttpServer> {
  const app = uWS.App();

  const exchange = (res: uWS.HttpResponse): Exchange => {
    const ex: Exchange = { res, aborted: false };
    res.onAborted(() => {
      ex.aborted = true;
    });
    return ex;
  };

  /** A route whose JSON body, plus URL parameters, becomes one engine command. */
  const command = (method: 'post' | 'put' | 'del', pattern: string, paramCount: number, toCommand: BodyToCommand, createdStatus = 200) => {
    app[method](pattern, (res, req) => {
      const params: string[] = [];
      for (let i = 0; i < paramCount; i++) params.push(decodeURIComponent(req.getParameter(i) ?? ''));
      const ex = exchange(res);
      void readJson(ex, config.bodyBytesMax).then(async (body) => {
        if (!body) return;
        sendReply(ex, await engine.execute(toCommand(body, params)), createdStatus);
      });
    });
  };

  /** A route without a body. */
  const query = (pattern: string, paramCount: number, toCommand: (params: string[]) => Command) => {
    app.get(pattern, (res, req) => {
      const params: string[] = [];
      for (let i = 0; i < paramCount; i++) params.push(decodeURIComponent(req.getParameter(i) ?? ''));
      const ex = exchange(res);
      void engine.execute(toCommand(params)).then((reply) => sendReply(ex, reply));
    });
  };

  command('post', '/v1/reservations', 0, (b) => ({ ...b, type: 'reserve' }) as Command, 201);
  command('post', '/v1/reservations/:id/release', 1, (b, [id]) => ({ ...b, type: 'release', reservationId: id }) as Command);
  command('post', '/v1/reservations/:id/commit', 1, (b, [id]) => ({ ...b, type: 'commit', reservationId: id }) as Command);
  query('/v1/reservations/:id', 1, ([id]) => ({ type: 'getReservation', reservationId: id }));
  query('/v1/reservations/:id/history', 1, ([id]) => ({ type: 'getReservationHistory', reservationId: id }));
  query('/v1/skus/:sku', 1, ([sku]) => ({ type: 'getSku', sku }));
  command('put', '/v1/skus/:sku', 1, (b, [sku]) => ({ ...b, type: 'defineSku', sku }) as Command);
  command('put', '/v1/skus/:sku/locations/:location/stock', 2, (b, [sku, location]) => ({ ...b, type: 'setStock', sku, location }) as Command);
  command('post', '/v1/skus/:sku/locations/:location/adjustments', 2, (b, [sku, location]) => ({ ...b, type: 'adjustStock', sku, location }) as Command);
  command('put', '/v1/skus/:sku/thresholds', 1, (b, [sku]) => ({ type: 'setThresholds', sku, thresholds: b }) as Command);
  command('put', '/v1/skus/:sku/out-of-stock-flag', 1, (b, [sku]) => ({ ...b, type: 'flagOutOfStock', sku }) as Command);
  command('del', '/v1/skus/:sku/out-of-stock-flag', 1, (b, [sku]) => ({ ...b, type: 'unflagOutOfStock', sku }) as Command);

  app.post('/v1/batch', (res) => {
    const ex = exchange(res);
    void readJson(ex, config.bodyBytesMax).then(async (body) => {
      if (!body) return;
      if (!Array.isArray(body.commands)) {
        sendError(ex, errorBody('VALIDATION_FAILED', 'a batch is { "commands": [ … ] }'));
        return;
      }
      const replies = await engine.executeBatch(body.commands as Command[]);
      const refused = replies.length > 0 && !replies[0].ok && replies[0].error.code === 'BATCH_TOO_LARGE';
      if (refused && !replies[0].ok) sendError(ex, replies[0].error);
      else send(ex, 200, { replies });
    });
  });

  app.get('/health/live', (res) => send({ res, aborted: false }, 200, { status: 'live' }));
  app.get('/health/ready', (res) => {
    const ready = engine.ready;
    send({ res, aborted: false }, ready ? 200 : 503, { status: ready ? 'ready' : 'recovering', shards: engine.shardCount, depths: engine.depths() });
  });
  app.any('/*', (res) => {
    const ex = exchange(res);
    sendError(ex, errorBody('NOT_FOUND'));
  });

  return new Promise((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => {
      if (!socket) {
        reject(new Error(`cannot listen on ${config.host}:${config.port}`));
        return;
      }
      resolve({
        port: uWS.us_socket_local_port(socket),
        close: () => uWS.us_listen_socket_close(socket),
      });
    });
  });
}
