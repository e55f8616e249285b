// The WebSocket API at /v1/ws. JSON text frames or msgpack binary frames; each request carries
// an `id` and an `op`, many may be in flight per connection, and answers (in the request's own
// format) come back as they finish, so possibly out of order. See docs/protocol.md.

import uWS from 'uWebSockets.js';
import type { AvailabilityChange } from '../actors/messages.js';
import type { Reply } from '../actors/types.js';
import { SKU_PATTERN } from '../actors/validate.js';
import type { GatewayConfig } from '../config.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { isPrincipal, keyFromHeaders, type KeyRing, type Principal } from './auth.js';
import type { Metrics } from './metrics.js';
import { isOperation, type Operations } from './operations.js';
import { OPS_TOPIC_BINARY, OPS_TOPIC_TEXT } from './ops-feed.js';
import { packr, publishToTopics } from './push.js';

interface Connection {
  principal: Principal | null;
  inFlight: number;
  /** Watched SKUs and the topic (frame format) each was subscribed in. */
  subscriptions: Map<string, string>;
  closed: boolean;
  /** Answers waiting for this event-loop turn's single write (see `send`). */
  outbox: (string | Buffer)[];
  outboxBinary: boolean[];
}

type Socket = uWS.WebSocket<Connection>;
type RequestId = number | string | null;

const SKU_RE = new RegExp(SKU_PATTERN);
const ID_STRING_LENGTH_MAX = 64;

function topicOf(sku: string, binary: boolean): string {
  return (binary ? 'b/' : 't/') + sku;
}

function encode(message: unknown, binary: boolean): string | Buffer {
  return binary ? packr.pack(message) : JSON.stringify(message);
}

function validId(id: unknown): id is number | string {
  return (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) || (typeof id === 'string' && id.length > 0 && id.length <= ID_STRING_LENGTH_MAX);
}

export class WebSocketApi {
  /** Connections with answers queued, written once the current burst of replies is handled. */
  private readonly pendingOutput = new Set<Socket>();
  private flushScheduled = false;

  constructor(
    private readonly app: uWS.TemplatedApp,
    private readonly operations: Operations,
    private readonly keys: KeyRing,
    private readonly config: GatewayConfig,
    private readonly metrics: Metrics,
  ) {}

  install(): void {
    this.app.ws<Connection>('/v1/ws', {
      compression: uWS.DISABLED,
      maxPayloadLength: this.config.frameBytesHardMax,
      idleTimeout: this.config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: this.config.backpressureBytesMax,
      // A client that stops reading is shed, never buffered without bound.
      closeOnBackpressureLimit: 1,
      upgrade: (res, req, context) => {
        const key = keyFromHeaders(req.getHeader('authorization'), req.getHeader('x-api-key'));
        let principal: Principal | null = null;
        if (key) {
          const found = this.keys.authenticate(key);
          if (!isPrincipal(found)) {
            res.cork(() => res.writeStatus('401 Unauthorized').writeHeader('content-type', 'application/json').end(JSON.stringify({ error: found })));
            return;
          }
          principal = found;
        }
        res.upgrade<Connection>(
          { principal, inFlight: 0, subscriptions: new Map(), closed: false, outbox: [], outboxBinary: [] },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: () => this.metrics.connections.inc(),
      message: (ws, message, isBinary) => this.onFrame(ws, message, isBinary),
      close: (ws) => {
        const conn = ws.getUserData();
        conn.closed = true;
        conn.outbox = [];
        conn.outboxBinary = [];
        this.pendingOutput.delete(ws);
        for (const sku of conn.subscriptions.keys()) this.unwatch(sku);
        conn.subscriptions.clear();
        this.metrics.connections.dec();
      },
    });
  }

  /** Push durable availability changes to the SKUs' subscribers, once per format. */
  publish(changes: AvailabilityChange[]): void {
    for (const change of changes) publishToTopics(this.app, topicOf(change.sku, false), topicOf(change.sku, true), { push: 'availability', ...change });
  }

  /**
   * Queue an answer. A shard turn answers hundreds of requests at once; uncorked, each would be
   * its own write(2). Queued answers leave in one corked write per connection once the burst
   * has been handled (setImmediate: after the promise continuations of the same delivery).
   */
  private send(ws: Socket, message: unknown, binary: boolean): void {
    const conn = ws.getUserData();
    if (conn.closed) return;
    conn.outbox.push(encode(message, binary));
    conn.outboxBinary.push(binary);
    this.pendingOutput.add(ws);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushOutput());
    }
  }

  private flushOutput(): void {
    this.flushScheduled = false;
    for (const ws of this.pendingOutput) {
      const conn = ws.getUserData();
      const frames = conn.outbox;
      const binary = conn.outboxBinary;
      conn.outbox = [];
      conn.outboxBinary = [];
      if (conn.closed) continue;
      ws.cork(() => {
        for (let i = 0; i < frames.length; i++) ws.send(frames[i], binary[i]);
      });
    }
    this.pendingOutput.clear();
  }

  private answer(ws: Socket, id: RequestId, reply: Reply, binary: boolean): void {
    if (reply.ok) this.send(ws, reply.replayed ? { id, ok: true, result: reply.value, replayed: true } : { id, ok: true, result: reply.value }, binary);
    else this.send(ws, { id, ok: false, error: reply.error }, binary);
  }

  private fail(ws: Socket, id: RequestId, error: ErrorBody, binary: boolean, op: unknown = 'frame'): void {
    // Metric labels come from a closed set: a client's made-up op must not create new series.
    const label = op === 'frame' || op === 'auth' || op === 'subscribe' || op === 'unsubscribe' || op === 'watchOps' || op === 'unwatchOps' || isOperation(op) ? (op as string) : 'unknown';
    this.metrics.request('ws', label, error.code, 0);
    this.send(ws, { id, ok: false, error }, binary);
  }

