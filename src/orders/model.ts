// The order as Stockade keeps it, and the events that change it. Plain data only: orders and
// events are written to the order WAL with msgpackr and published as JSON.

import type { CanonicalOrder, CanonicalOrderLine } from './canonical.js';

export type OrderState = 'RECEIVED' | 'RESERVED' | 'CONFIRMED' | 'SHIPPED' | 'CANCELLED' | 'PENDING_BACKORDER' | 'PRE_ORDER';

export const ORDER_STATES: readonly OrderState[] = ['RECEIVED', 'RESERVED', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'PENDING_BACKORDER', 'PRE_ORDER'];

/** What a customer is told about a line that cannot be served now. */
export type LineStatus = 'OUT_OF_STOCK' | 'FLAGGED_OUT_OF_STOCK' | 'UNKNOWN_SKU' | 'RESERVATION_LOST';

export interface SubstituteOffer {
  sku: string;
  available: number;
}

export interface LineAvailability {
  line: number;
  sku: string;
  status: LineStatus;
  available: number;
  /** When stock is expected back, if anyone knows (epoch ms). */
  expectedAt: number | null;
  /** Substitutes of the SKU that are in stock now, in the SKU's order of preference. */
  substitutes: SubstituteOffer[];
}

/** Completion halted: the payment authorisation is kept and confirmation is refused. */
export interface Hold {
  since: number;
  lines: LineAvailability[];
}

export interface Estimate {
  /** When the order's units are expected to be in stock (epoch ms). */
  availableAt: number;
  deliveryFrom: number;
  deliveryTo: number;
}

/** A place in the backorder queue or in the pre-order queue of each of the order's SKUs. */
export interface QueuePlace {
  kind: 'backorder' | 'preorder';
  /** Arrival order across the service; kept through pause and resume. */
  seq: number;
  /** Higher first (vip before standard); pre-order queues are served by seq alone. */
  priority: number;
  since: number;
  paused: boolean;
  /** The estimate given when the order entered the queue (what the customer was promised). */
  promised: Estimate;
}

/** Estimated against actual availability of a filled backorder or pre-order. */
export interface FillRecord {
  kind: 'backorder' | 'preorder';
  queuedAt: number;
  promisedAt: number;
  latestEstimateAt: number;
  actualAt: number;
}

export interface Order {
  id: string;
  /** Bumped by every event; `<id>.<version>` is the event's id. */
  version: number;
  state: OrderState;
  channel: string;
  account: string;
  externalId: string;
  customer: CanonicalOrder['customer'];
  currency: string | null;
  totalMinor: number | null;
  lines: CanonicalOrderLine[];
  payment: CanonicalOrder['payment'];
  shippingAddress: CanonicalOrder['shippingAddress'];
  placedAt: string;
  preOrder: boolean;
  receivedAt: number;
  updatedAt: number;
  /** One reservation per line while the order holds stock (RESERVED, CONFIRMED); else empty. */
  reservationIds: string[];
  hold: Hold | null;
  queue: QueuePlace | null;
  estimate: Estimate | null;
  /** Reminder intervals (days before the expected date) already sent or already past at placement. */
  remindersSent: number[];
  fill: FillRecord | null;
  cancelReason: string | null;
}

// ---- events ---------------------------------------------------------------------------------

interface EventBase {
  at: number;
}

export interface OrderReceived extends EventBase {
  type: 'OrderReceived';
  order: Order;
}
export interface OrderReserved extends EventBase {
  type: 'OrderReserved';
  reservationIds: string[];
  via: 'placement' | 'backorder' | 'preorder';
}
export interface OrderHeld extends EventBase {
  type: 'OrderHeld';
  hold: Hold;
}
export interface OrderHoldCleared extends EventBase {
  type: 'OrderHoldCleared';
}
export interface OrderConfirmed extends EventBase {
  type: 'OrderConfirmed';
}
export interface OrderShipped extends EventBase {
  type: 'OrderShipped';
}
export interface OrderCancelled extends EventBase {
  type: 'OrderCancelled';
  reason: string;
}
export interface OrderQueued extends EventBase {
  type: 'OrderBackordered' | 'OrderPreOrdered';
  seq: number;
  priority: number;
  estimate: Estimate;
}
export interface OrderPaused extends EventBase {
  type: 'OrderPaused';
}
export interface OrderResumed extends EventBase {
  type: 'OrderResumed';
}
export interface OrderEstimateChanged extends EventBase {
  type: 'OrderEstimateChanged';
  estimate: Estimate;
}
/** A message for the customer; a pre-order reminder also records its interval as sent. */
export interface CustomerNotified extends EventBase {
  type: 'CustomerNotified';
  kind: 'unavailable' | 'backorder_filled' | 'preorder_filled' | 'preorder_reminder';
  text: string;
  /** The reminder intervals this message covers (one message when a check finds several due). */
  reminderDaysBefore?: number[];
  lines?: LineAvailability[];
}

export type OrderEvent =
  | OrderReceived
  | OrderReserved
  | OrderHeld
  | OrderHoldCleared
  | OrderConfirmed
  | OrderShipped
  | OrderCancelled
  | OrderQueued
  | OrderPaused
  | OrderResumed
  | OrderEstimateChanged
  | CustomerNotified;

/** The `<event>` token of `orders.events.<event>.<orderId>`. */
export const EVENT_SUBJECT_TOKEN: Record<OrderEvent['type'], string> = {
  OrderReceived: 'received',
  OrderReserved: 'reserved',
  OrderHeld: 'held',
  OrderHoldCleared: 'hold_cleared',
  OrderConfirmed: 'confirmed',
  OrderShipped: 'shipped',
  OrderCancelled: 'cancelled',
  OrderBackordered: 'backordered',
  OrderPreOrdered: 'pre_ordered',
  OrderPaused: 'paused',
  OrderResumed: 'resumed',
  OrderEstimateChanged: 'estimate_changed',
  CustomerNotified: 'customer_notification',
};

/** Orders in these states hold nothing and wait for nothing (CANCELLED may still become a backorder). */
export function isClosed(state: OrderState): boolean {
  return state === 'SHIPPED' || state === 'CANCELLED';
}

/** A new order as it enters the flow: RECEIVED, version 0, nothing held yet. */
export function newOrder(id: string, c: CanonicalOrder, now: number): Order {
  return {
    id,
    version: 0,
    state: 'RECEIVED',
    channel: c.channel,
    account: c.account,
    externalId: c.externalId,
    customer: c.customer,
    currency: c.currency,
    totalMinor: c.totalMinor,
    lines: c.lines,
    payment: c.payment,
    shippingAddress: c.shippingAddress,
    placedAt: c.placedAt,
    preOrder: c.preOrder,
    receivedAt: now,
    updatedAt: now,
    reservationIds: [],
    hold: null,
    queue: null,
    estimate: null,
    remindersSent: [],
    fill: null,
    cancelReason: null,
  };
}
