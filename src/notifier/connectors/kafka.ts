// Kafka: one record per notification on a topic, through kafkajs's idempotent producer
// (idempotent: true, maxInFlightRequests 1, acks all), so the broker drops the producer's own
// retries of a batch. The record key is the alert id: every notice of an episode lands on one
// partition, in order. No Kafka broker can be installed on the development machine, so the tests
// check the producer options, the record and the mapping of kafkajs errors with the producer
// injected, plus one real kafkajs producer failing to reach a closed port.

import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type ProducerConfig, type ProducerRecord, type RecordMetadata } from 'kafkajs';
import type { Connector, ConnectorFactory, ConnectorDependencies, DeliveryOutcome, Notification } from '../connector.js';
import { closedObject, nonEmptyString } from './more-b-support.js';

export interface KafkaConnectorConfig {
  /** host:port of one or more bootstrap brokers. */
  brokers: string[];
  topic: string;
  clientId?: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** kafkajs's own retries of one send before it gives up and the notifier's backoff takes over. */
  retriesMax?: number;
}

/** What the connector needs of a kafkajs producer (tests inject their own). */
export interface KafkaProducerLike {
  connect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

const VENDOR = 'Kafka';
const CLIENT_ID_DEFAULT = 'stockade-notifier';
const CONNECTION_TIMEOUT_MS_DEFAULT = 3_000;
const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
const RETRIES_MAX_DEFAULT = 5;
/** acks = -1: every in-sync replica has the record before the send resolves (required by idempotence). */
const ACKS_ALL = -1;
const BROKERS_MAX = 32;

/** The kafkajs client and producer options this connector always uses. */
export function kafkaOptions(config: KafkaConnectorConfig): { client: KafkaJsConfig; producer: ProducerConfig } {
  const client: KafkaJsConfig = {
    clientId: config.clientId ?? CLIENT_ID_DEFAULT,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS_DEFAULT,
    requestTimeout: config.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
    retry: { retries: config.retriesMax ?? RETRIES_MAX_DEFAULT },
    logLevel: logLevel.NOTHING,
  };
  if (config.ssl !== undefined) client.ssl = config.ssl;
  if (config.sasl !== undefined) client.sasl = { ...config.sasl } as KafkaJsConfig['sasl'];
  // Idempotence needs at most one request in flight per connection to keep per-partition order.
  const producer: ProducerConfig = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false };
  return { client, producer };
}

/** The record for one notification: key = alert id, JSON value, delivery id as a header. */
export function recordOf(config: KafkaConnectorConfig, notification: Notification): ProducerRecord {
  const value = {
    kind: notification.kind,
    deliveryId: notification.deliveryId,
    title: notification.title,
    text: notification.text,
    alert: notification.alert,
    alerts: notification.alerts.length > 1 ? notification.alerts : undefined,
  };
  return {
    topic: config.topic,
    acks: ACKS_ALL,
    messages: [
      {
        key: notification.alert.id,
        value: JSON.stringify(value),
        headers: { 'delivery-id': notification.deliveryId, 'content-type': 'application/json', 'alert-type': notification.alert.type },
      },
    ],
  };
}

/** kafkajs errors whose class says a later attempt can succeed even when `retriable` is unset. */
const TRANSIENT_ERROR_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

interface KafkaJsErrorShape {
  name?: string;
  message?: string;
  retriable?: boolean;
  type?: string;
  cause?: unknown;
}

/**
 * kafkajs marks every error `retriable` or not. When its own retries run out it throws
 * KafkaJSNumberOfRetriesExceeded (never retriable itself) around the last error: the cause says
 * whether the notifier's later attempt can pass (a broker down) or not (no such topic, not allowed).
 */
