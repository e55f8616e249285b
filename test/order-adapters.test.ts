// Channel adapters on realistic payloads (test/fixtures/orders/) and on each invalid case, with its
// stable code and the offending field; per-account settings that make one channel accept what
// another rejects; the canonical schema as the last word on every adapter's output; and the
// orderChannels configuration (ajv, unknown keys by name).

import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adaptOrder, type RawChannelOrder } from '../src/streams/adapters/index.js';
import { canonicalOrderSchema } from '../src/streams/adapters/schema.js';
import { buildOrderChannels, OrderChannelsConfigError, type OrderChannelsConfig } from '../src/streams/order-channels.js';
import type { CanonicalOrder } from '../src/orders/canonical.js';
import { ERRORS } from '../src/errors.js';
import type { AdaptResult } from '../src/streams/adapters/types.js';

const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(new URL(`./fixtures/orders/${name}`, import.meta.url), 'utf8'));

const channels = buildOrderChannels({
  shopify: { adapter: 'shopify' },
  'shopify-lenient': { adapter: 'shopify', settings: { skipLinesWithoutSku: true } },
  amazon: { adapter: 'amazon', settings: { currenciesAllowed: ['USD'] } },
  pos: {
    adapter: 'square',
    accounts: { LMETADATA01: { skuSource: 'metadata' }, LVARIATION1: { skuSource: 'variationName' } },
  },
  web: {
    adapter: 'canonical',
    unknownAccounts: 'reject',
    accounts: { 'eu-storefront': { currenciesAllowed: ['EUR'], requiredFields: ['customer.email', 'shippingAddress'] }, 'us-storefront': { linesPerOrderMax: 1 } },
  },
});

function raw(channel: string, payload: unknown, headers: Record<string, string> = {}): RawChannelOrder {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { channel, data: typeof payload === 'string' ? payload : JSON.stringify(payload), header: (name) => lower.get(name.toLowerCase()) };
}
const SHOP = { 'X-Shopify-Shop-Domain': 'arcade-outlet.myshopify.com' };
const SELLER = { 'Stockade-Account': 'A2EUQ1WTGCTBG2' };

