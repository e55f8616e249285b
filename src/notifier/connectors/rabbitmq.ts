// RabbitMQ with amqplib: the notification as a persistent JSON message (deliveryMode 2,
// messageId = deliveryId, so consumers can drop a resend) on a confirm channel, published to an
// exchange asserted when the connection opens, with a routing key from a template such as
// `alerts.{{type}}.{{severity}}`. A send is delivered only once the broker confirms it; a nack,
// a closed channel or a lost connection is a retry, and the next send connects again.

import { connect as amqpConnect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { Connector, ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { checkedConfig, notificationDocument } from './common.js';

export const ROUTING_KEY_TEMPLATE_DEFAULT = 'alerts.{{type}}.{{severity}}';
/** AMQP 0-9-1 routing keys are a short string: at most 255 bytes. */
export const ROUTING_KEY_BYTES_MAX = 255;
/** Published messages waiting for their confirm; beyond this a send is refused as `retry`. */
export const PUBLISHES_UNCONFIRMED_MAX_DEFAULT = 1000;
export const AMQP_CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
export const AMQP_HEARTBEAT_SECONDS_DEFAULT = 30;
/** close() waits this long for the broker's CloseOk before it lets the connection go. */
export const AMQP_CLOSE_TIMEOUT_MS = 5_000;

/** What a routing key template may name; anything else in `{{…}}` is rejected at start. */
export const ROUTING_KEY_FIELDS = ['type', 'severity', 'sku', 'status', 'kind', 'location', 'region', 'category'] as const;
type RoutingKeyField = (typeof ROUTING_KEY_FIELDS)[number];

// AMQP reply codes that mean the configuration is wrong, not the moment: access refused (403),
// no such vhost/exchange (404), exchange exists with other settings (406).
const AMQP_PERMANENT_REPLY_CODES = new Set([403, 404, 406]);

export interface RabbitMqConfig {
  /** amqp://user:password@host:5672/vhost (or amqps://). */
  url: string;
  exchange: string;
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers';
  /** e.g. "alerts.{{type}}.{{severity}}"; fields: type, severity, sku, status, kind, location, region, category. */
  routingKey?: string;
  /** Ask the broker to return a message no queue is bound for, and treat that as a retry. */
  mandatory?: boolean;
  publishesUnconfirmedMax?: number;
  connectTimeoutMs?: number;
  heartbeatSeconds?: number;
}

/** The routing key of a notification; a missing location/region/category reads "none". */
export function routingKeyOf(template: string, notification: Notification): string {
  const alert = notification.alert;
  const values: Record<RoutingKeyField, string> = {
    type: alert.type,
    severity: alert.severity,
    sku: alert.sku,
    status: alert.status,
    kind: notification.kind,
    location: alert.location ?? 'none',
    region: alert.region ?? 'none',
    category: alert.category ?? 'none',
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, field: string) => values[field as RoutingKeyField]);
}

export type AmqpConnect = (url: string, socketOptions: Record<string, unknown>) => Promise<ChannelModel>;

interface Session {
  model: ChannelModel;
  channel: ConfirmChannel;
  /**
   * messageIds the broker returned as unroutable (mandatory publishes). The broker sends the
   * return before the ack, so the confirm callback finds its id here; entries leave with their
   * confirm, so this never holds more than the unconfirmed publishes.
   */
  returned: Set<string>;
}

function describe(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/**
 * The AMQP reply code of a failure: channel errors carry it as `code`; a refused handshake only
 * names it in the message ("Handshake terminated by server: 403 (ACCESS-REFUSED) …").
 */
function replyCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number') return code;
  const named = /\b(\d{3}) \([A-Z_-]+\)/.exec(describe(err));
  return named ? Number(named[1]) : undefined;
}

/** A failure to connect or to set the channel up → outcome (403/404/406 need a person). */
function setupOutcome(err: unknown): DeliveryOutcome {
  const code = replyCodeOf(err);
  const reason = `RabbitMQ connection or exchange setup failed: ${describe(err)}`;
  const permanent = code !== undefined && AMQP_PERMANENT_REPLY_CODES.has(code);
  return permanent ? { kind: 'permanent', reason } : { kind: 'retry', reason };
}

/** Rejects as soon as `signal` aborts, so a hung connect never outlives the attempt. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('attempt aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('attempt aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

class RabbitMqPublisher implements Connector {
  readonly type = 'rabbitmq';
  private current: Session | null = null;
  private opening: Promise<Session> | null = null;
  private unconfirmed = 0;
  private closed = false;

  constructor(
    private readonly config: RabbitMqConfig,
    private readonly deps: ConnectorDependencies,
    private readonly connect: AmqpConnect,
  ) {}

  private get template(): string {
    return this.config.routingKey ?? ROUTING_KEY_TEMPLATE_DEFAULT;
  }

  /** The open session, or one being opened; at most one connection attempt at a time. */
  private session(): Promise<Session> {
    if (this.current) return Promise.resolve(this.current);
    if (!this.opening) {
      this.opening = this.open().finally(() => {
        this.opening = null;
      });
    }
    return this.opening;
  }

  private async open(): Promise<Session> {
    const model = await this.connect(this.config.url, {
      timeout: this.config.connectTimeoutMs ?? AMQP_CONNECT_TIMEOUT_MS_DEFAULT,
      heartbeat: this.config.heartbeatSeconds ?? AMQP_HEARTBEAT_SECONDS_DEFAULT,
      clientProperties: { connection_name: `stockade-notifier ${this.config.exchange}` },
    });
    // Without an 'error' listener a broker-side close would be thrown as an uncaught event.
    model.on('error', () => undefined);
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', () => undefined);
      await channel.assertExchange(this.config.exchange, this.config.exchangeType ?? 'topic', { durable: true });
      const session: Session = { model, channel, returned: new Set() };
      channel.on('return', (message: { properties: { messageId?: unknown } }) => {
        if (typeof message.properties.messageId === 'string') session.returned.add(message.properties.messageId);
      });
      // Any close forgets the session: the next send opens a new one.
      const forget = () => {
        if (this.current === session) this.current = null;
      };
      model.on('close', forget);
      channel.on('close', () => {
        forget();
        // A channel the broker closed (e.g. the exchange was deleted) leaves its connection open:
        // the next send opens a new one, so this one must not linger.
        model.close().catch(() => undefined);
      });
      if (this.closed) throw new Error('connector closed while connecting');
      this.current = session;
      return session;
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
  }

  async send(notification: Notification, { signal }: { signal: AbortSignal }): Promise<DeliveryOutcome> {
    if (this.closed) return { kind: 'retry', reason: 'the RabbitMQ connector is closed' };
    const routingKey = routingKeyOf(this.template, notification);
    if (Buffer.byteLength(routingKey) > ROUTING_KEY_BYTES_MAX) {
      return { kind: 'permanent', reason: `routing key longer than ${ROUTING_KEY_BYTES_MAX} bytes: ${routingKey.slice(0, 80)}…` };
    }
    let session: Session;
    try {
      session = await untilAborted(this.session(), signal);
    } catch (err) {
      return setupOutcome(err);
    }
    const content = Buffer.from(JSON.stringify(notificationDocument(notification)));
    const options: Options.Publish = {
      persistent: true,
      mandatory: this.config.mandatory ?? false,
      messageId: notification.deliveryId,
      correlationId: notification.alert.id,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(this.deps.now() / 1000),
      type: `stockade.${notification.kind}`,
      appId: 'stockade',
      headers: { 'x-stockade-alert-id': notification.alert.id, 'x-stockade-notice-id': notification.alert.noticeId },
    };
    // Checked here, after the wait for a session, so concurrent sends cannot all slip past it.
    const unconfirmedMax = this.config.publishesUnconfirmedMax ?? PUBLISHES_UNCONFIRMED_MAX_DEFAULT;
    if (this.unconfirmed >= unconfirmedMax) {
      return { kind: 'retry', reason: `${this.unconfirmed} publishes await a confirm (publishesUnconfirmedMax ${unconfirmedMax})` };
    }
    return new Promise<DeliveryOutcome>((resolve) => {
      const onAbort = () => resolve({ kind: 'retry', reason: 'RabbitMQ did not confirm the publish before the attempt was aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      this.unconfirmed += 1;
      const settle = (outcome: DeliveryOutcome) => {
        this.unconfirmed -= 1;
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      try {
        // amqplib calls back on the broker's ack or nack, and with an error when the channel closes first.
        session.channel.publish(this.config.exchange, routingKey, content, options, (err: unknown) => {
          const unroutable = session.returned.delete(notification.deliveryId);
          if (err) settle({ kind: 'retry', reason: `RabbitMQ did not confirm the publish: ${describe(err)}` });
          // A queue may be bound later (a consumer restarting): worth retrying, then dead letters.
          else if (unroutable) settle({ kind: 'retry', reason: `RabbitMQ returned the message: no queue is bound for routing key ${routingKey}` });
          else settle({ kind: 'delivered', receipt: routingKey });
        });
      } catch (err) {
        // The channel closed between session() and publish (IllegalOperationError).
        if (this.current === session) this.current = null;
        settle({ kind: 'retry', reason: `RabbitMQ channel unusable: ${describe(err)}` });
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.current ?? (await this.opening?.catch(() => null)) ?? null;
    this.current = null;
    if (!session) return;
    // A connection that died without telling us never answers the close handshake: stop waiting.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, AMQP_CLOSE_TIMEOUT_MS);
    });
    await Promise.race([session.model.close().catch(() => undefined), gaveUp]);
    clearTimeout(timer);
  }
}

/** The connector with an injectable connect (tests reach the connection to cut it). */
export function createRabbitMqConnector(config: RabbitMqConfig, deps: ConnectorDependencies, connect: AmqpConnect = amqpConnect): Connector {
  return new RabbitMqPublisher(checkedConfig<RabbitMqConfig>(rabbitMqConnector, config), deps, connect);
}

const TEMPLATE_PATTERN = `^([^{}\\s]|\\{\\{(${ROUTING_KEY_FIELDS.join('|')})\\}\\})+$`;

export const rabbitMqConnector: ConnectorFactory<RabbitMqConfig> = {
  type: 'rabbitmq',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'exchange'],
    properties: {
      url: { type: 'string', pattern: '^amqps?://\\S+$', maxLength: 2048 },
      exchange: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,255}$' },
      exchangeType: { enum: ['topic', 'direct', 'fanout', 'headers'] },
      routingKey: { type: 'string', pattern: TEMPLATE_PATTERN, maxLength: ROUTING_KEY_BYTES_MAX },
      mandatory: { type: 'boolean' },
      publishesUnconfirmedMax: { type: 'integer', minimum: 1, maximum: 100_000 },
      connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 },
      heartbeatSeconds: { type: 'integer', minimum: 0, maximum: 600 },
    },
  },
  doc: {
    sends:
      'RabbitMQ (amqplib): the JSON document `{deliveryId, kind, title, text, alert, alerts}` published to a durable exchange (asserted on connect, topic by default) on a confirm channel, persistent (deliveryMode 2), messageId = delivery id, correlationId = alert id, routing key from a template (default `alerts.{{type}}.{{severity}}`; fields type, severity, sku, status, kind, location, region, category).',
    exampleConfig: { url: 'amqp://stockade:REPLACE-ME@rabbitmq.internal:5672/%2F', exchange: 'stockade.alerts', routingKey: 'alerts.{{type}}.{{severity}}' },
    rateLimits:
      'Delivered once the broker confirms. A nack, a closed channel, a lost connection or a connect timeout → retry, and the next send reconnects; refused credentials, a missing vhost or an exchange declared with other settings (403/404/406) → permanent. More than publishesUnconfirmedMax (1000) publishes awaiting confirms → retry. Without `mandatory` a message no queue is bound for is confirmed and dropped by the broker; with `mandatory: true` it comes back and counts as a retry.',
  },
  create(config: RabbitMqConfig, deps: ConnectorDependencies): Connector {
    return createRabbitMqConnector(config, deps);
  },
};
