// Alert history for audit and reporting: every notice and every delivery attempt, published to a
// JetStream stream (NOTIFIER_HISTORY) that all notifiers share, and read back with a filtered
// ordered consumer. Subjects carry what queries filter on, so the server does the filtering:
//   notifier.history.<type>.<sku b64url>.<alert id b64url>.<record kind>
// Time ranges start the consumer at `from` (opt_start_time) and stop at `to`; answers are bounded
// by a limit the caller picks up to historyLimitMax.

import { AckPolicy, DeliverPolicy, jetstream, RetentionPolicy, StorageType, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Alert, AlertSeverity, AlertStatus, AlertType } from '../alerts/alert.js';
import type { NotificationKind } from './connector.js';
import { encodeKey } from './kv.js';

export const HISTORY_SUBJECT_PREFIX = 'notifier.history';
/** The SKU token of records without a SKU (poison messages): never a base64url encoding of text. */
const NO_SKU_TOKEN = '-';
const NANOS_PER_MS = 1_000_000;
/** Longest wait for the next history message while answering a query. */
const HISTORY_READ_EXPIRES_MS = 2000;
/** A query's consumer is removed by the server this long after a notifier died mid-query. */
const HISTORY_CONSUMER_IDLE_MS = 60_000;

export type HistoryRecordKind = 'notice' | 'attempt' | 'ack' | 'escalation' | 'poison';
export type AttemptOutcome = 'delivered' | 'retry' | 'permanent' | 'dead' | 'uncertain' | 'duplicate' | 'circuit_open';

export interface HistoryRecord {
  record: HistoryRecordKind;
  /** Epoch ms when the notifier wrote it. */
  recordedAt: number;
  instance: string;
  alertId: string;
  noticeId: string;
  status: AlertStatus | null;
  type: AlertType | null;
  severity: AlertSeverity | null;
  sku: string | null;
  location: string | null;
  /** Attempts: the receiver (and the original one when a fallback took it). */
  receiver?: string;
  fallbackFor?: string;
  notificationKind?: NotificationKind;
  deliveryId?: string;
  outcome?: AttemptOutcome;
  reason?: string;
  /** From the alert's decision time (raisedAt / resolvedAt) to the connector's answer. */
  latencyMs?: number;
  attempt?: number;
  /** Notices: receivers routed to (escalations: escalated to), and the rules that matched. */
  receivers?: string[];
  rules?: string[];
  /** Ack: who acknowledged. */
  by?: string;
}

export interface HistoryQuery {
  sku?: string;
  type?: string;
  alertId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, inclusive. */
  to?: number;
  records?: HistoryRecordKind[];
  limit: number;
}

export function historyRecordOf(alert: Alert, record: HistoryRecordKind, recordedAt: number, instance: string, extra: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    record,
    recordedAt,
    instance,
    alertId: alert.id,
    noticeId: alert.noticeId,
    status: alert.status,
    type: alert.type,
    severity: alert.severity,
    sku: alert.sku,
    location: alert.location,
    ...extra,
  };
}

function tokenOrAny(value: string | undefined): string {
  return value === undefined ? '*' : encodeKey(value);
}

export class AlertHistory {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
  ) {}

  static async open(nc: NatsConnection, jsm: JetStreamManager, stream: string, maxAgeMs: number): Promise<AlertHistory> {
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      try {
        await jsm.streams.add({
          name: stream,
          subjects: [`${HISTORY_SUBJECT_PREFIX}.>`],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          max_age: maxAgeMs * NANOS_PER_MS,
          duplicate_window: 2 * 60_000 * NANOS_PER_MS,
        });
      } catch (addErr) {
        if (!/already in use|exists/i.test((addErr as Error).message)) throw addErr;
      }
    }
    return new AlertHistory(nc, jsm, stream);
  }

  subjectOf(r: Pick<HistoryRecord, 'type' | 'sku' | 'alertId' | 'record'>): string {
    return `${HISTORY_SUBJECT_PREFIX}.${r.type ?? 'unknown'}.${r.sku ? encodeKey(r.sku) : NO_SKU_TOKEN}.${encodeKey(r.alertId)}.${r.record}`;
  }

  /**
   * Durable once this resolves (JetStream acknowledged the publish). `msgId` makes a repeated
   * write of the same fact (a redelivered notice) one record.
   */
  async append(record: HistoryRecord, msgId?: string): Promise<void> {
    await jetstream(this.nc).publish(this.subjectOf(record), JSON.stringify(record), msgId ? { msgID: msgId } : undefined);
  }

  async query(q: HistoryQuery): Promise<HistoryRecord[]> {
    const record = q.records && q.records.length === 1 ? q.records[0] : '*';
    const filter = `${HISTORY_SUBJECT_PREFIX}.${q.type ?? '*'}.${tokenOrAny(q.sku)}.${tokenOrAny(q.alertId)}.${record}`;
    // An ephemeral consumer (not an ordered one) so its info tells at once how many match.
    const created = await this.jsm.consumers.add(this.stream, {
      filter_subject: filter,
      ack_policy: AckPolicy.None,
      inactive_threshold: HISTORY_CONSUMER_IDLE_MS * NANOS_PER_MS,
      mem_storage: true,
      ...(q.from !== undefined ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(q.from).toISOString() } : { deliver_policy: DeliverPolicy.All }),
    });
    const consumer = await jetstream(this.nc).consumers.get(this.stream, created.name);
    const out: HistoryRecord[] = [];
    let left = created.num_pending;
    while (left > 0 && out.length < q.limit) {
      const batch = await consumer.fetch({ max_messages: Math.min(left, 256), expires: HISTORY_READ_EXPIRES_MS });
      let got = 0;
      let past = false;
      for await (const m of batch) {
        got++;
        left = m.info.pending;
        const r = m.json<HistoryRecord>();
        if (q.to !== undefined && r.recordedAt > q.to) {
          past = true;
          break;
        }
        if (q.from !== undefined && r.recordedAt < q.from) continue;
        if (q.records && !q.records.includes(r.record)) continue;
        out.push(r);
        if (out.length >= q.limit) break;
      }
      if (got === 0 || past) break;
    }
    await consumer.delete().catch(() => undefined);
    // Records of one notice are written concurrently (the notice beside its first attempts), so the
    // stream order is not the order of events: answer in recordedAt order, a notice first on a tie.
    return out.sort((a, b) => a.recordedAt - b.recordedAt || Number(b.record === 'notice') - Number(a.record === 'notice'));
  }
}

const CSV_COLUMNS = [
  'recordedAt',
  'record',
  'alertId',
  'noticeId',
  'status',
  'type',
  'severity',
  'sku',
  'location',
  'receiver',
  'fallbackFor',
  'notificationKind',
  'deliveryId',
  'outcome',
  'reason',
  'latencyMs',
  'attempt',
  'receivers',
  'rules',
  'by',
  'instance',
] as const;

/** RFC 4180: a field holding a comma, quote, CR or LF is quoted, quotes doubled; lines end CRLF. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = Array.isArray(value) ? value.join(' ') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function historyCsv(records: HistoryRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    lines.push(
      CSV_COLUMNS.map((c) => (c === 'recordedAt' ? new Date(r.recordedAt).toISOString() : csvField((r as unknown as Record<string, unknown>)[c]))).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
