// What the Google API connectors (Gmail, Calendar) share: the refresh-token grant against
// oauth2.googleapis.com/token, and Google's error answer, where a rate limit may come as 403 with
// a reason (rateLimitExceeded, userRateLimitExceeded) rather than as 429.

import type { ConnectorDependencies, DeliveryOutcome } from '../connector.js';
import { outcomeOfResponse, retryAfterMsOf } from '../http-outcome.js';
import { OAuth2TokenSource } from './oauth2.js';
import { secretSchema, urlSchema } from './vendor-request.js';

export interface GoogleAuthConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Overrides https://oauth2.googleapis.com/token. */
  tokenUrl?: string;
}

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export const googleAuthProperties = {
  clientId: { type: 'string', minLength: 1, maxLength: 256 },
  clientSecret: secretSchema,
  refreshToken: secretSchema,
  tokenUrl: urlSchema,
  baseUrl: urlSchema,
};
export const googleAuthRequired = ['clientId', 'clientSecret', 'refreshToken'];

export function googleTokenSource(config: GoogleAuthConfig, deps: ConnectorDependencies): OAuth2TokenSource {
  return new OAuth2TokenSource({
    tokenUrl: config.tokenUrl ?? GOOGLE_TOKEN_URL,
    grant: { kind: 'refresh_token', clientId: config.clientId, clientSecret: config.clientSecret, refreshToken: config.refreshToken },
    vendor: 'Google OAuth2',
    fetch: deps.fetch,
    now: deps.now,
  });
}

/** Reasons Google gives with a 403 that mean "slow down", not "forbidden". */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'dailyLimitExceeded', 'quotaExceeded']);

/** Google's answer as an outcome: the common mapping, except a rate-limit 403 is a retry. */
export async function outcomeOfGoogleResponse(response: Response, vendor: string, now: number): Promise<DeliveryOutcome> {
  if (response.status !== 403) return outcomeOfResponse(response, vendor, now);
  const text = await response.text().catch(() => '');
  let reasons: string[] = [];
  try {
    const body = JSON.parse(text) as { error?: { errors?: Array<{ reason?: unknown }>; details?: Array<{ reason?: unknown }> } };
    reasons = [...(body.error?.errors ?? []), ...(body.error?.details ?? [])]
      .map((e) => e.reason)
      .filter((r): r is string => typeof r === 'string');
  } catch {
    // Not Google's JSON error: a plain 403.
  }
  const reason = `${vendor} answered 403${text ? `: ${text.slice(0, 300)}` : ''}`;
  if (reasons.some((r) => RATE_LIMIT_REASONS.has(r) || r === 'RATE_LIMIT_EXCEEDED')) {
    const retryAfterMs = retryAfterMsOf(response.headers, now);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'permanent', reason };
}
