// A cart: several lines, possibly on different shards, reserved together. Each line is an
// ordinary reserve with a key derived from the cart's key, so a retried cart retries each line
// idempotently. All-or-nothing: when a line fails, the lines that succeeded are released (with
// derived keys too) and the cart answers CART_REJECTED with every line's outcome.
//
// A retry returns the first answer. When any line answers `replayed`, the cart was seen before,
// so the current state of its lines decides: a line released by an earlier rollback means the
// first answer was CART_REJECTED, and any line this retry newly reserved is rolled back as well.

import { Ajv } from 'ajv';
import type { Engine } from '../actors/engine.js';
import type { Command, Reply, ReservationView } from '../actors/types.js';
import { IDEMPOTENCY_KEY_PATTERN, SKU_PATTERN } from '../actors/validate.js';
import { errorBody } from '../errors.js';

/** Release reasons Stockade writes itself; callers may not forge them (operations.ts). */
export const RESERVED_REASON_PREFIX = 'stockade:';
/** The release reason of a cart rollback. */
export const CART_ROLLBACK_REASON = `${RESERVED_REASON_PREFIX}cart-rollback`;

export interface CartLineOutcome {
  line: number;
  sku: string;
  ok: boolean;
  reservation?: ReservationView;
  error?: { code: string; message: string };
}

export interface CartAnswer {
  mode: 'allOrNothing' | 'partial';
  lines: CartLineOutcome[];
}

/** Cart keys leave room for the line suffix (".999.rollback") inside the 128-character key limit. */
const CART_KEY_PATTERN = IDEMPOTENCY_KEY_PATTERN.replace('{8,128}', '{8,112}');

const cartSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['idempotencyKey', 'orderId', 'customerId', 'channel', 'lines'],
  properties: {
    idempotencyKey: { type: 'string', pattern: CART_KEY_PATTERN },
    orderId: { type: 'string' },
    customerId: { type: 'string' },
    channel: { type: 'string' },
    mode: { enum: ['allOrNothing', 'partial'] },
    priority: { type: 'integer' },
    holdTtlMs: { type: 'integer' },
    lines: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity'],
        properties: {
          sku: { type: 'string', pattern: SKU_PATTERN },
          quantity: { type: 'integer' },
          locations: { type: 'array', items: { type: 'string' } },
          allowPartial: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const validateCart = new Ajv({ strict: true }).compile(cartSchema);

interface CartRequest {
  idempotencyKey: string;
  orderId: string;
  customerId: string;
  channel: string;
  mode?: 'allOrNothing' | 'partial';
  priority?: number;
  holdTtlMs?: number;
  lines: { sku: string; quantity: number; locations?: string[]; allowPartial?: boolean }[];
}

/** Reserve a cart; the caller (operations.ts) has checked its size against cartLinesMax. */
export async function reserveCart(engine: Engine, args: Record<string, unknown>): Promise<Reply> {
  if (!validateCart(args)) {
    const first = validateCart.errors![0];
    const params = first.params as { missingProperty?: string; additionalProperty?: string };
    const field = first.instancePath.split('/')[1] || params.missingProperty || '';
    // As for a reserve: a missing key is a shape problem, a malformed one has its own code.
    const code = field === 'idempotencyKey' && first.keyword !== 'required' ? 'INVALID_IDEMPOTENCY_KEY' : 'VALIDATION_FAILED';
    const details: Record<string, unknown> = { field, problem: first.message };
    if (params.additionalProperty) details.unknownField = params.additionalProperty;
    return { ok: false, error: errorBody(code, undefined, details) };
  }
  const cart = args as unknown as CartRequest;
  const mode = cart.mode ?? 'allOrNothing';
  const replies = await Promise.all(
    cart.lines.map((line, i) =>
      engine.execute({
        type: 'reserve',
        sku: line.sku,
        quantity: line.quantity,
        locations: line.locations,
        allowPartial: line.allowPartial,
        idempotencyKey: `${cart.idempotencyKey}.${i}`,
        orderId: cart.orderId,
        customerId: cart.customerId,
        channel: cart.channel,
        priority: cart.priority,
        holdTtlMs: cart.holdTtlMs,
      } as Command),
    ),
  );
  const outcomes: CartLineOutcome[] = replies.map((reply, i) =>
    reply.ok
      ? { line: i, sku: cart.lines[i].sku, ok: true, reservation: reply.value as ReservationView }
      : { line: i, sku: cart.lines[i].sku, ok: false, error: { code: reply.error.code, message: reply.error.message } },
  );
  if (mode === 'partial') return { ok: true, value: { mode, lines: outcomes } as never };

  let rejected = outcomes.some((o) => !o.ok);
  if (!rejected && replies.some((r) => r.ok && r.replayed)) {
    // Seen before: the first answer was a rejection if an earlier rollback released a line.
    const now = await Promise.all(outcomes.map((o) => engine.execute({ type: 'getReservation', reservationId: o.reservation!.reservationId })));
    rejected = now.some((r) => {
      if (!r.ok) return false;
      const view = r.value as ReservationView;
      return view.state === 'RELEASED' && view.endReason === CART_ROLLBACK_REASON;
    });
  }
  if (!rejected) return { ok: true, value: { mode, lines: outcomes } as never };

  await Promise.all(
    outcomes.map((o) =>
      o.ok
        ? engine.execute({
            type: 'release',
            reservationId: o.reservation!.reservationId,
            idempotencyKey: `${cart.idempotencyKey}.${o.line}.rollback`,
            reason: CART_ROLLBACK_REASON,
          })
        : null,
    ),
  );
  // Plain objects without undefined fields: msgpack clients must not meet extension types.
  const lines = outcomes.map((o) => (o.ok ? { line: o.line, sku: o.sku, ok: true, rolledBack: true } : { line: o.line, sku: o.sku, ok: false, error: o.error }));
  return { ok: false, error: errorBody('CART_REJECTED', undefined, { lines }) };
}
