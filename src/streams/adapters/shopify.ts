// Shopify: the orders/create webhook body, as Shopify posts it, forwarded unchanged to
// orders.<channel>.created by the webhook bridge. The account is the shop: the bridge copies
// Shopify's X-Shopify-Shop-Domain header onto the NATS message.

import type { CanonicalOrder } from '../../orders/canonical.js';
import { array, currency, decimalToMinor, country, fail, id, object, optionalObject, optionalText, quantity, sku, text, timestamp } from './fields.js';
import type { AccountSettings, AdapterInput, ChannelAdapter, DraftLine, DraftOrder } from './types.js';

export const SHOPIFY_SHOP_HEADER = 'X-Shopify-Shop-Domain';

/** financial_status → payment status; the rest (refunded, voided …) cannot be placed as new. */
const PAYMENT_BY_FINANCIAL_STATUS: Record<string, CanonicalOrder['payment']['status']> = {
  pending: 'pending',
  authorized: 'authorized',
  partially_paid: 'captured',
  paid: 'captured',
};
const NOT_PLACEABLE_STATUSES = new Set(['voided', 'refunded', 'partially_refunded', 'expired']);

/** Shopify keeps tags as one comma-separated string. */
function tagsOf(v: unknown, field: string): string[] {
  const tags = optionalText(v, field, 4096);
  return tags ? tags.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean) : [];
}

const hasAny = (tags: string[], wanted: readonly string[]) => wanted.some((w) => tags.includes(w.toLowerCase()));

function toDraft(input: AdapterInput, account: string, settings: AccountSettings): DraftOrder {
  const o = object(input.payload, '(root)');
  const externalId = id(o.id, 'id');
  if (o.cancelled_at !== undefined && o.cancelled_at !== null) fail('ORDER_NOT_PLACEABLE', 'cancelled_at', 'the order is cancelled');
  const financialStatus = text(o.financial_status, 'financial_status', 32);
  if (NOT_PLACEABLE_STATUSES.has(financialStatus)) fail('ORDER_NOT_PLACEABLE', 'financial_status', `"${financialStatus}"`);
  const paymentStatus = PAYMENT_BY_FINANCIAL_STATUS[financialStatus];
  if (!paymentStatus) fail('VALIDATION_FAILED', 'financial_status', `unknown status "${financialStatus.slice(0, 32)}"`);
  const code = currency(o.currency, 'currency');

  const items = array(o.line_items, 'line_items');
  if (items.length > settings.linesPerOrderMax) fail('ORDER_TOO_MANY_LINES', 'line_items', `${items.length} lines, linesPerOrderMax ${settings.linesPerOrderMax}`);
  const lines: DraftLine[] = items.map((raw, i) => {
    const path = `line_items[${i}]`;
    const item = object(raw, path);
    return {
      lineId: id(item.id, `${path}.id`),
      sku: sku(item.sku, `${path}.sku`),
      quantity: quantity(item.quantity, `${path}.quantity`, settings.quantityPerLineMax),
      unitPriceMinor: item.price === undefined || item.price === null ? null : decimalToMinor(item.price, code, `${path}.price`),
      title: optionalText(item.title, `${path}.title`),
      path,
    };
  });

  const customer = optionalObject(o.customer, 'customer');
  const customerTags = customer ? tagsOf(customer.tags, 'customer.tags') : [];
  const orderTags = tagsOf(o.tags, 'tags');
  const first = customer ? optionalText(customer.first_name, 'customer.first_name', 127) : null;
  const last = customer ? optionalText(customer.last_name, 'customer.last_name', 128) : null;
  const email = optionalText(o.email, 'email', 320) ?? (customer ? optionalText(customer.email, 'customer.email', 320) : null);

  const ship = optionalObject(o.shipping_address, 'shipping_address');
  const shipName = ship ? (optionalText(ship.name, 'shipping_address.name', 256) ?? ([optionalText(ship.first_name, 'shipping_address.first_name', 127), optionalText(ship.last_name, 'shipping_address.last_name', 128)].filter(Boolean).join(' ') || null)) : null;

  return {
    channel: input.channel,
    account,
    externalId,
    customer: {
      // A guest checkout has no customer record: the order stands in for the customer.
      id: customer ? id(customer.id, 'customer.id') : `guest:${externalId}`,
      email,
      name: [first, last].filter(Boolean).join(' ') || null,
      tier: hasAny(customerTags, settings.vipTags) || hasAny(orderTags, settings.vipTags) ? 'vip' : 'standard',
    },
    currency: code,
    totalMinor: o.total_price === undefined || o.total_price === null ? null : decimalToMinor(o.total_price, code, 'total_price'),
    lines,
    payment: {
      // Shopify captures an authorisation through the order itself (a capture transaction on
      // the order), so the order id is the reference to keep while the order is held.
      authorizationId: paymentStatus === 'authorized' ? externalId : null,
      status: paymentStatus,
    },
    shippingAddress: ship
      ? {
          name: shipName,
          line1: optionalText(ship.address1, 'shipping_address.address1', 256),
          city: optionalText(ship.city, 'shipping_address.city', 128),
          postalCode: optionalText(ship.zip, 'shipping_address.zip', 32),
          country: country(ship.country_code),
        }
      : null,
    placedAt: timestamp(o.created_at, 'created_at'),
    preOrder: hasAny(orderTags, settings.preOrderTags),
  };
}

export const shopifyAdapter: ChannelAdapter = {
  name: 'shopify',
  accountSource: `header ${SHOPIFY_SHOP_HEADER}`,
  account(input) {
    const shop = input.header(SHOPIFY_SHOP_HEADER);
    if (!shop) fail('VALIDATION_FAILED', `header ${SHOPIFY_SHOP_HEADER}`, 'missing: the shop the order belongs to');
    return text(shop, `header ${SHOPIFY_SHOP_HEADER}`, 128);
  },
  toDraft,
};