  private onFrame(ws: Socket, message: ArrayBuffer, binary: boolean): void {
    if (message.byteLength > this.config.frameBytesMax) {
      this.fail(ws, null, errorBody('FRAME_TOO_LARGE', undefined, { frameBytesMax: this.config.frameBytesMax }), binary);
      return;
    }
    let frame: unknown;
    try {
      // uWS owns `message` only during this call: decode (copying) before anything async.
      frame = binary ? packr.unpack(Buffer.from(message)) : JSON.parse(Buffer.from(message).toString('utf8'));
    } catch {
      this.fail(ws, null, errorBody('MALFORMED_FRAME', 'the frame does not decode'), binary);
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.fail(ws, null, errorBody('MALFORMED_FRAME'), binary);
      return;
    }
    const { id, op, ...args } = frame as Record<string, unknown>;
    if (!validId(id)) {
      this.fail(ws, null, errorBody('MALFORMED_FRAME', 'id must be a non-negative integer or a string of 1-64 characters'), binary);
      return;
    }
    const conn = ws.getUserData();
    if (op === 'auth') {
      const found = this.keys.authenticate(typeof args.key === 'string' ? args.key : null);
      if (!isPrincipal(found)) return this.fail(ws, id, found, binary, 'auth');
      conn.principal = found;
      this.send(ws, { id, ok: true, result: { keyId: found.keyId, channel: found.channel, scopes: [...found.scopes] } }, binary);
      return;
    }
    if (!conn.principal) return this.fail(ws, id, errorBody('UNAUTHENTICATED', 'send {"op":"auth","key":…} first or pass the key on upgrade'), binary, op);
    if (op === 'subscribe' || op === 'unsubscribe') return this.onSubscription(ws, conn, id, op, args, binary);
    if (op === 'watchOps' || op === 'unwatchOps') return this.onOpsWatch(ws, conn, id, op, binary);
    if (!isOperation(op)) return this.fail(ws, id, errorBody('VALIDATION_FAILED', 'unknown op', { op }), binary, op);
    if (conn.inFlight >= this.config.inFlightPerConnectionMax) {
      return this.fail(ws, id, errorBody('IN_FLIGHT_LIMIT', undefined, { inFlightPerConnectionMax: this.config.inFlightPerConnectionMax }), binary, op);
    }
    conn.inFlight++;
    this.operations.runThen('ws', conn.principal, op, args, (reply) => {
      conn.inFlight--;
      this.answer(ws, id, reply, binary);
    });
  }

  private onSubscription(ws: Socket, conn: Connection, id: number | string, op: 'subscribe' | 'unsubscribe', args: Record<string, unknown>, binary: boolean): void {
    const refused = this.operations.admit(conn.principal!, 'read', 1);
    if (refused) return this.fail(ws, id, refused, binary, op);
    const listed = args.skus;
    if (!Array.isArray(listed) || listed.length === 0 || !listed.every((s) => typeof s === 'string' && SKU_RE.test(s))) {
      return this.fail(ws, id, errorBody('VALIDATION_FAILED', 'skus is a non-empty array of SKU ids', { field: 'skus' }), binary, op);
    }
    const skus = [...new Set(listed as string[])];
    if (op === 'unsubscribe') {
      for (const sku of skus) {
        const topic = conn.subscriptions.get(sku);
        if (topic === undefined) continue;
        // The topic it was subscribed in, whatever format this request came in.
        ws.unsubscribe(topic);
        conn.subscriptions.delete(sku);
        this.unwatch(sku);
      }
      this.send(ws, { id, ok: true, result: { subscriptions: [...conn.subscriptions.keys()] } }, binary);
      return;
    }
    const fresh = skus.filter((sku) => !conn.subscriptions.has(sku));
    if (conn.subscriptions.size + fresh.length > this.config.subscriptionsPerConnectionMax) {
      return this.fail(ws, id, errorBody('SUBSCRIPTION_LIMIT', undefined, { subscriptionsPerConnectionMax: this.config.subscriptionsPerConnectionMax }), binary, op);
    }
    for (const sku of fresh) {
      const topic = topicOf(sku, binary);
      conn.subscriptions.set(sku, topic);
      ws.subscribe(topic);
      this.watch(sku);
    }
    // Answer with the current availability, so the subscriber starts from a known state.
    void Promise.all(skus.map((sku) => this.operations.engine.execute({ type: 'getSku', sku }))).then((replies) => {
      const availability = replies.map((r, i) => (r.ok ? r.value : { sku: skus[i], error: r.error }));
      this.send(ws, { id, ok: true, result: { subscriptions: [...conn.subscriptions.keys()], availability } }, binary);
    });
  }

  /** The operators' live feed (ops-feed.ts): summaries every second and alert notices. */
  private onOpsWatch(ws: Socket, conn: Connection, id: number | string, op: 'watchOps' | 'unwatchOps', binary: boolean): void {
    const refused = this.operations.admit(conn.principal!, 'read', 1);
    if (refused) return this.fail(ws, id, refused, binary, op);
    if (op === 'watchOps') ws.subscribe(binary ? OPS_TOPIC_BINARY : OPS_TOPIC_TEXT);
    else {
      ws.unsubscribe(OPS_TOPIC_TEXT);
      ws.unsubscribe(OPS_TOPIC_BINARY);
    }
    this.send(ws, { id, ok: true, result: { watchingOps: op === 'watchOps' } }, binary);
  }

  /** The engine counts watchers: it reports a SKU while any connection (or the order flow) watches it. */
  private watch(sku: string): void {
    this.operations.engine.watch(sku, true);
  }

  private unwatch(sku: string): void {
    this.operations.engine.watch(sku, false);
  }
}
