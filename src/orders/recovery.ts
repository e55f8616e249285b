// Invariants of the order store, checked when the service opens it: a store that breaks one
// refuses to start (OrderRecoveryError) rather than serve orders from a state no transition
// could have produced.

import { ORDER_STATES, type Order } from './model.js';
import { ORDER_ID_PATTERN } from './validation.js';

export class OrderRecoveryError extends Error {
  constructor(message: string) {
    super(`order store failed its recovery check: ${message}`);
    this.name = 'OrderRecoveryError';
  }
}

/** A pre-order takes capacity from placement until it is cancelled (filled and shipped ones keep it). */
export function holdsPreorderCapacity(order: Order): boolean {
  return order.preOrder && order.state !== 'CANCELLED' && (order.state === 'PRE_ORDER' || order.fill?.kind === 'preorder');
}

/** Invariants of one stored order, checked at recovery. */
export function checkOrder(order: Order): void {
  const fail = (what: string) => {
    throw new OrderRecoveryError(`order ${order.id}: ${what}`);
  };
  if (!ORDER_ID_PATTERN.test(order.id)) fail('malformed id');
  if (!ORDER_STATES.includes(order.state)) fail(`unknown state ${String(order.state)}`);
  if (!(order.version >= 1)) fail(`version ${order.version}`);
  const waits = order.state === 'PENDING_BACKORDER' || order.state === 'PRE_ORDER';
  if (waits !== (order.queue !== null)) fail(`state ${order.state} with queue ${JSON.stringify(order.queue)}`);
  const holds = order.state === 'RESERVED' || order.state === 'CONFIRMED' || order.state === 'SHIPPED';
  if (holds && order.reservationIds.length !== order.lines.length) fail(`state ${order.state} with ${order.reservationIds.length} reservations for ${order.lines.length} lines`);
  if (!holds && order.reservationIds.length !== 0) fail(`state ${order.state} still names reservations`);
  if (order.state === 'PRE_ORDER' && !order.preOrder) fail('PRE_ORDER without the pre-order flag');
  if (order.hold !== null && order.state !== 'RECEIVED' && order.state !== 'RESERVED' && order.state !== 'PENDING_BACKORDER' && order.state !== 'CANCELLED') {
    fail(`hold kept in state ${order.state}`);
  }
}
