// What the first connectors share: config checking that names the bad field, one HTTP attempt
// turned into a delivery outcome, bounded reading of vendor answers, and the facts of an alert in
// one order so Slack fields, Teams facts, the email table and the webhook body never disagree.
// Other connector groups may import from here; nothing here knows a vendor.

import { Ajv, type ValidateFunction } from 'ajv';
import type { Alert } from '../../alerts/alert.js';
import { ConfigError } from '../../config-error.js';
import type { ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { outcomeOfNetworkError, outcomeOfResponse } from '../http-outcome.js';

/**
 * Vendor answers are read up to this many bytes. Our own messages are bounded (see each
 * connector), so an echo of one fits; anything longer is cut, never buffered whole.
 */
export const RESPONSE_BYTES_MAX = 256 * 1024;

/** Sent with every request, so a vendor's logs (and support) can tell our calls apart. */
export const USER_AGENT = 'stockade-notifier';

/** Alerts listed one by one in a digest; the rest are counted ("and 12 more"). */
export const DIGEST_ALERTS_LISTED_MAX = 10;

// One compiler for every connector schema: strict, so a schema typo fails at start too.
const ajv = new Ajv({ allErrors: true, strict: true });
// Keyed by the schema object: one entry per connector type, never more.
const compiled = new WeakMap<object, ValidateFunction>();

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Problems in a connector configuration, each naming its field (`unknown key "chanel"`,
 * `must have required property 'token'`); empty when the configuration is valid.
 */
export function connectorConfigProblems(factory: Pick<ConnectorFactory, 'configSchema'>, config: unknown): string[] {
  const validate = validatorOf(factory.configSchema);
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath || '(root)';
    if (e.keyword === 'additionalProperties') {
      return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    }
    return `${where}: ${e.message}`;
  });
}

/** The configuration, checked against the factory's schema; throws ConfigError naming the fields. */
export function checkedConfig<C>(factory: Pick<ConnectorFactory, 'type' | 'configSchema'>, config: unknown): C {
  const problems = connectorConfigProblems(factory, config);
  if (problems.length > 0) throw new ConfigError(`invalid ${factory.type} connector configuration: ${problems.join('; ')}`);
  return config as C;
}

/** `https://host/path/` → `https://host/path`, so `${base}/method` never doubles the slash. */
export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `base` (with or without a trailing slash) followed by `path` (with a leading slash). */
export function joinUrl(base: string, path: string): string {
  return trimSlash(base) + path;
}

/** The value of an HTTP Basic Authorization header. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Schema of a base or endpoint URL: http(s) only, so a typo like "htps://" is rejected at start. */
export const HTTP_URL_SCHEMA = { type: 'string', pattern: '^https?://[^\\s/]+(/\\S*)?$', maxLength: 2048 } as const;

