// OAuth2 access tokens for connectors whose vendor wants one (Microsoft Graph, Google APIs …):
// the client-credentials grant and the refresh-token grant (RFC 6749 §4.4 and §6), the token
// cached until shortly before it expires, one token request shared by concurrent sends, and one
// fresh token tried when the vendor answers 401 (a token revoked or rotated before its expiry).
// Part B's connectors may import this module; it depends on nothing but fetch.

import type { DeliveryOutcome } from '../connector.js';
import { outcomeOfNetworkError, retryAfterMsOf } from '../http-outcome.js';

export type OAuth2Grant =
  | { kind: 'client_credentials'; clientId: string; clientSecret: string; scope?: string }
  | { kind: 'refresh_token'; clientId: string; clientSecret: string; refreshToken: string; scope?: string };

export interface OAuth2TokenSourceOptions {
  /** Token endpoint, e.g. https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token. */
  tokenUrl: string;
  grant: OAuth2Grant;
  /** Named in failure reasons, e.g. "Microsoft identity platform". */
  vendor: string;
  fetch: typeof fetch;
  now: () => number;
  /** A cached token is renewed this long before its stated expiry (clock skew, request time). */
  expirySkewMs?: number;
}

/** Renew a token a minute before it expires: Graph and Google tokens live an hour. */
export const TOKEN_EXPIRY_SKEW_MS = 60_000;
/** When the token answer has no expires_in (it is RECOMMENDED, not required), assume this. */
export const TOKEN_LIFETIME_MS_DEFAULT = 5 * 60_000;

/** The token endpoint refused or failed; `outcome` says whether a later attempt can help. */
export class TokenRequestFailed extends Error {
  readonly outcome: DeliveryOutcome;
  constructor(outcome: DeliveryOutcome) {
    super(outcome.kind === 'delivered' ? 'token request failed' : outcome.reason);
    this.name = 'TokenRequestFailed';
    this.outcome = outcome;
  }
}

/**
 * OAuth2 error codes (RFC 6749 §5.2) that a retry cannot fix: the credentials or the grant are
 * wrong, revoked or not allowed. Anything else from the token endpoint is judged by its status.
 */
const PERMANENT_TOKEN_ERRORS = new Set([
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_request',
]);

export class OAuth2TokenSource {
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private refreshToken: string | undefined;
  private readonly expirySkewMs: number;

  constructor(private readonly options: OAuth2TokenSourceOptions) {
    this.expirySkewMs = options.expirySkewMs ?? TOKEN_EXPIRY_SKEW_MS;
    if (options.grant.kind === 'refresh_token') this.refreshToken = options.grant.refreshToken;
  }

  /** A valid access token: the cached one, or a new one (one request however many callers wait). */
  async accessToken(signal: AbortSignal): Promise<string> {
    if (this.cached !== undefined && this.options.now() < this.cached.expiresAt) return this.cached.token;
    // Concurrent sends share the request in flight; the signal of the first caller governs it.
    this.pending ??= this.requestToken(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forget `token` (the vendor refused it) so the next accessToken() asks for a new one. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async requestToken(signal: AbortSignal): Promise<string> {
    const { grant, tokenUrl, vendor } = this.options;
    const form = new URLSearchParams();
    form.set('grant_type', grant.kind);
    form.set('client_id', grant.clientId);
    form.set('client_secret', grant.clientSecret);
    if (grant.kind === 'refresh_token') form.set('refresh_token', this.refreshToken ?? grant.refreshToken);
    if (grant.scope !== undefined) form.set('scope', grant.scope);
    let response: Response;
    try {
      response = await this.options.fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal,
      });
    } catch (err) {
      throw new TokenRequestFailed(outcomeOfNetworkError(err, `${vendor} token endpoint`));
    }
    const text = await response.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not JSON (a proxy's error page): judged by the status below.
    }
    if (!response.ok) throw new TokenRequestFailed(this.failureOutcome(response, body, text));
    const token = body.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenRequestFailed({ kind: 'retry', reason: `${vendor} token endpoint answered ${response.status} without access_token` });
    }
    const expiresInSeconds = Number(body.expires_in);
    const lifetimeMs = Number.isFinite(expiresInSeconds) && expiresInSeconds > 0 ? expiresInSeconds * 1000 : TOKEN_LIFETIME_MS_DEFAULT;
    // A short-lived token is still used once rather than never cached into a request storm.
    this.cached = { token, expiresAt: this.options.now() + Math.max(lifetimeMs - this.expirySkewMs, lifetimeMs / 2) };
    // Some servers rotate refresh tokens (Microsoft does); the newest one must be used next.
    if (typeof body.refresh_token === 'string' && body.refresh_token.length > 0) this.refreshToken = body.refresh_token;
    return token;
  }

  private failureOutcome(response: Response, body: Record<string, unknown>, text: string): DeliveryOutcome {
    const code = typeof body.error === 'string' ? body.error : undefined;
    const described = typeof body.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : text ? `: ${text.slice(0, 200)}` : '';
    const reason = `${this.options.vendor} token endpoint answered ${response.status}${code ? ` ${code}` : ''}${described}`;
    if (code !== undefined && PERMANENT_TOKEN_ERRORS.has(code)) return { kind: 'permanent', reason };
    if (response.status === 429 || response.status >= 500) {
      const retryAfterMs = retryAfterMsOf(response.headers, this.options.now());
      return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
    }
    return { kind: 'permanent', reason };
  }
}

/**
 * Send a request with a bearer token; on 401 forget that token, fetch a new one and send once more
 * (a second 401 is the vendor's answer). Throws TokenRequestFailed when no token can be had.
 */
export async function fetchWithToken(
  source: OAuth2TokenSource,
  signal: AbortSignal,
  send: (accessToken: string) => Promise<Response>,
): Promise<Response> {
  const token = await source.accessToken(signal);
  const response = await send(token);
  if (response.status !== 401) return response;
  await response.body?.cancel().catch(() => undefined);
  source.invalidate(token);
  return send(await source.accessToken(signal));
}
