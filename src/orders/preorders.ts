// Pre-order planning, pure: the settings of a SKU, the availability estimate of a queued order,
// and which of a customer's pre-orders ship together.

import { DAY_MS } from './config.js';
import type { Estimate, Order } from './model.js';

/** One expected arrival from a production schedule (or a purchase order). */
export interface InboundBatch {
  at: number;
  quantity: number;
}

export interface PreorderSettings {
  enabled: boolean;
  /** Units that may be pre-ordered in all: the production run. */
  capacity: number;
  /** Expected arrivals, ascending by date. */
  schedule: InboundBatch[];
  /** Supplier lead time, used past the end of the schedule (or without one). */
  leadTimeDays: number | null;
  /** When the settings were last changed: the lead time counts from here without a schedule. */
  updatedAt: number;
}

/** What the order flow knows per SKU besides the engine's stock. */
export interface SkuOrderSettings {
  sku: string;
  preorder: PreorderSettings | null;
  /** Substitutes in order of preference. */
  substitutes: string[];
  /** Units of open and filled pre-orders (not cancelled): at most preorder.capacity. */
  preorderUnits: number;
}

export interface Shipping {
  shippingDaysMin: number;
  shippingDaysMax: number;
}

/** The expected availability date of the SKU: the first scheduled batch, else the lead time. */
export function expectedAvailability(settings: PreorderSettings | null, now: number, leadTimeDaysDefault: number): number {
  if (settings && settings.schedule.length > 0) return settings.schedule[0].at;
  const leadDays = settings?.leadTimeDays ?? leadTimeDaysDefault;
  return Math.max(now, settings?.updatedAt ?? now) + leadDays * DAY_MS;
}

/**
 * When `unitsThrough` units (the units queued ahead plus the order's own) will have arrived: the
 * first scheduled batch at which the cumulative inbound covers them. Past the schedule's end the
 * lead time runs from its last batch (another run); with no lead time, the last batch is the best
 * knowledge there is.
 */
export function availableAtFor(settings: PreorderSettings | null, unitsThrough: number, now: number, leadTimeDaysDefault: number): number {
  if (!settings || settings.schedule.length === 0) return expectedAvailability(settings, now, leadTimeDaysDefault);
  let inbound = 0;
  for (const batch of settings.schedule) {
    inbound += batch.quantity;
    if (inbound >= unitsThrough) return batch.at;
  }
  const last = settings.schedule[settings.schedule.length - 1].at;
  return settings.leadTimeDays === null ? last : last + settings.leadTimeDays * DAY_MS;
}

export function estimateFrom(availableAt: number, shipping: Shipping): Estimate {
  return {
    availableAt,
    deliveryFrom: availableAt + shipping.shippingDaysMin * DAY_MS,
    deliveryTo: availableAt + shipping.shippingDaysMax * DAY_MS,
  };
}

/** The customer's key for shipping together: same channel, account, customer and address. */
function shipTogetherKey(order: Order): string {
  const a = order.shippingAddress;
  const address = a ? [a.name, a.line1, a.city, a.postalCode, a.country].map((p) => (p ?? '').trim().toLowerCase()).join('|') : '';
  return `${order.channel}\u0000${order.account}\u0000${order.customer.id}\u0000${address}`;
}

export interface Shipment {
  /** The id of the group's earliest order. */
  shipmentId: string;
  orderIds: string[];
  /** The latest availability of its orders: the shipment leaves when all are in. */
  availableAt: number;
}

/**
 * Merge rules: pre-orders (PRE_ORDER, not paused, and not pickups without an address) of one
 * customer with the same channel, account and shipping address, whose expected availability lies
 * within `mergeWindowMs` of the group's first, ship as one shipment. Everything else ships alone.
 */
export function mergeShipments(orders: readonly Order[], mergeWindowMs: number): Shipment[] {
  const groups = new Map<string, Order[]>();
  const alone: Order[] = [];
  for (const order of orders) {
    if (order.state !== 'PRE_ORDER' || order.estimate === null) continue;
    if (order.queue?.paused || order.shippingAddress === null) {
      alone.push(order);
      continue;
    }
    const key = shipTogetherKey(order);
    const list = groups.get(key);
    if (list) list.push(order);
    else groups.set(key, [order]);
  }
  const shipments: Shipment[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.estimate!.availableAt - b.estimate!.availableAt || (a.queue?.seq ?? 0) - (b.queue?.seq ?? 0));
    let current: Shipment | null = null;
    let firstAt = 0;
    for (const order of list) {
      const at = order.estimate!.availableAt;
      if (current && at - firstAt <= mergeWindowMs) {
        current.orderIds.push(order.id);
        current.availableAt = Math.max(current.availableAt, at);
        continue;
      }
      current = { shipmentId: order.id, orderIds: [order.id], availableAt: at };
      firstAt = at;
      shipments.push(current);
    }
  }
  for (const order of alone) shipments.push({ shipmentId: order.id, orderIds: [order.id], availableAt: order.estimate!.availableAt });
  return shipments.sort((a, b) => a.availableAt - b.availableAt || (a.shipmentId < b.shipmentId ? -1 : 1));
}