function ok(result: AdaptResult): CanonicalOrder {
  if (!result.ok) throw new Error(`expected an order, got ${JSON.stringify(result.error)}`);
  return result.order;
}
function err(result: AdaptResult): { code: string; field: unknown } {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.order)}`);
  return { code: result.error.code, field: (result.error.details as { field?: unknown } | undefined)?.field };
}

// An independent validator on the published schema file: what the adapters emit must pass it.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const schemaValid = ajv.compile(canonicalOrderSchema);

describe('shopify orders/create', () => {
  it('maps the webhook body: minor units, VIP tag, authorisation kept, address, UTC time', () => {
    const order = ok(adaptOrder(raw('shopify', fixture('shopify-orders-create.json'), SHOP), channels));
    expect(order).toEqual({
      channel: 'shopify',
      account: 'arcade-outlet.myshopify.com',
      externalId: '5940139491234',
      customer: { id: '7215098335394', email: 'ada.lovelace@example.com', name: 'Ada Lovelace', tier: 'vip' },
      currency: 'USD',
      totalMinor: 27996,
      lines: [
        { lineId: '14567000001', sku: 'ARC-MINI-BLK', quantity: 2, unitPriceMinor: 9999, title: 'Arcade Cabinet Mini' },
        { lineId: '14567000002', sku: 'JOY-PRO', quantity: 1, unitPriceMinor: 5999, title: 'Joystick Pro' },
      ],
      payment: { authorizationId: '5940139491234', status: 'authorized' },
      shippingAddress: { name: 'Ada Lovelace', line1: '12 Analytical Row', city: 'Boston', postalCode: '02108', country: 'US' },
      placedAt: '2026-11-23T15:30:00.000Z',
      preOrder: false,
    });
    expect(schemaValid(order)).toBe(true);
  });

  it('marks a preorder tag, maps paid to captured, and a guest checkout stands in the order for the customer', () => {
    const body = fixture('shopify-orders-create-gift-card.json');
    delete body.customer;
    const order = ok(adaptOrder(raw('shopify-lenient', body, SHOP), channels));
    expect(order).toMatchObject({ preOrder: true, payment: { status: 'captured', authorizationId: null }, shippingAddress: null, currency: 'EUR' });
    expect(order.customer).toEqual({ id: 'guest:5940139491299', email: 'grace.hopper@example.com', name: null, tier: 'standard' });
  });

  it('rejects a SKU-less line where the account does not skip them, and skips it where it does', () => {
    const body = fixture('shopify-orders-create-gift-card.json');
    expect(err(adaptOrder(raw('shopify', body, SHOP), channels))).toEqual({ code: 'ORDER_LINE_WITHOUT_SKU', field: 'line_items[1].sku' });
    const order = ok(adaptOrder(raw('shopify-lenient', body, SHOP), channels));
    expect(order.lines.map((l) => l.sku)).toEqual(['PIN-FLIP-KIT']);
  });

  it('refuses an order whose only lines have no SKU even where they are skipped', () => {
    const body = fixture('shopify-orders-create-gift-card.json');
    body.line_items = [body.line_items[1]];
    expect(err(adaptOrder(raw('shopify-lenient', body, SHOP), channels))).toEqual({ code: 'ORDER_WITHOUT_LINES', field: 'lines' });
  });

  const mutate = (change: (b: Record<string, any>) => void) => {
    const body = fixture('shopify-orders-create.json');
    change(body);
    return adaptOrder(raw('shopify', body, SHOP), channels);
  };

  it.each([
    ['a zero quantity', (b: any) => (b.line_items[0].quantity = 0), 'INVALID_QUANTITY', 'line_items[0].quantity'],
    ['a negative quantity', (b: any) => (b.line_items[1].quantity = -2), 'INVALID_QUANTITY', 'line_items[1].quantity'],
    ['a fractional quantity', (b: any) => (b.line_items[0].quantity = 1.5), 'INVALID_QUANTITY', 'line_items[0].quantity'],
    ['a quantity above quantityPerLineMax', (b: any) => (b.line_items[0].quantity = 1001), 'INVALID_QUANTITY', 'line_items[0].quantity'],
    ['a quantity given as text', (b: any) => (b.line_items[0].quantity = 'two'), 'VALIDATION_FAILED', 'line_items[0].quantity'],
    ['a SKU with spaces', (b: any) => (b.line_items[0].sku = 'ARC MINI'), 'INVALID_SKU', 'line_items[0].sku'],
    ['a SKU that is a number', (b: any) => (b.line_items[0].sku = 42), 'VALIDATION_FAILED', 'line_items[0].sku'],
    ['an unknown currency', (b: any) => (b.currency = 'XYZ'), 'ORDER_CURRENCY_INVALID', 'currency'],
    ['a lower-case currency', (b: any) => (b.currency = 'usd'), 'ORDER_CURRENCY_INVALID', 'currency'],
    ['a price with more decimals than the currency', (b: any) => (b.line_items[0].price = '99.999'), 'ORDER_CURRENCY_INVALID', 'line_items[0].price'],
    ['a price given as a number', (b: any) => (b.line_items[0].price = 99.99), 'VALIDATION_FAILED', 'line_items[0].price'],
    ['a total that is not a decimal', (b: any) => (b.total_price = '279,96'), 'VALIDATION_FAILED', 'total_price'],
    ['line_items not an array', (b: any) => (b.line_items = { id: 1 }), 'VALIDATION_FAILED', 'line_items'],
    ['no line items', (b: any) => (b.line_items = []), 'ORDER_WITHOUT_LINES', 'lines'],
    ['a missing order id', (b: any) => delete b.id, 'VALIDATION_FAILED', 'id'],
    ['a customer that is a string', (b: any) => (b.customer = 'Ada'), 'VALIDATION_FAILED', 'customer'],
    ['a created_at without an offset', (b: any) => (b.created_at = '2026-11-23 10:30'), 'VALIDATION_FAILED', 'created_at'],
    ['an unknown financial_status', (b: any) => (b.financial_status = 'bartered'), 'VALIDATION_FAILED', 'financial_status'],
    ['a voided payment', (b: any) => (b.financial_status = 'voided'), 'ORDER_NOT_PLACEABLE', 'financial_status'],
    ['a cancelled order', (b: any) => (b.cancelled_at = '2026-11-23T10:31:00-05:00'), 'ORDER_NOT_PLACEABLE', 'cancelled_at'],
    ['two lines with one id', (b: any) => (b.line_items[1].id = b.line_items[0].id), 'VALIDATION_FAILED', 'line_items[1]'],
    ['more lines than linesPerOrderMax', (b: any) => (b.line_items = Array.from({ length: 101 }, (_, i) => ({ ...b.line_items[0], id: i + 1 }))), 'ORDER_TOO_MANY_LINES', 'line_items'],
  ])('refuses %s', (_name, change, code, field) => {
    expect(err(mutate(change))).toEqual({ code, field });
  });

  it('needs the shop header', () => {
    expect(err(adaptOrder(raw('shopify', fixture('shopify-orders-create.json')), channels))).toEqual({ code: 'VALIDATION_FAILED', field: 'header X-Shopify-Shop-Domain' });
  });
});

describe('amazon SP-API', () => {
  it('maps getOrder + getOrderItems: line price divided by quantity, Prime is vip, Unshipped is authorised', () => {
    const order = ok(adaptOrder(raw('amazon', fixture('amazon-order.json'), SELLER), channels));
    expect(order).toEqual({
      channel: 'amazon',
      account: 'A2EUQ1WTGCTBG2',
      externalId: '902-3159896-1390916',
      customer: { id: '5vlh04mgfmjh9h2@marketplace.amazon.com', email: '5vlh04mgfmjh9h2@marketplace.amazon.com', name: 'Alan Turing', tier: 'vip' },
      currency: 'USD',
      totalMinor: 17997,
      lines: [
        { lineId: '68828574383266', sku: 'ARC-MINI-BLK', quantity: 1, unitPriceMinor: 9999, title: 'Arcade Cabinet Mini - Black' },
        { lineId: '68828574383267', sku: 'JOY-PRO', quantity: 2, unitPriceMinor: 3999, title: 'Joystick Pro' },
      ],
      payment: { authorizationId: null, status: 'authorized' },
      shippingAddress: { name: 'Alan Turing', line1: '1 Bletchley Way', city: 'Seattle', postalCode: '98101', country: 'US' },
      placedAt: '2026-11-23T09:12:45.123Z',
      preOrder: false,
    });
    expect(schemaValid(order)).toBe(true);
  });

  it('maps Pending without a total (currency from the items), a Preorder type and a non-Prime buyer', () => {
    const body = fixture('amazon-order.json');
    body.order.OrderStatus = 'Pending';
    body.order.OrderType = 'Preorder';
    body.order.IsPrime = false;
    delete body.order.OrderTotal;
    delete body.order.BuyerInfo;
    const order = ok(adaptOrder(raw('amazon', body, SELLER), channels));
    expect(order).toMatchObject({ currency: 'USD', totalMinor: null, preOrder: true, payment: { status: 'pending' } });
    expect(order.customer).toEqual({ id: 'amazon-order:902-3159896-1390916', email: null, name: null, tier: 'standard' });
  });

  it("keeps a buyer email the customer-id rule refuses as the email only", () => {
    const body = fixture('amazon-order.json');
    body.order.BuyerInfo.BuyerEmail = 'alan+orders@example.com';
    const order = ok(adaptOrder(raw('amazon', body, SELLER), channels));
    expect(order.customer).toMatchObject({ id: 'amazon-order:902-3159896-1390916', email: 'alan+orders@example.com' });
  });

  const mutate = (change: (b: Record<string, any>) => void, headers: Record<string, string> = SELLER) => {
    const body = fixture('amazon-order.json');
    change(body);
    return adaptOrder(raw('amazon', body, headers), channels);
  };

  it.each([
    ['a zero QuantityOrdered', (b: any) => (b.orderItems[0].QuantityOrdered = 0), 'INVALID_QUANTITY', 'orderItems[0].QuantityOrdered'],
    ['a missing SellerSKU', (b: any) => delete b.orderItems[1].SellerSKU, 'ORDER_LINE_WITHOUT_SKU', 'orderItems[1].sku'],
    ['a currency the account does not take', (b: any) => {
      b.order.OrderTotal.CurrencyCode = 'CAD';
      for (const item of b.orderItems) item.ItemPrice.CurrencyCode = 'CAD';
    }, 'ORDER_CURRENCY_NOT_ALLOWED', 'currency'],
    ['items priced in another currency than the order', (b: any) => (b.orderItems[1].ItemPrice.CurrencyCode = 'EUR'), 'VALIDATION_FAILED', 'orderItems[1].ItemPrice.CurrencyCode'],
    ['a Canceled order', (b: any) => (b.order.OrderStatus = 'Canceled'), 'ORDER_NOT_PLACEABLE', 'order.OrderStatus'],
    ['no order object', (b: any) => delete b.order, 'VALIDATION_FAILED', 'order'],
    ['orderItems not an array', (b: any) => (b.orderItems = 'none'), 'VALIDATION_FAILED', 'orderItems'],
    ['IsPrime as text', (b: any) => (b.order.IsPrime = 'true'), 'VALIDATION_FAILED', 'order.IsPrime'],
  ])('refuses %s', (_name, change, code, field) => {
    expect(err(mutate(change))).toEqual({ code, field });
  });

  it('needs the seller header', () => {
    expect(err(mutate(() => {}, {}))).toEqual({ code: 'VALIDATION_FAILED', field: 'header Stockade-Account' });
  });
});

describe('square order', () => {
  it('maps the Order object: string quantities, Money in minor units, the authorised card tender kept', () => {
    const order = ok(adaptOrder(raw('pos', fixture('square-order.json')), channels));
    expect(order).toEqual({
      channel: 'pos',
      account: 'L88917AVBK2S5',
      externalId: 'CAISENgvlJ6jLWAzERDzjyHVybY',
      customer: { id: 'JDKYHBWT1D4F8MFH63DBMEN8Y4', email: null, name: null, tier: 'standard' },
      currency: 'USD',
      totalMinor: 11499,
      lines: [
        { lineId: '8uSwfzvUImn3IRrvciqlXC', sku: 'GZ2W3ZTOLWDPXRGEXK4NJVAD', quantity: 1, unitPriceMinor: 9999, title: 'Arcade Cabinet Mini' },
        { lineId: 'v8ZuEXpOJpb0bazLuvrLDB', sku: 'W62UWFY35CWMYGVWK6TWJDNI', quantity: 3, unitPriceMinor: 500, title: 'Token Pack' },
      ],
      payment: { authorizationId: 'EnZdNAlWCmfh6Mt5FMNST1o7taB', status: 'authorized' },
      shippingAddress: { name: 'Katherine Johnson', line1: '500 Orbit Ave', city: 'Hampton', postalCode: '23666', country: 'US' },
      placedAt: '2026-11-23T14:02:10.512Z',
      preOrder: false,
    });
    expect(schemaValid(order)).toBe(true);
  });

  it('reads the SKU where each location keeps it: catalog id, metadata or variation name', () => {
    const at = (location: string) => {
      const body = fixture('square-order.json');
      body.location_id = location;
      return ok(adaptOrder(raw('pos', body), channels)).lines.map((l) => l.sku);
    };
    expect(at('LOTHER00001')).toEqual(['GZ2W3ZTOLWDPXRGEXK4NJVAD', 'W62UWFY35CWMYGVWK6TWJDNI']);
    expect(at('LMETADATA01')).toEqual(['ARC-MINI-BLK', 'TOKENS-50']);
    expect(at('LVARIATION1')).toEqual(['ARC-MINI-BLK', 'TOKENS-50']);
  });

  it('maps a captured cash sale without customer or shipment, and a walk-in gets its own customer id', () => {
    const body = fixture('square-order.json');
    body.tenders = [{ id: 'cash-1', type: 'CASH', amount_money: { amount: 11499, currency: 'USD' } }];
    body.state = 'COMPLETED';
    delete body.customer_id;
    delete body.fulfillments;
    const order = ok(adaptOrder(raw('pos', body), channels));
    expect(order).toMatchObject({ payment: { status: 'captured', authorizationId: null }, shippingAddress: null, customer: { id: 'walk-in:CAISENgvlJ6jLWAzERDzjyHVybY' } });
    delete body.tenders;
    expect(ok(adaptOrder(raw('pos', body), channels)).payment).toEqual({ authorizationId: null, status: 'none' });
  });

  const mutate = (change: (b: Record<string, any>) => void) => {
    const body = fixture('square-order.json');
    change(body);
    return adaptOrder(raw('pos', body), channels);
  };

  it.each([
    ['a measured quantity', (b: any) => (b.line_items[0].quantity = '1.5'), 'INVALID_QUANTITY', 'line_items[0].quantity'],
    ['a zero quantity', (b: any) => (b.line_items[1].quantity = '0'), 'INVALID_QUANTITY', 'line_items[1].quantity'],
    ['a negative quantity', (b: any) => (b.line_items[1].quantity = '-1'), 'INVALID_QUANTITY', 'line_items[1].quantity'],
    ['a quantity given as a number', (b: any) => (b.line_items[0].quantity = 1), 'VALIDATION_FAILED', 'line_items[0].quantity'],
    ['an ad hoc line without a catalog id', (b: any) => delete b.line_items[0].catalog_object_id, 'ORDER_LINE_WITHOUT_SKU', 'line_items[0].sku'],
    ['a fractional Money amount', (b: any) => (b.line_items[0].base_price_money.amount = 99.99), 'VALIDATION_FAILED', 'line_items[0].base_price_money.amount'],
    ['a bad currency', (b: any) => (b.total_money.currency = 'DOLLARS'), 'ORDER_CURRENCY_INVALID', 'total_money.currency'],
    ['a DRAFT order', (b: any) => (b.state = 'DRAFT'), 'ORDER_NOT_PLACEABLE', 'state'],
    ['an unknown state', (b: any) => (b.state = 'PAUSED'), 'VALIDATION_FAILED', 'state'],
    ['no location', (b: any) => delete b.location_id, 'VALIDATION_FAILED', 'location_id'],
  ])('refuses %s', (_name, change, code, field) => {
    expect(err(mutate(change))).toEqual({ code, field });
  });
});

describe('canonical form', () => {
  it('accepts the canonical form and normalises its time to UTC', () => {
    const order = ok(adaptOrder(raw('web', fixture('canonical-order.json')), channels));
    expect(order).toEqual({ ...fixture('canonical-order.json'), placedAt: '2026-11-23T10:45:00.000Z' });
    expect(schemaValid(order)).toBe(true);
  });

  const mutate = (change: (b: Record<string, any>) => void) => {
    const body = fixture('canonical-order.json');
    change(body);
    return adaptOrder(raw('web', body), channels);
  };

  it.each([
    ['an unknown field', (b: any) => (b.coupon = 'X'), 'VALIDATION_FAILED', 'coupon'],
    ['an unknown line field', (b: any) => (b.lines[0].colour = 'red'), 'VALIDATION_FAILED', 'lines[0].colour'],
    ['an unknown customer field', (b: any) => (b.customer.age = 40), 'VALIDATION_FAILED', 'customer.age'],
    ['a tier that is not one', (b: any) => (b.customer.tier = 'gold'), 'VALIDATION_FAILED', 'customer.tier'],
    ['a price in major units', (b: any) => (b.lines[0].unitPriceMinor = 99.99), 'VALIDATION_FAILED', 'lines[0].unitPriceMinor'],
    ['a missing payment', (b: any) => delete b.payment, 'VALIDATION_FAILED', 'payment'],
    ['a customer id the engine cannot store', (b: any) => (b.customer.id = 'josé+1'), 'VALIDATION_FAILED', 'customer.id'],
    ['a zero quantity', (b: any) => (b.lines[1].quantity = 0), 'INVALID_QUANTITY', 'lines[1].quantity'],
    ['a bad SKU', (b: any) => (b.lines[0].sku = 'Ä'), 'INVALID_SKU', 'lines[0].sku'],
    ['another channel than the subject', (b: any) => (b.channel = 'shopify'), 'VALIDATION_FAILED', 'channel'],
    ['a currency the account does not take', (b: any) => (b.currency = 'USD'), 'ORDER_CURRENCY_NOT_ALLOWED', 'currency'],
    ['no email where the account requires one', (b: any) => (b.customer.email = null), 'VALIDATION_FAILED', 'customer.email'],
    ['no address where the account requires one', (b: any) => (b.shippingAddress = null), 'VALIDATION_FAILED', 'shippingAddress'],
    ['an account the channel does not know', (b: any) => (b.account = 'somebody-else'), 'ORDER_ACCOUNT_UNKNOWN', 'account'],
  ])('refuses %s', (_name, change, code, field) => {
    expect(err(mutate(change))).toEqual({ code, field });
  });

  it('lets one account take what another refuses: currency, required fields and line count', () => {
    const body: Record<string, any> = { ...fixture('canonical-order.json'), account: 'us-storefront', currency: 'USD', shippingAddress: null };
    expect(err(adaptOrder(raw('web', body), channels))).toEqual({ code: 'ORDER_TOO_MANY_LINES', field: 'lines' });
    body.lines = body.lines.slice(0, 1);
    expect(ok(adaptOrder(raw('web', body), channels))).toMatchObject({ account: 'us-storefront', currency: 'USD', shippingAddress: null });
  });
});

describe('any channel', () => {
  it.each([
    ['malformed JSON', '{"id": 1,', 'ORDER_PAYLOAD_MALFORMED', '(root)'],
    ['a JSON array', '[1,2]', 'ORDER_PAYLOAD_MALFORMED', '(root)'],
    ['a JSON string', '"order"', 'ORDER_PAYLOAD_MALFORMED', '(root)'],
  ])('refuses %s', (_name, payload, code, field) => {
    for (const channel of ['shopify', 'amazon', 'pos', 'web']) expect(err(adaptOrder(raw(channel, payload, { ...SHOP, ...SELLER }), channels))).toEqual({ code, field });
  });

  it('refuses bytes that are not UTF-8', () => {
    const result = adaptOrder({ channel: 'web', data: new Uint8Array([0x7b, 0xff, 0x7d]), header: () => undefined }, channels);
    expect(err(result)).toEqual({ code: 'ORDER_PAYLOAD_MALFORMED', field: '(root)' });
  });

  it('refuses a channel no adapter is configured for', () => {
    expect(err(adaptOrder(raw('ebay', fixture('canonical-order.json')), channels))).toEqual({ code: 'ORDER_CHANNEL_UNKNOWN', field: 'subject' });
  });

  it('a payload one channel accepts is refused on a channel with another adapter', () => {
    expect(ok(adaptOrder(raw('shopify', fixture('shopify-orders-create.json'), SHOP), channels)).externalId).toBe('5940139491234');
    expect(err(adaptOrder(raw('pos', fixture('shopify-orders-create.json')), channels)).code).toBe('VALIDATION_FAILED');
  });
});

describe('orderChannels configuration', () => {
  it('has defaults for the channels nats.conf knows, and freezes what it builds', () => {
    const built: OrderChannelsConfig = buildOrderChannels();
    expect(Object.fromEntries(Object.entries(built).map(([k, v]) => [k, v.adapter]))).toEqual({ shopify: 'shopify', amazon: 'amazon', pos: 'square', web: 'canonical' });
    expect(Object.isFrozen(built.shopify.settings)).toBe(true);
    expect(built.shopify.settings.linesPerOrderMax).toBe(100);
  });

  it('layers account over channel over defaults', () => {
    const built = buildOrderChannels({ web: { adapter: 'canonical', settings: { linesPerOrderMax: 10, quantityPerLineMax: 5 }, accounts: { a: { linesPerOrderMax: 3 } } } });
    expect(built.web.accounts.a).toMatchObject({ linesPerOrderMax: 3, quantityPerLineMax: 5, skipLinesWithoutSku: false });
  });

  it.each([
    ['an unknown channel key', { web: { adapter: 'canonical', colour: 1 } }, /\/web: unknown key "colour"/],
    ['an unknown setting', { web: { adapter: 'canonical', settings: { linesMax: 3 } } }, /\/web\/settings: unknown key "linesMax"/],
    ['an unknown account setting', { web: { adapter: 'canonical', accounts: { a: { strict: true } } } }, /\/web\/accounts\/a: unknown key "strict"/],
    ['an unknown adapter', { web: { adapter: 'ebay' } }, /\/web\/adapter/],
    ['no adapter', { web: {} }, /must have required property 'adapter'/],
    ['a channel named events', { events: { adapter: 'canonical' } }, /bad name "events"/],
    ['a channel name with a dot', { 'a.b': { adapter: 'canonical' } }, /bad name "a.b"/],
    ['linesPerOrderMax above the schema ceiling', { web: { adapter: 'canonical', settings: { linesPerOrderMax: 1001 } } }, /linesPerOrderMax/],
    ['a zero quantityPerLineMax', { web: { adapter: 'canonical', settings: { quantityPerLineMax: 0 } } }, /quantityPerLineMax/],
    ['a lower-case currency', { web: { adapter: 'canonical', settings: { currenciesAllowed: ['eur'] } } }, /currenciesAllowed/],
    ['a Square setting on a Shopify channel', { shopify: { adapter: 'shopify', settings: { skuSource: 'metadata' } } }, /"skuSource" applies to the square adapter only, not shopify/],
    ['a Shopify setting on a Square account', { pos: { adapter: 'square', accounts: { L1: { vipTags: ['VIP'] } } } }, /\/pos\/accounts\/L1: "vipTags" applies to the shopify adapter only/],
  ])('refuses %s, by name', (_name, input, message) => {
    expect(() => buildOrderChannels(input)).toThrow(OrderChannelsConfigError);
    expect(() => buildOrderChannels(input)).toThrow(message);
  });
});

describe('no adapter ever emits an invalid canonical order', () => {
  /** Every path to a leaf or branch of a JSON value: the places a mutation can hit. */
  function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    const out: (string | number)[][] = [prefix];
    if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
    return out;
  }
  function setAt(root: any, path: (string | number)[], value: unknown, remove: boolean): unknown {
    if (path.length === 0) return value;
    let at = root;
    for (const key of path.slice(0, -1)) at = at[key];
    if (remove) delete at[path[path.length - 1]];
    else at[path[path.length - 1]] = value;
    return root;
  }

  const cases: [string, string, Record<string, string>][] = [
    ['shopify', 'shopify-orders-create.json', SHOP],
    ['shopify-lenient', 'shopify-orders-create-gift-card.json', SHOP],
    ['amazon', 'amazon-order.json', SELLER],
    ['pos', 'square-order.json', {}],
    ['web', 'canonical-order.json', {}],
  ];

  it.each(cases)('%s: random edits give a schema-valid order or a known code with a field', (channel, file, headers) => {
    const base = fixture(file);
    const targets = paths(base);
    const edit = fc.record({
      path: fc.constantFrom(...targets),
      value: fc.oneof(fc.jsonValue(), fc.constantFrom(0, -1, 1.5, '', '1.5', 'ZZZ', null, 'A'.repeat(2000), 1e300)),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let payload: unknown = structuredClone(base);
        for (const e of edits) {
          try {
            payload = setAt(payload, e.path, structuredClone(e.value), e.remove);
          } catch {
            // an earlier edit removed or replaced this path's parent: skip the edit
          }
        }
        const result = adaptOrder(raw(channel, payload === undefined ? 'null' : payload, headers), channels);
        if (result.ok) {
          if (!schemaValid(result.order)) throw new Error(`invalid canonical order: ${JSON.stringify(schemaValid.errors)}`);
          if (new Set(result.order.lines.map((l) => l.lineId)).size !== result.order.lines.length) throw new Error('duplicate line ids');
        } else {
          expect(Object.keys(ERRORS)).toContain(result.error.code);
          expect(typeof (result.error.details as { field?: unknown }).field).toBe('string');
        }
      }),
      { numRuns: 400, seed: 20261123 },
    );
  });
});
