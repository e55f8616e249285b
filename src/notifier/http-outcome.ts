// The common mapping from an HTTP answer to a delivery outcome, for connectors whose vendor has
// no rule of its own (connectors with one, like Slack's `ok:false` inside a 200, check first).

import type { DeliveryOutcome } from './connector.js';

/** Statuses a retry can fix besides 5xx: timeout, conflict-while-locked, too early, rate limit. */
const RETRYABLE_STATUS = new Set([408, 409, 423, 425, 429]);

/** Hints longer than this are capped: the notifier's own backoff takes over past it. */
export const RETRY_AFTER_MS_MAX = 15 * 60_000;

/**
 * Milliseconds to wait from a Retry-After header (seconds or an HTTP date) or a reset header
 * (epoch seconds, like X-RateLimit-Reset, or seconds from now when small). undefined when none.
 */
export function retryAfterMsOf(headers: Headers, now: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, RETRY_AFTER_MS_MAX);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.min(Math.max(0, date - now), RETRY_AFTER_MS_MAX);
  }
  for (const name of ['x-ratelimit-reset', 'ratelimit-reset', 'x-rate-limit-reset']) {
    const value = headers.get(name);
    if (value === null) continue;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) continue;
    // Epoch seconds are large; small values are seconds from now (IETF RateLimit draft).
    const ms = n > 1e9 ? n * 1000 - now : n * 1000;
    return Math.min(Math.max(0, ms), RETRY_AFTER_MS_MAX);
  }
  return undefined;
}

/** 2xx → delivered; 408/409/423/425/429 and 5xx → retry (with the vendor's hint); other → permanent. */
export async function outcomeOfResponse(response: Response, vendor: string, now: number = Date.now()): Promise<DeliveryOutcome> {
  if (response.ok) return { kind: 'delivered' };
  const body = await response.text().catch(() => '');
  const reason = `${vendor} answered ${response.status}${body ? `: ${body.slice(0, 300)}` : ''}`;
  if (response.status >= 500 || RETRYABLE_STATUS.has(response.status)) {
    const retryAfterMs = retryAfterMsOf(response.headers, now);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'permanent', reason };
}

/** A network failure or timeout (fetch threw): always worth a retry. */
export function outcomeOfNetworkError(err: unknown, vendor: string): DeliveryOutcome {
  return { kind: 'retry', reason: `${vendor} not reached: ${(err as Error).message ?? String(err)}` };
}
