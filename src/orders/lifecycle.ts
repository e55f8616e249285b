// The order lifecycle as a pure transition, like the SKU actor (src/actors/sku.ts):
//
//   decide(order, command, now) -> events, or an error that changes nothing
//   evolve(order, event)        -> the next order (a copy: orders are small and few per turn)
//
// The service (service.ts) does the I/O around it: it reserves, commits and releases stock in
// the engine first, then asks decide whether the outcome may be recorded, and writes the events.
//
//   RECEIVED ──reserve──► RESERVED ──confirm──► CONFIRMED ──ship──► SHIPPED
//      │  ╲                 │  (refused while held)  │
//      │   ╲preorder        │                        │
//      │    ▼               ▼                        ▼
//      │  PRE_ORDER ──fill──► RESERVED     cancel from any state but SHIPPED ──► CANCELLED
//      ▼                                                                         │
//   PENDING_BACKORDER ◄──────────────────── backorder (held or cancelled) ◄──────┘
//      └──fill──► RESERVED
//
// A repeat of a transition the order has already made (confirm when CONFIRMED, ship when
// SHIPPED, cancel when CANCELLED, pause when paused, resume when running) decides no events: the
// caller's retry is answered with the order as it is.

import { errorBody, type ErrorBody } from '../errors.js';
import type { Estimate, Hold, LineAvailability, Order, OrderEvent, OrderState } from './model.js';

export type OrderCommand =
  | { type: 'receive'; order: Order }
  | { type: 'reserve'; reservationIds: string[]; via: 'placement' | 'backorder' | 'preorder' }
  | { type: 'hold'; hold: Hold }
  | { type: 'confirm' }
  | { type: 'ship' }
  | { type: 'cancel'; reason: string }
  | { type: 'backorder'; seq: number; priority: number; estimate: Estimate }
  | { type: 'preorder'; seq: number; priority: number; estimate: Estimate }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reestimate'; estimate: Estimate }
  | { type: 'remind'; due: number[]; text: string }
  | { type: 'clearHold' }
  | { type: 'notify'; kind: 'unavailable' | 'backorder_filled' | 'preorder_filled'; text: string; lines?: LineAvailability[] };

export type Decision = { ok: true; events: OrderEvent[] } | { ok: false; error: ErrorBody };

function illegal(order: Order, action: string): Decision {
  return {
    ok: false,
    error: errorBody('ILLEGAL_ORDER_TRANSITION', `cannot ${action} an order in state ${order.state}${order.queue?.paused ? ' (paused)' : ''}`, {
      orderId: order.id,
      state: order.state,
      action,
    }),
  };
}

const ok = (...events: OrderEvent[]): Decision => ({ ok: true, events });

function sameEstimate(a: Estimate | null, b: Estimate): boolean {
  return a !== null && a.availableAt === b.availableAt && a.deliveryFrom === b.deliveryFrom && a.deliveryTo === b.deliveryTo;
}

