// HTTP routes of the order flow. Every route authenticates by API key; a channel's key acts on
// its own channel's orders only (another channel's order answers ORDER_NOT_FOUND: its existence
// is not told); pre-order and substitute settings and the accuracy report need the admin scope.
// Bodies are validated by the order service's precompiled ajv validators (src/orders/validation.ts).

import type uWS from 'uWebSockets.js';
import { SKU_PATTERN } from '../actors/validate.js';
import type { Scope } from '../config.js';
import { errorBody, type ErrorBody } from '../errors.js';
import type { OrderAnswer, OrderService } from '../orders/service.js';
import { checkCancelBody, checkEmptyBody } from '../orders/validation.js';
import { isPrincipal, keyFromHeaders, requireScope, type KeyRing, type Principal } from './auth.js';
import { readJson, send, sendError, type Exchange } from './http.js';
import type { Operations } from './operations.js';

export interface OrderRoutesDeps {
  service: OrderService;
  keys: KeyRing;
  /** Largest request body accepted (http.bodyBytesMax). */
  bodyBytesMax: number;
  /**
   * The gateway's admission (scope, then the key's rate limit), so order calls spend the same
   * tokens as every other call of the key; requireScope alone when absent (tests of the routes).
   */
  admit?: (principal: Principal, scope: Scope) => ErrorBody | null;
}

const SKU = new RegExp(SKU_PATTERN);

interface Call {
  ex: Exchange;
  principal: Principal;
  params: string[];
  query: URLSearchParams;
}

type Handler = (call: Call, body: Record<string, unknown>) => Promise<void> | void;

/**
 * The order routes as the process serves them: behind the gateway's own admission, so an order
 * call is scope-checked and spends one token of its key's rate like any other call.
 */
export function orderRoutesBehindGateway(service: OrderService, bodyBytesMax: number) {
  return (app: uWS.TemplatedApp, keys: KeyRing, operations: Operations): void =>
    installOrderRoutes(app, { service, keys, bodyBytesMax, admit: (principal, scope) => operations.admit(principal, scope, 1) });
}

export function installOrderRoutes(app: uWS.TemplatedApp, deps: OrderRoutesDeps): void {
  const { service } = deps;

  const route = (method: 'get' | 'post' | 'put', pattern: string, paramCount: number, scope: Scope, handle: Handler) => {
    app[method](pattern, (res, req) => {
      const ex: Exchange = { res, aborted: false };
      res.onAborted(() => {
        ex.aborted = true;
      });
      // uWS requests are valid only inside this handler: read everything now.
      const principal = deps.keys.authenticate(keyFromHeaders(req.getHeader('authorization'), req.getHeader('x-api-key')));
      const query = new URLSearchParams(req.getQuery() ?? '');
      const params: string[] = [];
      let badParameter = false;
      for (let i = 0; i < paramCount; i++) {
        try {
          params.push(decodeURIComponent(req.getParameter(i) ?? ''));
        } catch {
          badParameter = true;
        }
      }
      if (!isPrincipal(principal)) return sendError(ex, principal);
      const denied = deps.admit ? deps.admit(principal, scope) : requireScope(principal, scope);
      if (denied) return sendError(ex, denied);
      if (badParameter) return sendError(ex, errorBody('VALIDATION_FAILED', 'a path parameter is not valid percent-encoding'));
      const run = (body: Record<string, unknown>) =>
        Promise.resolve(handle({ ex, principal, params, query }, body)).catch((err: Error) => sendError(ex, errorBody('INTERNAL', undefined, { reason: err.message })));
      if (method === 'get') void run({});
      else void readJson(ex, deps.bodyBytesMax).then((body) => body && run(body));
    });
  };

  const answer = (ex: Exchange, result: OrderAnswer, okStatus = 200) => {
    if (!result.ok) return sendError(ex, result.error);
    send(ex, result.replayed ? 200 : okStatus, result.order, 'application/json', result.replayed ? { 'idempotent-replayed': 'true' } : {});
  };
  const invalid = (ex: Exchange, error: ErrorBody) => sendError(ex, error);
  const skuParam = (ex: Exchange, sku: string): boolean => {
    if (SKU.test(sku)) return true;
    sendError(ex, errorBody('INVALID_SKU', undefined, { sku }));
    return false;
  };

  route('post', '/v1/orders', 0, 'reserve', async ({ ex, principal }, body) => answer(ex, await service.place(body, principal.channel), 201));
  route('get', '/v1/orders/:id', 1, 'read', ({ ex, principal, params: [id] }) => answer(ex, service.get(id, principal.channel)));

  const action = (
    name: string,
    act: (id: string, channel: string | null, body: Record<string, unknown>) => Promise<OrderAnswer>,
    check: (body: unknown) => { ok: true } | { ok: false; error: ErrorBody } = checkEmptyBody,
  ) =>
    route('post', `/v1/orders/:id/${name}`, 1, 'reserve', async ({ ex, principal, params: [id] }, body) => {
      const checked = check(body);
      if (!checked.ok) return invalid(ex, checked.error);
      answer(ex, await act(id, principal.channel, body));
    });
  action('confirm', (id, channel) => service.confirm(id, channel));
  action('ship', (id, channel) => service.ship(id, channel));
  action('cancel', (id, channel, body) => service.cancel(id, (body.reason as string | undefined) ?? 'cancelled', channel), checkCancelBody);
  action('backorder', (id, channel) => service.backorder(id, channel));
  action('pause', (id, channel) => service.pause(id, channel));
  action('resume', (id, channel) => service.resume(id, channel));

  route('put', '/v1/skus/:sku/preorder', 1, 'admin', async ({ ex, params: [sku] }, body) => {
    if (!skuParam(ex, sku)) return;
    const result = await service.setPreorder(sku, body);
    if (result.ok) send(ex, 200, result.value);
    else sendError(ex, result.error);
  });
  route('put', '/v1/skus/:sku/substitutes', 1, 'admin', async ({ ex, params: [sku] }, body) => {
    if (!skuParam(ex, sku)) return;
    const result = await service.setSubstitutes(sku, body);
    if (result.ok) send(ex, 200, result.value);
    else sendError(ex, result.error);
  });
  // A channel's key sees its own channel's entries (with their place in the whole queue).
  route('get', '/v1/skus/:sku/preorders', 1, 'read', ({ ex, principal, params: [sku] }) => {
    if (!skuParam(ex, sku)) return;
    const entries = service.preordersOf(sku).filter((e) => principal.channel === null || e.channel === principal.channel);
    send(ex, 200, { sku, settings: service.skuSettings(sku), preorders: entries });
  });
  route('get', '/v1/customers/:id/shipments', 1, 'read', ({ ex, principal, params: [customerId] }) => {
    send(ex, 200, { customerId, shipments: service.shipmentsOf(customerId, principal.channel) });
  });
  route('get', '/v1/reports/availability-accuracy', 0, 'admin', ({ ex }) => send(ex, 200, service.accuracyReport()));
}
