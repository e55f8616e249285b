// One entry point for every channel: the subject's channel picks the adapter (configuration), the
// adapter reads the account, the account picks the settings, the adapter maps the payload, and
// the account's rules and the canonical schema have the last word. Pure: bytes in, answer out.

import { errorBody } from '../../errors.js';
import { accountSettings, type OrderChannelsConfig } from '../order-channels.js';
import { amazonAdapter } from './amazon.js';
import { canonicalAdapter } from './canonical.js';
import { FieldError } from './fields.js';
import { finishOrder } from './schema.js';
import { shopifyAdapter } from './shopify.js';
import { squareAdapter } from './square.js';
import type { AdaptResult, AdapterInput, AdapterName, ChannelAdapter } from './types.js';

export const ADAPTERS: Readonly<Record<AdapterName, ChannelAdapter>> = Object.freeze({
  shopify: shopifyAdapter,
  amazon: amazonAdapter,
  square: squareAdapter,
  canonical: canonicalAdapter,
});

export interface RawChannelOrder {
  channel: string;
  data: Uint8Array | string;
  /** A message header by name, case-insensitively. */
  header(name: string): string | undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function parse(data: Uint8Array | string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    const value: unknown = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'the payload is JSON but not an object' };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.slice(0, 200) };
  }
}

/** Native payload → canonical order, or the first fault with its stable code and field. */
export function adaptOrder(raw: RawChannelOrder, channels: OrderChannelsConfig): AdaptResult {
  const channel = Object.hasOwn(channels, raw.channel) ? channels[raw.channel] : undefined;
  if (!channel) return { ok: false, error: errorBody('ORDER_CHANNEL_UNKNOWN', undefined, { field: 'subject', channel: raw.channel }) };
  const parsed = parse(raw.data);
  if (!parsed.ok) return { ok: false, error: errorBody('ORDER_PAYLOAD_MALFORMED', undefined, { field: '(root)', reason: parsed.reason }) };
  const adapter = ADAPTERS[channel.adapter];
  const input: AdapterInput = { channel: raw.channel, payload: parsed.value, header: raw.header };
  try {
    const account = adapter.account(input);
    const found = accountSettings(channel, raw.channel, account);
    if (!found.ok) return found;
    return { ok: true, order: finishOrder(adapter.toDraft(input, account, found.settings), found.settings) };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, error: err.body };
    throw err;
  }
}

export type { AccountSettings, AdaptResult, AdapterName } from './types.js';
