// The one alert format. Alerts are decided by the SKU actor (src/actors/alerts.ts), written to the
// WAL in the transaction of the change that caused them (the outbox), and published after the
// commit to `alerts.<type>.<severity>.<sku>` with Nats-Msg-Id = `noticeId`. The JSON Schema is
// docs/schemas/alert.schema.json; both change together.

export const ALERT_TYPES = [
  'zero_stock',
  'below_minimum',
  'depletion',
  'lead_time_exhaustion',
  'high_demand',
  'reserved_threatened',
  'fulfilment_failed',
  'manual_out_of_stock',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** `firing` opens an episode; `resolved` is the one recovery notice that ends it. */
export type AlertStatus = 'firing' | 'resolved';

export interface AlertLevels {
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
}

export interface Alert {
  /** Deterministic per episode: `<sku>/<type>/<location or *>/<episode number>`. */
  id: string;
  /** Unique per notice: the id for `firing`, `<id>/resolved` for the recovery notice. Nats-Msg-Id. */
  noticeId: string;
  status: AlertStatus;
  type: AlertType;
  severity: AlertSeverity;
  sku: string;
  /** The location the episode concerns; null when it concerns the SKU as a whole. */
  location: string | null;
  /** Region of the location, when the SKU's thresholds name one. */
  region: string | null;
  category: string | null;
  tags: string[];
  /** Levels when the notice was decided (at `location`, or SKU totals when location is null). */
  levels: AlertLevels;
  /** The threshold that tripped: its name and value, and what was measured against it. */
  threshold: { name: string; value: number; observed: number };
  /** ISO-8601: when the episode opened. */
  raisedAt: string;
  /** ISO-8601: when the episode ended; null while firing. */
  resolvedAt: string | null;
  /** What a person should do about it. */
  suggestedAction: string;
  /** One line for humans, e.g. "Low stock: SKU-1 – just 3 units left." */
  summary: string;
}

/** NATS subject of an alert notice. A SKU may contain dots: every token after the severity is the SKU. */
export function alertSubject(alert: Pick<Alert, 'type' | 'severity' | 'sku'>): string {
  return `alerts.${alert.type}.${alert.severity}.${alert.sku}`;
}

export const ALERT_SUBJECTS = 'alerts.>';