export function outcomeOfKafkaError(err: unknown): DeliveryOutcome {
  let error = err as KafkaJsErrorShape;
  while (error?.name === 'KafkaJSNumberOfRetriesExceeded' && error.cause !== undefined) error = error.cause as KafkaJsErrorShape;
  const reason = `${VENDOR} refused or not reached: ${error?.name ?? 'Error'}${error?.type ? ` ${error.type}` : ''}: ${error?.message ?? String(err)}`;
  if (error?.retriable === true || TRANSIENT_ERROR_NAMES.has(error?.name ?? '')) return { kind: 'retry', reason };
  if (error?.retriable === false) return { kind: 'permanent', reason };
  // Not a kafkajs error (a socket error before kafkajs wrapped it): a later attempt may pass.
  return { kind: 'retry', reason };
}

function kafkajsProducer(config: KafkaConnectorConfig): KafkaProducerLike {
  const { client, producer } = kafkaOptions(config);
  return new Kafka(client).producer(producer);
}

export function createKafkaConnector(
  config: KafkaConnectorConfig,
  _deps: ConnectorDependencies,
  makeProducer: (config: KafkaConnectorConfig) => KafkaProducerLike = kafkajsProducer,
): Connector {
  const producer = makeProducer(config);
  let connected: Promise<void> | undefined;
  const connect = (): Promise<void> => {
    connected ??= producer.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    return connected;
  };
  return {
    type: 'kafka',
    async send(notification, { signal }) {
      // A send already handed to kafkajs is not abandoned on abort: resending it from the
      // notifier would be a second record the idempotent producer cannot recognise. kafkajs's
      // own timeouts (requestTimeoutMs × retriesMax) bound it instead.
      if (signal.aborted) return { kind: 'retry', reason: `${VENDOR}: attempt aborted before sending` };
      try {
        await connect();
        const [metadata] = await producer.send(recordOf(config, notification));
        const receipt = metadata ? `${metadata.topicName}/${metadata.partition}@${metadata.baseOffset ?? metadata.offset ?? '?'}` : undefined;
        return receipt === undefined ? { kind: 'delivered' } : { kind: 'delivered', receipt };
      } catch (err) {
        return outcomeOfKafkaError(err);
      }
    },
    async close() {
      if (connected === undefined) return;
      connected = undefined;
      await producer.disconnect().catch(() => undefined);
    },
  };
}

export const kafkaConnector: ConnectorFactory<KafkaConnectorConfig> = {
  type: 'kafka',
  configSchema: closedObject(
    {
      brokers: { type: 'array', minItems: 1, maxItems: BROKERS_MAX, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]{1,5}$' } },
      topic: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$' },
      clientId: nonEmptyString,
      ssl: { type: 'boolean' },
      sasl: closedObject(
        { mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] }, username: nonEmptyString, password: nonEmptyString },
        ['mechanism', 'username', 'password'],
      ),
      connectionTimeoutMs: { type: 'integer', minimum: 100, maximum: 60_000 },
      requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 },
      // kafkajs refuses an idempotent producer that may not retry.
      retriesMax: { type: 'integer', minimum: 1, maximum: 20 },
    },
    ['brokers', 'topic'],
  ),
  doc: {
    sends:
      'Kafka record (kafkajs idempotent producer: idempotent true, maxInFlightRequests 1, acks all, no topic auto-creation) on ' +
      'the configured topic: key = alert id (one partition per episode, in order), value = JSON {kind, deliveryId, title, text, ' +
      'alert, alerts}, headers delivery-id, content-type, alert-type. Not tested against a broker here: none can be installed on ' +
      'the development machine, so the tests inject the producer (options, record, error mapping) and run one real kafkajs ' +
      'producer against a closed port.',
    exampleConfig: { brokers: ['kafka-1.acme.local:9092', 'kafka-2.acme.local:9092'], topic: 'stockade.alerts', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'stockade', password: '<password>' } },
    rateLimits:
      'No vendor rate limit; broker quotas throttle the producer inside kafkajs. Retriable kafkajs errors (connection refused, ' +
      'request timeout, leader not available, not enough replicas) → retry, also when kafkajs\'s own retries ran out; ' +
      'non-retriable ones (topic or cluster authorization failed, unknown topic, message too large, SASL authentication) → permanent.',
  },
  create: (config, deps) => createKafkaConnector(config, deps),
};
