// What the part-B connectors (Zendesk … QuickBooks) share: schema pieces, one way to turn a thrown
// failure into a delivery outcome, a token/session cache with one shared request and one retry
// on 401, and the few text helpers every ticket or task body needs. Nothing vendor-specific.

import type { DeliveryOutcome, Notification } from '../connector.js';
import { outcomeOfNetworkError, retryAfterMsOf } from '../http-outcome.js';
import type { AlertSeverity } from '../../alerts/alert.js';

// ---------------------------------------------------------------------------------------------
// Configuration schema pieces. Every connector schema is closed (additionalProperties: false) and
// lists its required fields, so ajv names a missing or misspelt field at start.

export const nonEmptyString = { type: 'string', minLength: 1 } as const;
/** Base URLs are overridable (tests, sandboxes, regional hosts); http is allowed for loopback. */
export const baseUrlString = { type: 'string', pattern: '^https?://[^\\s/]+', minLength: 8 } as const;
export const idString = { type: 'string', minLength: 1, maxLength: 128 } as const;

export function closedObject(properties: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required, properties };
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/** Thrown inside a send to end it with `outcome` (a token refused, a body the vendor rejected). */
export class DeliveryFailed extends Error {
  readonly outcome: DeliveryOutcome;
  constructor(outcome: Exclude<DeliveryOutcome, { kind: 'delivered' }>) {
    super(outcome.reason);
    this.name = 'DeliveryFailed';
    this.outcome = outcome;
  }
}

/**
 * Run one attempt: DeliveryFailed ends it with its outcome; anything else thrown is fetch failing
 * (refused, reset, aborted by the attempt's signal), which a retry can fix.
 */
export async function attempt(vendor: string, run: () => Promise<DeliveryOutcome>): Promise<DeliveryOutcome> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof DeliveryFailed) return err.outcome;
    return outcomeOfNetworkError(err, vendor);
  }
}

export function retry(reason: string, retryAfterMs: number | undefined): DeliveryOutcome & { kind: 'retry' } {
  return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
}

/** The body as text and, when it parses, as JSON (vendors' error pages are not always JSON). */
export async function readBody(response: Response): Promise<{ text: string; json: unknown }> {
  const text = await response.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { text, json };
}

export function describeAnswer(vendor: string, response: Response, text: string): string {
  return `${vendor} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`;
}

/** A receipt from the vendor's answer: the created record's id when it gave one. */
export function receiptOf(id: unknown): { kind: 'delivered'; receipt?: string } {
  return typeof id === 'string' || typeof id === 'number' ? { kind: 'delivered', receipt: String(id) } : { kind: 'delivered' };
}

/** Judge a token or login endpoint's refusal: 429/5xx can pass; anything else needs a person. */
export function credentialFailure(vendor: string, response: Response, text: string, now: number): DeliveryFailed {
  const reason = `${vendor} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  if (response.status === 429 || response.status >= 500) return new DeliveryFailed(retry(reason, retryAfterMsOf(response.headers, now)));
  return new DeliveryFailed({ kind: 'permanent', reason });
}

// ---------------------------------------------------------------------------------------------
// Credentials that expire: OAuth2 access tokens, Service Layer sessions.

export interface Credential {
  /** Epoch ms after which it is not used again (Infinity: until the vendor refuses it). */
  expiresAtMs: number;
}

/** A credential is renewed this long before its stated expiry (clock skew, request time). */
export const CREDENTIAL_EXPIRY_SKEW_MS = 60_000;

/**
 * Caches one credential; concurrent sends share one issuing request; `invalidate` forgets a
 * credential the vendor refused so the next `current` issues a new one.
 */
export class CredentialCache<C extends Credential> {
  private cached: C | undefined;
  private pending: Promise<C> | undefined;

  constructor(
    private readonly issue: (signal: AbortSignal) => Promise<C>,
    private readonly now: () => number,
  ) {}

  async current(signal: AbortSignal): Promise<C> {
    if (this.cached !== undefined && this.now() < this.cached.expiresAtMs) return this.cached;
    this.pending ??= this.issue(signal)
      .then((credential) => {
        this.cached = credential;
        return credential;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  invalidate(credential: C): void {
    if (this.cached === credential) this.cached = undefined;
  }

  /** The cached credential, if any (for logout on close). */
  peek(): C | undefined {
    return this.cached;
  }

  clear(): void {
    this.cached = undefined;
  }
}

/** Epoch ms to stop using a token that lives `expiresInSeconds` (renewed a little early). */
export function expiryOf(now: number, expiresInSeconds: unknown, lifetimeMsDefault: number): number {
  const seconds = Number(expiresInSeconds);
  const lifetimeMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : lifetimeMsDefault;
  // A short-lived token is still used once rather than re-requested for every send.
  return now + Math.max(lifetimeMs - CREDENTIAL_EXPIRY_SKEW_MS, lifetimeMs / 2);
}

/**
 * Send with the current credential; when the vendor says it is no longer valid (401 unless told
 * otherwise) forget it, issue a new one and send once more. A second refusal is the answer.
 */
export async function sendWithCredential<C extends Credential>(
  cache: CredentialCache<C>,
  signal: AbortSignal,
  send: (credential: C) => Promise<Response>,
  refused: (response: Response) => boolean = (response) => response.status === 401,
): Promise<Response> {
  const first = await cache.current(signal);
  const response = await send(first);
  if (!refused(response)) return response;
  await response.body?.cancel().catch(() => undefined);
  cache.invalidate(first);
  return send(await cache.current(signal));
}

// ---------------------------------------------------------------------------------------------
// Text




export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Plain text as HTML paragraphs with line breaks (Freshdesk, Basecamp, Pipedrive notes). */
export function htmlOf(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, '<br>')}</p>`)
    .join('');
}

/** UTC calendar date, YYYY-MM-DD: the due date vendors' task records take. */
export function isoDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export type PriorityLevel = 'high' | 'normal' | 'low';

/** Critical alerts are high priority, warnings normal, info and every recovery notice low. */
export function priorityOf(notification: Notification): PriorityLevel {
  if (notification.alert.status === 'resolved' || notification.kind === 'recovery') return 'low';
  const bySeverity: Record<AlertSeverity, PriorityLevel> = { critical: 'high', warning: 'normal', info: 'low' };
  return bySeverity[notification.alert.severity];
}

/** The notification's text followed by the facts a person acting on it needs, one per line. */
export function detailedText(notification: Notification): string {
  const { alert } = notification;
  const facts = [
    `SKU: ${alert.sku}${alert.location ? ` at ${alert.location}` : ''}`,
    `Alert: ${alert.type} (${alert.severity}, ${alert.status})`,
    `Available: ${alert.levels.available} (on hand ${alert.levels.onHand}, reserved ${alert.levels.reserved})`,
    `Suggested action: ${alert.suggestedAction}`,
    `Alert id: ${alert.id}`,
  ];
  if (notification.alerts.length > 1) facts.push(`Alerts in this digest: ${notification.alerts.length}`);
  return `${notification.text}\n\n${facts.join('\n')}`;
}

// One definition for every connector group (common.ts); re-exported so this group's imports stay.
export { basicAuth, joinUrl, truncate } from './common.js';
