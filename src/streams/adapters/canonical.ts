// The canonical form itself (docs/schemas/canonical-order.schema.json), for channels that build
// it on their side (the web shop, partners). It goes through the same account rules and the same
// schema as every adapter's output; the quantity, SKU and currency faults get the codes they get
// from every other channel. The account is the payload's `account`.

import { array, currency, fail, object, quantity, sku, text, timestamp } from './fields.js';
import type { AccountSettings, AdapterInput, ChannelAdapter, DraftLine, DraftOrder } from './types.js';

const LINE_FIELDS = new Set(['lineId', 'sku', 'quantity', 'unitPriceMinor', 'title']);

function toDraft(input: AdapterInput, account: string, settings: AccountSettings): DraftOrder {
  const o = object(input.payload, '(root)');
  if (o.channel !== input.channel) fail('VALIDATION_FAILED', 'channel', `must be the subject's channel "${input.channel}"`);
  if (o.currency !== null && o.currency !== undefined) currency(o.currency, 'currency');
  const raw = array(o.lines, 'lines');
  if (raw.length > settings.linesPerOrderMax) fail('ORDER_TOO_MANY_LINES', 'lines', `${raw.length} lines, linesPerOrderMax ${settings.linesPerOrderMax}`);
  const lines: DraftLine[] = raw.map((value, i) => {
    const path = `lines[${i}]`;
    const line = object(value, path);
    for (const key of Object.keys(line)) if (!LINE_FIELDS.has(key)) fail('VALIDATION_FAILED', `${path}.${key}`, 'unknown field');
    return {
      lineId: text(line.lineId, `${path}.lineId`, 128),
      sku: sku(line.sku, `${path}.sku`),
      quantity: quantity(line.quantity, `${path}.quantity`, settings.quantityPerLineMax),
      // Types are the schema's business: it checks the finished order, these included.
      unitPriceMinor: line.unitPriceMinor as number | null,
      title: line.title as string | null,
      path,
    };
  });
  // Everything else (types, unknown fields, nested objects) is checked against the schema once
  // the account's rules have run, on the order as it will be placed.
  return { ...(o as unknown as DraftOrder), account, lines, placedAt: timestamp(o.placedAt, 'placedAt') };
}

export const canonicalAdapter: ChannelAdapter = {
  name: 'canonical',
  accountSource: 'payload account',
  account(input) {
    return text(object(input.payload, '(root)').account, 'account', 128);
  },
  toDraft,
};
