// Amazon SNS Publish through the AWS SDK (SigV4, query protocol). FIFO topics (*.fifo) get
// MessageGroupId = SKU (notices of one SKU stay in order) and MessageDeduplicationId derived from
// the deliveryId, so SNS drops a resend within its five-minute deduplication window. The SDK's
// own retries are off (maxAttempts 1): the notifier owns retries and backoff.

import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import type { Connector, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { objectSchema, secretSchema, sha256Hex, urlSchema } from './vendor-request.js';

export interface SnsConfig {
  topicArn: string;
  region: string;
  /** Static credentials; without them the SDK's default provider chain (env, profile, role) is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Overrides the regional endpoint (tests, VPC endpoints, LocalStack). */
  endpoint?: string;
  /** "json" (default): the notice as JSON for machine subscribers; "text" for e-mail/SMS subscribers. */
  messageFormat?: 'json' | 'text';
}

/** SNS subjects: printable ASCII, no line breaks, at most 100 characters. */
const SUBJECT_CHARS_MAX = 100;
/** Group and deduplication ids: at most 128 characters of letters, digits and punctuation. */
const SNS_ID_CHARS_MAX = 128;
const SNS_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
/** SNS refuses messages over 256 KiB (message and attributes together); leave room for the attributes. */
const MESSAGE_BYTES_MAX = 250 * 1024;

/** Error names the SDK gives SNS and AWS answers that mean "later", not "never". */
const RETRYABLE_ERROR_NAMES = new Set([
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
  'InternalErrorException',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
]);

export function snsSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?').trim();
  return (ascii.length > 0 ? ascii : 'Stockade alert').slice(0, SUBJECT_CHARS_MAX);
}

/** The deliveryId when SNS accepts it as an id, else its SHA-256 (64 hex characters). */
export function snsDeduplicationId(deliveryId: string): string {
  return SNS_ID_PATTERN.test(deliveryId) && deliveryId.length <= SNS_ID_CHARS_MAX ? deliveryId : sha256Hex(deliveryId);
}

/** The message within SNS's size limit: a large digest keeps its first alerts and counts the rest. */
export function snsMessage(config: SnsConfig, notification: Notification): string {
  if (config.messageFormat === 'text') return truncateBytes(`${notification.title}\n\n${notification.text}`, MESSAGE_BYTES_MAX);
  let alerts = notification.alerts;
  for (;;) {
    const message = JSON.stringify({
      kind: notification.kind,
      title: notification.title,
      text: notification.text,
      deliveryId: notification.deliveryId,
      alerts,
      alertsOmitted: notification.alerts.length - alerts.length,
    });
    if (Buffer.byteLength(message, 'utf8') <= MESSAGE_BYTES_MAX || alerts.length <= 1) return message;
    alerts = alerts.slice(0, Math.floor(alerts.length / 2));
  }
}

function truncateBytes(text: string, bytesMax: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= bytesMax) return text;
  // Cutting inside a multi-byte character leaves a replacement character; drop it.
  return bytes.subarray(0, bytesMax - 3).toString('utf8').replace(/\uFFFD$/, '') + '…';
}

export function outcomeOfSnsError(err: unknown): DeliveryOutcome {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  const reason = `Amazon SNS ${e.name ?? 'error'}${status === undefined ? '' : ` (${status})`}: ${String(e.message ?? err).slice(0, 300)}`;
  // No HTTP status at all: the request never got an answer (connection refused, abort, DNS).
  if (status === undefined || status >= 500 || status === 429 || e.$retryable !== undefined || RETRYABLE_ERROR_NAMES.has(e.name ?? '')) {
    return { kind: 'retry', reason };
  }
  // InvalidParameter, NotFound, AuthorizationError, EndpointDisabled, KMS access denied …
  return { kind: 'permanent', reason };
}

export const snsConnector: ConnectorFactory<SnsConfig> = {
  type: 'sns',
  configSchema: objectSchema(
    {
      topicArn: { type: 'string', pattern: '^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$' },
      region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$' },
      accessKeyId: { type: 'string', pattern: '^[A-Z0-9]{16,128}$' },
      secretAccessKey: secretSchema,
      sessionToken: secretSchema,
      endpoint: urlSchema,
      messageFormat: { enum: ['json', 'text'] },
    },
    ['topicArn', 'region'],
    { dependencies: { accessKeyId: ['secretAccessKey'], secretAccessKey: ['accessKeyId'], sessionToken: ['accessKeyId'] } },
  ),
  doc: {
    sends: 'Amazon SNS Publish (AWS SDK v3): Subject = title (ASCII, 100 chars), Message = the notice as JSON (or text), MessageAttributes severity/alertType/sku/status for subscription filter policies; FIFO topics: MessageGroupId = SKU, MessageDeduplicationId = delivery id',
    exampleConfig: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:sales-stock-notify', region: 'eu-west-1' },
    rateLimits: 'MessageId → delivered; ThrottledException/Throttling, KMSThrottling, InternalError, 5xx and no answer → retry (SDK retries off; the notifier backs off); InvalidParameter, NotFound, AuthorizationError and other 4xx → permanent.',
  },
  create(config): Connector {
    const client = new SNSClient({
      region: config.region,
      maxAttempts: 1,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      ...(config.accessKeyId === undefined
        ? {}
        : { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey!, sessionToken: config.sessionToken } }),
    });
    const fifo = config.topicArn.endsWith('.fifo');
    return {
      type: 'sns',
      async send(notification, { signal }): Promise<DeliveryOutcome> {
        const a = notification.alert;
        const input: PublishCommandInput = {
          TopicArn: config.topicArn,
          Subject: snsSubject(notification.title),
          Message: snsMessage(config, notification),
          MessageAttributes: {
            severity: { DataType: 'String', StringValue: a.severity },
            alertType: { DataType: 'String', StringValue: a.type },
            sku: { DataType: 'String', StringValue: a.sku },
            status: { DataType: 'String', StringValue: a.status },
          },
        };
        if (fifo) {
          input.MessageGroupId = a.sku;
          input.MessageDeduplicationId = snsDeduplicationId(notification.deliveryId);
        }
        try {
          const answer = await client.send(new PublishCommand(input), { abortSignal: signal });
          return answer.MessageId === undefined ? { kind: 'delivered' } : { kind: 'delivered', receipt: answer.MessageId };
        } catch (err) {
          return outcomeOfSnsError(err);
        }
      },
      async close(): Promise<void> {
        client.destroy();
      },
    };
  },
};
