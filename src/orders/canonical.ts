// The canonical order: what every channel adapter (src/streams/adapters/) produces from its
// native payload and what the order flow (src/orders/) consumes. JSON Schema:
// docs/schemas/canonical-order.schema.json; both change together. Every adapter's output is
// checked against that schema (src/streams/adapters/schema.ts), so an order reaching OrderSink
// has: placedAt in UTC, money as integer minor units, line ids unique within the order, SKUs
// matching the SKU pattern, quantities 1..quantityPerLineMax. docs/channel-orders.md maps each
// channel's fields onto it.

import type { ErrorBody } from '../errors.js';

export interface CanonicalOrderLine {
  /** The line's id in the channel (Shopify line item id, Amazon OrderItemId, Square uid …). */
  lineId: string;
  sku: string;
  quantity: number;
  /** Unit price in minor units (cents) of the order's currency, when the channel gives one. */
  unitPriceMinor: number | null;
  title: string | null;
}

export interface CanonicalOrder {
  /** The channel the order came from: shopify, amazon, pos, web … (the subject's token). */
  channel: string;
  /** The account (shop, seller, merchant/location) within the channel. */
  account: string;
  /** The order's id in the channel; (channel, account, externalId) is unique. */
  externalId: string;
  customer: {
    id: string;
    email: string | null;
    name: string | null;
    /** Priority tier: vip is served before standard when stock is short. */
    tier: 'vip' | 'standard';
  };
  currency: string | null;
  /** Total in minor units, when the channel gives one. */
  totalMinor: number | null;
  lines: CanonicalOrderLine[];
  payment: {
    /** The payment authorisation to keep while the order is held. */
    authorizationId: string | null;
    status: 'authorized' | 'captured' | 'pending' | 'none';
  };
  shippingAddress: {
    name: string | null;
    line1: string | null;
    city: string | null;
    postalCode: string | null;
    country: string | null;
  } | null;
  /** ISO-8601 time the customer placed the order. */
  placedAt: string;
  /** The customer asked for a pre-order (an item not yet available). */
  preOrder: boolean;
}

/** What the order flow answers when an order enters it. */
export type PlaceOrderResult = { ok: true; orderId: string; state: string; replayed?: true } | { ok: false; error: ErrorBody };

/**
 * The order flow's entry point, for the HTTP API and the channel-order consumer alike. Idempotent
 * on (channel, account, externalId): a repeat answers the first result and changes nothing.
 * Resolves once the order's first state is durable.
 */
export interface OrderSink {
  placeOrder(order: CanonicalOrder): Promise<PlaceOrderResult>;
}
