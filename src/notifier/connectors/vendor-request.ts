// What the connectors of this group share: one attempt wrapper that turns "the vendor was not
// reached" and "no token could be had" into outcomes, JSON and form requests with the attempt's
// signal, Basic auth, URL joining, text limits, and the JSON-Schema fragments of their configs.

import { createHash } from 'node:crypto';
import type { DeliveryOutcome, Notification } from '../connector.js';
import { outcomeOfNetworkError } from '../http-outcome.js';
import { TokenRequestFailed } from './oauth2.js';

/** fetch threw (connection refused, DNS, abort): the attempt ends with a retry. */
export class VendorUnreachable extends Error {
  readonly outcome: DeliveryOutcome;
  constructor(err: unknown, vendor: string) {
    const outcome = outcomeOfNetworkError(err, vendor);
    super(outcome.kind === 'retry' ? outcome.reason : vendor);
    this.name = 'VendorUnreachable';
    this.outcome = outcome;
  }
}

/** Runs one attempt; the two expected failures become their outcomes, anything else is a bug and throws. */
export async function attempt(run: () => Promise<DeliveryOutcome>): Promise<DeliveryOutcome> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof VendorUnreachable || err instanceof TokenRequestFailed) return err.outcome;
    throw err;
  }
}

export async function request(fetchFn: typeof fetch, vendor: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchFn(url, init);
  } catch (err) {
    throw new VendorUnreachable(err, vendor);
  }
}

export function jsonInit(method: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  };
}

export function formInit(headers: Record<string, string>, form: URLSearchParams, signal: AbortSignal): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: form.toString(),
    signal,
  };
}

/** The body parsed as JSON, or undefined when it is empty or not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}




export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** One line per fact of the alert, for vendors whose message is plain text or key/value fields. */
export function alertFacts(notification: Notification): Array<[string, string]> {
  const a = notification.alert;
  const facts: Array<[string, string]> = [
    ['SKU', a.sku],
    ['Alert', `${a.type} (${a.severity}, ${a.status})`],
    ['Available', String(a.levels.available)],
    ['On hand / reserved / safety', `${a.levels.onHand} / ${a.levels.reserved} / ${a.levels.safetyStock}`],
    ['Threshold', `${a.threshold.name} = ${a.threshold.value} (observed ${a.threshold.observed})`],
  ];
  if (a.location !== null) facts.push(['Location', a.location]);
  if (a.region !== null) facts.push(['Region', a.region]);
  if (notification.alerts.length > 1) facts.push(['Alerts in this digest', String(notification.alerts.length)]);
  facts.push(['Suggested action', a.suggestedAction]);
  return facts;
}

/** Plain text: the rendered text followed by the facts, one per line. */
export function plainText(notification: Notification): string {
  const facts = alertFacts(notification).map(([name, value]) => `${name}: ${value}`);
  return `${notification.text}\n\n${facts.join('\n')}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// JSON-Schema fragments. Ajv strict mode accepts these without ajv-formats (no `format`).
export const urlSchema = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 } as const;
export const secretSchema = { type: 'string', minLength: 1, maxLength: 4096 } as const;
export const emailSchema = { type: 'string', pattern: '^[^@\\s<>,;"]+@[^@\\s<>,;"]+$', maxLength: 320 } as const;
export const nameSchema = { type: 'string', minLength: 1, maxLength: 256 } as const;

export function objectSchema(properties: Record<string, unknown>, required: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, properties, required, ...extra };
}

// One definition for every connector group (common.ts); re-exported so this group's imports stay.
export { basicAuth, joinUrl, truncate } from './common.js';