/** At most `charsMax` UTF-16 units, ending in "…" when cut, never splitting a surrogate pair. */
export function truncate(text: string, charsMax: number): string {
  if (text.length <= charsMax) return text;
  let end = Math.max(0, charsMax - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * The body of a response, at most `bytesMax` bytes of it (the rest is cancelled unread).
 * Bytes, not characters: a vendor could otherwise make us hold a response of any size.
 */
export async function readTextCapped(response: Response, bytesMax = RESPONSE_BYTES_MAX): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < bytesMax) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = bytesMax - bytes;
      const chunk = value.byteLength > room ? value.subarray(0, room) : value;
      chunks.push(chunk);
      bytes += chunk.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parse JSON without throwing; undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Release a response body we do not read, so the socket goes back to the pool. */
export function discardBody(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}

/** The common rule for an answer, with the error body read within RESPONSE_BYTES_MAX. */
export async function commonOutcome(response: Response, vendor: string, now: number): Promise<DeliveryOutcome> {
  if (response.ok) {
    discardBody(response);
    return { kind: 'delivered' };
  }
  const text = await readTextCapped(response);
  // outcomeOfResponse reads the body itself: hand it a view whose body is already cut to size.
  // (Not `new Response(…)`: its constructor refuses statuses such as 304 that servers do send.)
  const capped = { ok: false, status: response.status, headers: response.headers, text: async () => text } as Response;
  return outcomeOfResponse(capped, vendor, now);
}

export interface HttpAttempt {
  vendor: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * One POST and its outcome. Network failures and aborts are retries; redirects are not followed
 * (a webhook that moved is a configuration problem, and following one would turn the POST into
 * a GET), so a 3xx comes back permanent through the common rule.
 */
export async function postOnce(
  deps: ConnectorDependencies,
  attempt: HttpAttempt,
  signal: AbortSignal,
  judge: (response: Response) => Promise<DeliveryOutcome> = (response) => commonOutcome(response, attempt.vendor, deps.now()),
): Promise<DeliveryOutcome> {
  try {
    const response = await deps.fetch(attempt.url, {
      method: 'POST',
      headers: { 'user-agent': USER_AGENT, ...attempt.headers },
      body: attempt.body,
      redirect: 'manual',
      signal,
    });
    return await judge(response);
  } catch (err) {
    return outcomeOfNetworkError(err, attempt.vendor);
  }
}

export interface Fact {
  label: string;
  value: string;
}

function where(alert: Alert): string {
  const location = alert.location ?? 'all locations';
  return alert.region ? `${location} (${alert.region})` : location;
}

/**
 * The facts of one alert, in the order every rich format shows them. The threshold line says
 * what was measured against what, e.g. "minimum_stock: 3 observed, limit 5".
 */
export function alertFacts(alert: Alert): Fact[] {
  const facts: Fact[] = [
    { label: 'SKU', value: alert.sku },
    { label: 'Location', value: where(alert) },
    { label: 'Alert', value: `${alert.type} (${alert.severity})` },
    { label: 'Status', value: alert.status === 'resolved' ? `resolved at ${alert.resolvedAt ?? 'unknown time'}` : `firing since ${alert.raisedAt}` },
    { label: 'Available', value: String(alert.levels.available) },
    { label: 'On hand / reserved / safety', value: `${alert.levels.onHand} / ${alert.levels.reserved} / ${alert.levels.safetyStock}` },
    { label: 'Threshold', value: `${alert.threshold.name}: ${alert.threshold.observed} observed, limit ${alert.threshold.value}` },
  ];
  if (alert.category) facts.push({ label: 'Category', value: alert.category });
  return facts;
}

/** One line per alert of a digest: "SKU-1 @ WH-1: zero_stock (critical), available 0". */
export function alertLine(alert: Alert): string {
  const state = alert.status === 'resolved' ? 'resolved' : `available ${alert.levels.available}`;
  return `${alert.sku} @ ${where(alert)}: ${alert.type} (${alert.severity}), ${state}`;
}

/** The digest's alerts, listed up to DIGEST_ALERTS_LISTED_MAX, then "and N more". */
export function digestLines(alerts: readonly Alert[]): string[] {
  const lines = alerts.slice(0, DIGEST_ALERTS_LISTED_MAX).map(alertLine);
  if (alerts.length > DIGEST_ALERTS_LISTED_MAX) lines.push(`and ${alerts.length - DIGEST_ALERTS_LISTED_MAX} more`);
  return lines;
}

/** True when the notification lists several alerts rather than describing one. */
export function isDigest(notification: Notification): boolean {
  return notification.kind === 'digest' || notification.alerts.length > 1;
}

/**
 * The JSON document machine receivers get (generic webhook, RabbitMQ): the rendered text plus
 * the alert(s) in the one alert format (docs/schemas/alert.schema.json).
 */
export function notificationDocument(notification: Notification): Record<string, unknown> {
  return {
    deliveryId: notification.deliveryId,
    kind: notification.kind,
    title: notification.title,
    text: notification.text,
    alert: notification.alert,
    alerts: notification.alerts,
  };
}
