// Every operation the gateway offers, whichever transport carries it: the scope it needs, how the
// caller's arguments become an engine command, and the channel rules. HTTP routes and WebSocket
// frames both end in `Operations.run`, so auth, limits and metrics are enforced once.

import type { Engine, EngineLogger } from '../actors/engine.js';
import type { Command, Reply } from '../actors/types.js';
import type { Scope, StockadeConfig } from '../config.js';
import { errorBody, type ErrorBody } from '../errors.js';
import { requireScope, type Principal } from './auth.js';
import { RESERVED_REASON_PREFIX, reserveCart } from './cart.js';
import type { Metrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';

export type OperationName =
  | 'reserve'
  | 'reserveCart'
  | 'release'
  | 'commit'
  | 'availability'
  | 'reservation'
  | 'history'
  | 'setStock'
  | 'adjustStock'
  | 'defineSku'
  | 'setThresholds'
  | 'flagOutOfStock'
  | 'unflagOutOfStock'
  | 'reservations'
  | 'stockSeries'
  | 'reportFulfilmentFailure';

interface OperationSpec {
  scope: Scope;
  /** The engine command type; absent for operations the gateway composes (carts). */
  command?: Command['type'];
  /** The caller's channel binds the reservations this operation may touch. */
  channelScoped?: boolean;
  /** Shows every channel's reservations: keys bound to a channel may not call it. */
  backOffice?: boolean;
}

export const OPERATIONS: Record<OperationName, OperationSpec> = {
  reserve: { scope: 'reserve', command: 'reserve' },
  reserveCart: { scope: 'reserve' },
  release: { scope: 'reserve', command: 'release', channelScoped: true },
  commit: { scope: 'reserve', command: 'commit', channelScoped: true },
  availability: { scope: 'read', command: 'getSku' },
  reservation: { scope: 'read', command: 'getReservation', channelScoped: true },
  history: { scope: 'read', command: 'getReservationHistory', channelScoped: true },
  setStock: { scope: 'admin', command: 'setStock' },
  adjustStock: { scope: 'admin', command: 'adjustStock' },
  defineSku: { scope: 'admin', command: 'defineSku' },
  setThresholds: { scope: 'admin', command: 'setThresholds' },
  flagOutOfStock: { scope: 'admin', command: 'flagOutOfStock' },
  unflagOutOfStock: { scope: 'admin', command: 'unflagOutOfStock' },
  reservations: { scope: 'read', command: 'listReservations', backOffice: true },
  stockSeries: { scope: 'read', command: 'getStockSeries' },
  reportFulfilmentFailure: { scope: 'admin', command: 'reportFulfilmentFailure' },
};

export function isOperation(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(OPERATIONS, name);
}

export type Transport = 'http' | 'ws';

export class Operations {
  private readonly limiter: RateLimiter;

  constructor(
    readonly engine: Engine,
    private readonly config: Readonly<StockadeConfig>,
    private readonly metrics: Metrics,
    private readonly log: EngineLogger,
  ) {
    this.limiter = new RateLimiter(config.gateway.requestsPerSecondPerKey, config.gateway.requestBurstPerKey);
  }

  /** Admission: scope, then the key's rate. Returns the error to answer, or null. */
  admit(principal: Principal, scope: Scope, cost: number): ErrorBody | null {
    const denied = requireScope(principal, scope);
    if (denied) return denied;
    const waitMs = this.limiter.take(principal.keyId, cost, Date.now());
    if (waitMs > 0) return errorBody('RATE_LIMITED', undefined, { retryAfterMs: waitMs });
    return null;
  }

  /** `args` must be the request's own object: it is turned into the engine command in place. */
  run(transport: Transport, principal: Principal, name: OperationName, args: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => this.runThen(transport, principal, name, args, resolve));
  }

  /**
   * `run` with a callback: the WebSocket path. Three promises and their microtask hops fewer per
   * request took 0.1–1.3 µs off the gateway thread's cost per reserve in 6 of 6 `bench:cpu` pairs
   * (docs/benchmarks.md, "The gateway thread's garbage"). `done` is called exactly once; if it
   * throws, the error is logged here rather than reaching the shard's reply delivery.
   */
  runThen(transport: Transport, principal: Principal, name: OperationName, args: Record<string, unknown>, done: (reply: Reply) => void): void {
    const started = performance.now();
    let answered = false;
    const finish = (reply: Reply) => {
      // Once, whatever a failure below does after answering.
      if (answered) return;
      answered = true;
      try {
        done(this.measured(transport, name, started, reply));
      } catch (err) {
        this.log.error({ op: name, err: (err as Error).message }, 'answering failed');
      }
    };
    try {
      this.dispatch(principal, name, args, finish);
    } catch (err) {
      this.failed(name, finish, err);
    }
  }

  /** A bug, not the caller's fault: answered INTERNAL, counted, never thrown into the socket layer. */
  private failed(name: OperationName, finish: (reply: Reply) => void, err: unknown): void {
    this.log.error({ op: name, err: (err as Error).message }, 'operation failed');
    finish({ ok: false, error: errorBody('INTERNAL') });
  }

  private measured(transport: Transport, name: OperationName, started: number, reply: Reply): Reply {
    this.metrics.request(transport, name, reply.ok ? 'ok' : reply.error.code, performance.now() - started);
    return reply;
  }

  private dispatch(principal: Principal, name: OperationName, args: Record<string, unknown>, finish: (reply: Reply) => void): void {
    const refusal = this.refusal(principal, name, args);
    if (refusal) return finish({ ok: false, error: refusal });
    if (name === 'reserve' || name === 'reserveCart') {
      const bound = bindChannel(principal, args);
      if (bound.error) return finish({ ok: false, error: bound.error });
      args = bound.args;
    }
    if (name === 'reserveCart') {
      reserveCart(this.engine, args).then(finish, (err: unknown) => this.failed(name, finish, err));
      return;
    }

    const spec = OPERATIONS[name];
    // `args` is this request's own object (decoded from its frame or body), so it becomes the
    // command in place rather than being copied once more.
    const command = args;
    command.type = spec.command;
    // A channel's key acts only on its channel's reservations; admin keys on all.
    if (spec.channelScoped && !principal.scopes.has('admin') && principal.channel !== null) command.asChannel = principal.channel;
    this.engine.executeThen(command as unknown as Command, finish);
  }

  /** Why the request is refused before it reaches a shard (limits, scope, rate, reserved fields), or null. */
  private refusal(principal: Principal, name: OperationName, args: Record<string, unknown>): ErrorBody | null {
    const spec = OPERATIONS[name];
    const lines = name === 'reserveCart' && Array.isArray(args.lines) ? args.lines.length : 1;
    if (lines > this.config.gateway.cartLinesMax) {
      return errorBody('VALIDATION_FAILED', `a cart holds at most ${this.config.gateway.cartLinesMax} lines`, { cartLinesMax: this.config.gateway.cartLinesMax });
    }
    const refused = this.admit(principal, spec.scope, Math.max(1, lines));
    if (refused) return refused;
    if ('asChannel' in args) return errorBody('VALIDATION_FAILED', 'asChannel is set by the gateway', { unknownField: 'asChannel' });
    if (name === 'release' && typeof args.reason === 'string' && args.reason.startsWith(RESERVED_REASON_PREFIX)) {
      return errorBody('VALIDATION_FAILED', `release reasons starting "${RESERVED_REASON_PREFIX}" are Stockade's own`, { field: 'reason' });
    }
    if (spec.backOffice && principal.channel !== null && !principal.scopes.has('admin')) {
      return errorBody('FORBIDDEN', "the operation shows every channel's reservations; it needs a key without a channel", { keyChannel: principal.channel });
    }
    return null;
  }
}

/** A channel key reserves for its own channel: it may omit `channel`, never name another. */
function bindChannel(principal: Principal, args: Record<string, unknown>): { args: Record<string, unknown>; error?: ErrorBody } {
  if (principal.channel === null) return { args };
  if (args.channel === undefined) return { args: { ...args, channel: principal.channel } };
  if (args.channel !== principal.channel) {
    return { args, error: errorBody('FORBIDDEN', 'the API key reserves for its own channel only', { keyChannel: principal.channel }) };
  }
  return { args };
}
