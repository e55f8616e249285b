// Amazon SP-API Orders (v0): the bridge that polls SP-API publishes one envelope per order,
// { order: <getOrder payload>, orderItems: <getOrderItems payload.OrderItems> }. SP-API payloads
// do not name the seller, so the bridge (which knows whose credentials it polled with) sets the
// Stockade-Account header to the seller id.

import type { CanonicalOrder } from '../../orders/canonical.js';
import { array, boolean, country, currency, decimalToMinor, fail, object, optionalObject, optionalText, quantity, sku, text, timestamp } from './fields.js';
import type { AccountSettings, AdapterInput, ChannelAdapter, DraftLine, DraftOrder } from './types.js';

export const ACCOUNT_HEADER = 'Stockade-Account';
/** The canonical customer id's rule (the schema's, which is the engine's rule for names). */
const CUSTOMER_ID = /^[A-Za-z0-9._:@/ -]{1,128}$/;

/**
 * OrderStatus → payment status. Amazon takes the payment itself: Pending orders are not yet
 * authorised; Unshipped ones are authorised and charged at shipment; shipped ones are charged.
 */
const PAYMENT_BY_ORDER_STATUS: Record<string, CanonicalOrder['payment']['status']> = {
  PendingAvailability: 'pending',
  Pending: 'pending',
  Unshipped: 'authorized',
  PartiallyShipped: 'authorized',
  Shipped: 'captured',
  InvoiceUnconfirmed: 'captured',
};
const NOT_PLACEABLE_STATUSES = new Set(['Canceled', 'Unfulfillable']);

function toDraft(input: AdapterInput, account: string, settings: AccountSettings): DraftOrder {
  const envelope = object(input.payload, '(root)');
  const o = object(envelope.order, 'order');
  const externalId = text(o.AmazonOrderId, 'order.AmazonOrderId', 64);
  const status = text(o.OrderStatus, 'order.OrderStatus', 32);
  if (NOT_PLACEABLE_STATUSES.has(status)) fail('ORDER_NOT_PLACEABLE', 'order.OrderStatus', `"${status}"`);
  const paymentStatus = PAYMENT_BY_ORDER_STATUS[status];
  if (!paymentStatus) fail('VALIDATION_FAILED', 'order.OrderStatus', `unknown status "${status}"`);

  // Pending orders may come without OrderTotal; the items' prices then carry the currency.
  const total = optionalObject(o.OrderTotal, 'order.OrderTotal');
  const items = array(envelope.orderItems, 'orderItems');
  if (items.length > settings.linesPerOrderMax) fail('ORDER_TOO_MANY_LINES', 'orderItems', `${items.length} lines, linesPerOrderMax ${settings.linesPerOrderMax}`);
  let code: string | null = total ? currency(total.CurrencyCode, 'order.OrderTotal.CurrencyCode') : null;
  const lines: DraftLine[] = items.map((raw, i) => {
    const path = `orderItems[${i}]`;
    const item = object(raw, path);
    const qty = quantity(item.QuantityOrdered, `${path}.QuantityOrdered`, settings.quantityPerLineMax);
    const price = optionalObject(item.ItemPrice, `${path}.ItemPrice`);
    let unitPriceMinor: number | null = null;
    if (price) {
      const itemCurrency = currency(price.CurrencyCode, `${path}.ItemPrice.CurrencyCode`);
      if (code !== null && itemCurrency !== code) fail('VALIDATION_FAILED', `${path}.ItemPrice.CurrencyCode`, `${itemCurrency} differs from the order's ${code}`);
      code = itemCurrency;
      // ItemPrice is the price of the whole line (unit price × QuantityOrdered).
      unitPriceMinor = Math.round(decimalToMinor(price.Amount, itemCurrency, `${path}.ItemPrice.Amount`) / qty);
    }
    return {
      lineId: text(item.OrderItemId, `${path}.OrderItemId`, 128),
      sku: sku(item.SellerSKU, `${path}.SellerSKU`),
      quantity: qty,
      unitPriceMinor,
      title: optionalText(item.Title, `${path}.Title`),
      path,
    };
  });

  const buyer = optionalObject(o.BuyerInfo, 'order.BuyerInfo');
  const email = buyer ? optionalText(buyer.BuyerEmail, 'order.BuyerInfo.BuyerEmail', 320) : null;
  const ship = optionalObject(o.ShippingAddress, 'order.ShippingAddress');
  const vip = boolean(o.IsPrime, 'order.IsPrime', false) || boolean(o.IsPremiumOrder, 'order.IsPremiumOrder', false);

  return {
    channel: input.channel,
    account,
    externalId,
    customer: {
      // Amazon gives no buyer id; its anonymised buyer email is stable per buyer and seller. An
      // email the id rule refuses (a '+' in a real address) falls back to the order.
      id: email !== null && CUSTOMER_ID.test(email) ? email : `amazon-order:${externalId}`,
      email,
      name: buyer ? optionalText(buyer.BuyerName, 'order.BuyerInfo.BuyerName', 256) : null,
      tier: vip ? 'vip' : 'standard',
    },
    currency: code,
    totalMinor: total && code ? decimalToMinor(total.Amount, code, 'order.OrderTotal.Amount') : null,
    lines,
    payment: { authorizationId: null, status: paymentStatus },
    shippingAddress: ship
      ? {
          name: optionalText(ship.Name, 'order.ShippingAddress.Name', 256),
          line1: optionalText(ship.AddressLine1, 'order.ShippingAddress.AddressLine1', 256),
          city: optionalText(ship.City, 'order.ShippingAddress.City', 128),
          postalCode: optionalText(ship.PostalCode, 'order.ShippingAddress.PostalCode', 32),
          country: country(ship.CountryCode),
        }
      : null,
    placedAt: timestamp(o.PurchaseDate, 'order.PurchaseDate'),
    preOrder: o.OrderType === 'Preorder',
  };
}

export const amazonAdapter: ChannelAdapter = {
  name: 'amazon',
  accountSource: `header ${ACCOUNT_HEADER} (the seller id)`,
  account(input) {
    const seller = input.header(ACCOUNT_HEADER);
    if (!seller) fail('VALIDATION_FAILED', `header ${ACCOUNT_HEADER}`, 'missing: the seller the order belongs to');
    return text(seller, `header ${ACCOUNT_HEADER}`, 128);
  },
  toDraft,
};
