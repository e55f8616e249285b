// Square (POS): the Order object (Orders API), as RetrieveOrder returns it; the bridge answers
// Square's order.created webhook (which carries ids only) by fetching the order and publishing it.
// The account is the order's location_id (the store), read from the payload.

import type { CanonicalOrder } from '../../orders/canonical.js';
import { array, country, currency, fail, minorAmount, object, optionalId, optionalObject, optionalText, quantity, sku, text, timestamp } from './fields.js';
import type { AccountSettings, AdapterInput, ChannelAdapter, DraftLine, DraftOrder } from './types.js';

const PLACEABLE_STATES = new Set(['OPEN', 'COMPLETED']);
const KNOWN_STATES = new Set(['OPEN', 'COMPLETED', 'CANCELED', 'DRAFT']);

/** A Money object: { amount: minor units, currency }. */
function money(v: unknown, field: string): { minor: number; currency: string } {
  const m = object(v, field);
  return { minor: minorAmount(m.amount, `${field}.amount`), currency: currency(m.currency, `${field}.currency`) };
}

function skuOf(item: Record<string, unknown>, path: string, settings: AccountSettings): string | null {
  switch (settings.skuSource) {
    case 'catalogObjectId':
      return sku(item.catalog_object_id, `${path}.catalog_object_id`);
    case 'variationName':
      return sku(item.variation_name, `${path}.variation_name`);
    case 'metadata': {
      const metadata = optionalObject(item.metadata, `${path}.metadata`);
      return metadata ? sku(metadata[settings.skuMetadataKey], `${path}.metadata.${settings.skuMetadataKey}`) : null;
    }
  }
}

/**
 * Tenders → payment. A card tender still AUTHORIZED is the authorisation to keep; captured cards,
 * cash and other tenders are paid; no live tender (an open ticket) is nothing tendered yet.
 */
function paymentOf(v: unknown): CanonicalOrder['payment'] {
  if (v === undefined || v === null) return { authorizationId: null, status: 'none' };
  let captured = false;
  for (const [i, raw] of array(v, 'tenders').entries()) {
    const tender = object(raw, `tenders[${i}]`);
    const card = optionalObject(tender.card_details, `tenders[${i}].card_details`);
    const status = card ? optionalText(card.status, `tenders[${i}].card_details.status`, 32) : null;
    if (status === 'AUTHORIZED') return { authorizationId: text(tender.id, `tenders[${i}].id`, 128), status: 'authorized' };
    if (status === 'VOIDED' || status === 'FAILED') continue;
    captured = true;
  }
  return captured ? { authorizationId: null, status: 'captured' } : { authorizationId: null, status: 'none' };
}

function shippingOf(v: unknown): CanonicalOrder['shippingAddress'] {
  if (v === undefined || v === null) return null;
  for (const [i, raw] of array(v, 'fulfillments').entries()) {
    const f = object(raw, `fulfillments[${i}]`);
    const details = optionalObject(f.shipment_details, `fulfillments[${i}].shipment_details`);
    const recipient = details ? optionalObject(details.recipient, `fulfillments[${i}].shipment_details.recipient`) : null;
    if (!recipient) continue;
    const at = `fulfillments[${i}].shipment_details.recipient`;
    const address = optionalObject(recipient.address, `${at}.address`);
    return {
      name: optionalText(recipient.display_name, `${at}.display_name`, 256),
      line1: address ? optionalText(address.address_line_1, `${at}.address.address_line_1`, 256) : null,
      city: address ? optionalText(address.locality, `${at}.address.locality`, 128) : null,
      postalCode: address ? optionalText(address.postal_code, `${at}.address.postal_code`, 32) : null,
      country: address ? country(address.country) : null,
    };
  }
  return null;
}

function toDraft(input: AdapterInput, account: string, settings: AccountSettings): DraftOrder {
  const o = object(input.payload, '(root)');
  const externalId = text(o.id, 'id', 128);
  const state = text(o.state, 'state', 32);
  if (!KNOWN_STATES.has(state)) fail('VALIDATION_FAILED', 'state', `unknown state "${state}"`);
  if (!PLACEABLE_STATES.has(state)) fail('ORDER_NOT_PLACEABLE', 'state', `"${state}"`);

  const total = o.total_money === undefined || o.total_money === null ? null : money(o.total_money, 'total_money');
  let code = total?.currency ?? null;
  const items = array(o.line_items, 'line_items');
  if (items.length > settings.linesPerOrderMax) fail('ORDER_TOO_MANY_LINES', 'line_items', `${items.length} lines, linesPerOrderMax ${settings.linesPerOrderMax}`);
  const lines: DraftLine[] = items.map((raw, i) => {
    const path = `line_items[${i}]`;
    const item = object(raw, path);
    const price = item.base_price_money === undefined || item.base_price_money === null ? null : money(item.base_price_money, `${path}.base_price_money`);
    if (price) {
      if (code !== null && price.currency !== code) fail('VALIDATION_FAILED', `${path}.base_price_money.currency`, `${price.currency} differs from the order's ${code}`);
      code = price.currency;
    }
    return {
      // uid is Square's line id; an order written without uids falls back to the line's position.
      lineId: optionalText(item.uid, `${path}.uid`, 128) ?? `line-${i}`,
      sku: skuOf(item, path, settings),
      // Square sends quantities as decimal strings ("2", or "1.5" for measured units).
      quantity: quantity(item.quantity, `${path}.quantity`, settings.quantityPerLineMax, true),
      unitPriceMinor: price?.minor ?? null,
      title: optionalText(item.name, `${path}.name`),
      path,
    };
  });

  const customerId = optionalId(o.customer_id, 'customer_id');
  return {
    channel: input.channel,
    account,
    externalId,
    customer: {
      // A walk-in sale has no customer: the order stands in, so walk-ins never share a limit.
      id: customerId ?? `walk-in:${externalId}`,
      email: null,
      name: null,
      tier: 'standard',
    },
    currency: code,
    totalMinor: total?.minor ?? null,
    lines,
    payment: paymentOf(o.tenders),
    shippingAddress: shippingOf(o.fulfillments),
    placedAt: timestamp(o.created_at, 'created_at'),
    preOrder: false,
  };
}

export const squareAdapter: ChannelAdapter = {
  name: 'square',
  accountSource: 'payload location_id',
  account(input) {
    const o = object(input.payload, '(root)');
    return text(o.location_id, 'location_id', 128);
  },
  toDraft,
};
