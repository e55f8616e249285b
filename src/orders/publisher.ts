// Where order events go after their change is durable: JetStream (stream ORDERS holds orders.>).
// The Nats-Msg-Id is the event's deterministic id, so a republish after a restart inside the
// stream's duplicate window is dropped by JetStream instead of delivered twice.

import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface OrderEventPublisher {
  /** Resolves when JetStream has stored the message (or recognised it as a duplicate). */
  publish(subject: string, payload: string, msgId: string): Promise<void>;
}

export function natsOrderPublisher(nc: NatsConnection, timeoutMs = 5000): OrderEventPublisher {
  const js = jetstream(nc, { timeout: timeoutMs });
  return {
    async publish(subject, payload, msgId) {
      await js.publish(subject, payload, { msgID: msgId });
    },
  };
}
