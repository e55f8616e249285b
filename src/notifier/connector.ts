// The connector interface every notifier channel implements (Slack, Teams, SMTP, Jira …).
// A connector turns one notification into the one request its vendor documents and says how it
// went; retries, circuits, fallbacks and the delivery ledger live in the notifier, not here.

import type { Alert } from '../alerts/alert.js';

export type NotificationKind = 'alert' | 'recovery' | 'digest' | 'escalation' | 'reminder';

/** What the notifier hands a connector: the alert(s) and text already rendered for this receiver. */
export interface Notification {
  kind: NotificationKind;
  /** The alert notice this is about (the first one of a digest). */
  alert: Alert;
  /** Every alert of a digest; [alert] otherwise. */
  alerts: Alert[];
  /** Rendered from the receiver's templates (src/notifier/templates). */
  title: string;
  text: string;
  /**
   * Stable per (notice, receiver): vendors that take an idempotency or dedup key get this one, so
   * a resend after a crash is dropped by the vendor too.
   */
  deliveryId: string;
}

/**
 * How one attempt went. `retry` is for rate limits, timeouts and 5xx (retryAfterMs from the
 * vendor's hint when it gave one); `permanent` is for answers a retry cannot fix (most 4xx).
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; receipt?: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'permanent'; reason: string };

export interface ConnectorContext {
  /** Aborted when the attempt times out or the notifier stops. */
  signal: AbortSignal;
}

export interface Connector {
  readonly type: string;
  send(notification: Notification, context: ConnectorContext): Promise<DeliveryOutcome>;
  /** Release sockets, broker channels, sessions. */
  close?(): Promise<void>;
}

/** Documentation a connector carries, from which docs/channels.md is generated. */
export interface ConnectorDoc {
  /** The vendor's product and what is sent, e.g. "Slack chat.postMessage with Block Kit". */
  sends: string;
  /** A valid example configuration (secrets as placeholders). */
  exampleConfig: Record<string, unknown>;
  /** How the vendor's rate limits and errors are treated. */
  rateLimits: string;
}

export interface ConnectorDependencies {
  /** fetch to use (tests may wrap it); always the global one in production. */
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  now: () => number;
}

export interface ConnectorFactory<C = Record<string, unknown>> {
  /** The `type` a receiver names in the notifier configuration, e.g. "slack". */
  readonly type: string;
  /**
   * JSON Schema of the connector's configuration. `additionalProperties: false` and `required`
   * so a missing or misspelt field is rejected at start with its name. Compiled once (ajv).
   */
  readonly configSchema: Record<string, unknown>;
  readonly doc: ConnectorDoc;
  create(config: C, deps: ConnectorDependencies): Connector;
}
