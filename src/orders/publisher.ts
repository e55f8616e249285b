// Where order events go after their change is durable: JetStream (stream ORDERS holds orders.>).
// The Nats-Msg-Id is the event's deterministic id, so a republish after a restart inside the
// stream's duplicate window is dropped by JetStream instead of delivered twice.

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface OrderEventPublisher {
  /** Resolves when JetStream has stored the message (or recognised it as a duplicate). */
  publish(subject: string, payload: string, msgId: string): Promise<void>;
}

/**
 * A JetStream publisher. Give it the connection, or a function that returns the connection once
 * there is one (the process connects to NATS in the background): until then publishes fail and
 * the outbox retries them.
 */
export function natsOrderPublisher(connection: NatsConnection | (() => NatsConnection | null), timeoutMs = 5000): OrderEventPublisher {
  let client: JetStreamClient | null = null;
  let clientOf: NatsConnection | null = null;
  return {
    async publish(subject, payload, msgId) {
      const nc = typeof connection === 'function' ? connection() : connection;
      if (!nc) throw new Error('NATS is not connected yet');
      if (clientOf !== nc) {
        client = jetstream(nc, { timeout: timeoutMs });
        clientOf = nc;
      }
      await client!.publish(subject, payload, { msgID: msgId });
    },
  };
}