export function decide(order: Order | null, command: OrderCommand, now: number): Decision {
  if (command.type === 'receive') {
    if (order !== null) return illegal(order, 'receive');
    return ok({ type: 'OrderReceived', at: now, order: command.order });
  }
  if (order === null) return { ok: false, error: errorBody('ORDER_NOT_FOUND') };
  const s: OrderState = order.state;
  switch (command.type) {
    case 'reserve': {
      if (command.reservationIds.length !== order.lines.length) return illegal(order, 'reserve part of');
      const reserved: OrderEvent = { type: 'OrderReserved', at: now, reservationIds: command.reservationIds, via: command.via };
      if (s === 'RECEIVED' && command.via === 'placement') return ok(reserved);
      if (s === 'PENDING_BACKORDER' && command.via === 'backorder') return ok(reserved);
      if (s === 'PRE_ORDER' && command.via === 'preorder' && !order.queue!.paused) return ok(reserved);
      return illegal(order, `fill (${command.via})`);
    }
    case 'hold':
      if (s === 'RECEIVED' || s === 'RESERVED') return ok({ type: 'OrderHeld', at: now, hold: command.hold });
      return illegal(order, 'hold');
    case 'confirm':
      if (s === 'CONFIRMED') return ok();
      if (s !== 'RESERVED' && !(s === 'RECEIVED' && order.hold !== null)) return illegal(order, 'confirm');
      if (order.hold !== null) {
        return { ok: false, error: errorBody('ORDER_ON_HOLD', undefined, { orderId: order.id, lines: order.hold.lines }) };
      }
      return ok({ type: 'OrderConfirmed', at: now });
    case 'ship':
      if (s === 'SHIPPED') return ok();
      if (s !== 'CONFIRMED') return illegal(order, 'ship');
      return ok({ type: 'OrderShipped', at: now });
    case 'cancel':
      if (s === 'CANCELLED') return ok();
      if (s === 'SHIPPED') return illegal(order, 'cancel');
      return ok({ type: 'OrderCancelled', at: now, reason: command.reason });
    case 'backorder': {
      if (s === 'PENDING_BACKORDER') return ok();
      // A held order (its stock is out) or a cancelled one keeps the customer's intent as a backorder.
      const held = (s === 'RECEIVED' || s === 'RESERVED') && order.hold !== null;
      if (!held && s !== 'CANCELLED') return illegal(order, 'backorder');
      return ok({ type: 'OrderBackordered', at: now, seq: command.seq, priority: command.priority, estimate: command.estimate });
    }
    case 'preorder':
      if (s !== 'RECEIVED' || !order.preOrder || order.hold !== null) return illegal(order, 'pre-order');
      return ok({ type: 'OrderPreOrdered', at: now, seq: command.seq, priority: command.priority, estimate: command.estimate });
    case 'pause':
      if (order.queue === null) return illegal(order, 'pause');
      return order.queue.paused ? ok() : ok({ type: 'OrderPaused', at: now });
    case 'resume':
      if (order.queue === null) return illegal(order, 'resume');
      return order.queue.paused ? ok({ type: 'OrderResumed', at: now }) : ok();
    case 'reestimate':
      if (order.queue === null) return illegal(order, 're-estimate');
      return sameEstimate(order.estimate, command.estimate) ? ok() : ok({ type: 'OrderEstimateChanged', at: now, estimate: command.estimate });
    case 'remind':
      if (s !== 'PRE_ORDER') return illegal(order, 'remind');
      if (order.queue!.paused) return illegal(order, 'remind');
      {
        const due = command.due.filter((d) => !order.remindersSent.includes(d));
        if (due.length === 0) return ok();
        return ok({ type: 'CustomerNotified', at: now, kind: 'preorder_reminder', text: command.text, reminderDaysBefore: due });
      }
    case 'clearHold':
      return order.hold === null ? ok() : ok({ type: 'OrderHoldCleared', at: now });
    case 'notify': {
      const event: OrderEvent = { type: 'CustomerNotified', at: now, kind: command.kind, text: command.text };
      if (command.lines) event.lines = command.lines;
      return ok(event);
    }
  }
}

/** The order after one event. Never fails: decide has checked the event is legal. */
export function evolve(order: Order | null, event: OrderEvent): Order {
  if (event.type === 'OrderReceived') return { ...event.order, version: 1, updatedAt: event.at };
  if (order === null) throw new Error(`event ${event.type} for an order that does not exist`);
  const next: Order = { ...order, version: order.version + 1, updatedAt: event.at };
  switch (event.type) {
    case 'OrderReserved':
      next.state = 'RESERVED';
      next.reservationIds = event.reservationIds;
      next.hold = null;
      if (order.queue !== null) {
        next.fill = {
          kind: order.queue.kind,
          queuedAt: order.queue.since,
          promisedAt: order.queue.promised.availableAt,
          latestEstimateAt: order.estimate?.availableAt ?? order.queue.promised.availableAt,
          actualAt: event.at,
        };
      }
      next.queue = null;
      break;
    case 'OrderHeld':
      next.hold = event.hold;
      break;
    case 'OrderHoldCleared':
      next.hold = null;
      break;
    case 'OrderConfirmed':
      next.state = 'CONFIRMED';
      next.payment = { ...order.payment, status: 'captured' };
      break;
    case 'OrderShipped':
      next.state = 'SHIPPED';
      break;
    case 'OrderCancelled':
      next.state = 'CANCELLED';
      next.cancelReason = event.reason;
      next.reservationIds = [];
      next.queue = null;
      break;
    case 'OrderBackordered':
    case 'OrderPreOrdered':
      next.state = event.type === 'OrderBackordered' ? 'PENDING_BACKORDER' : 'PRE_ORDER';
      next.reservationIds = [];
      next.cancelReason = null;
      next.queue = {
        kind: event.type === 'OrderBackordered' ? 'backorder' : 'preorder',
        seq: event.seq,
        priority: event.priority,
        since: event.at,
        paused: false,
        promised: event.estimate,
      };
      next.estimate = event.estimate;
      break;
    case 'OrderPaused':
      next.queue = { ...order.queue!, paused: true };
      break;
    case 'OrderResumed':
      next.queue = { ...order.queue!, paused: false };
      break;
    case 'OrderEstimateChanged':
      next.estimate = event.estimate;
      break;
    case 'CustomerNotified':
      if (event.reminderDaysBefore !== undefined) next.remindersSent = [...order.remindersSent, ...event.reminderDaysBefore];
      break;
  }
  return next;
}

/** Apply a decision's events in order. */
export function evolveAll(order: Order | null, events: readonly OrderEvent[]): Order | null {
  let current = order;
  for (const event of events) current = evolve(current, event);
  return current;
}
