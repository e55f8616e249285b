// The consuming loop both Stockade consumers run (stock events, channel orders): pull from a
// durable JetStream consumer, never more than the consumer's capacity in flight, and after any
// interruption — a nats-server restart, a wiped store — recreate what is missing and go on.

import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EngineLogger } from '../actors/engine.js';

export interface PullLoop {
  nc: NatsConnection;
  stream: string;
  durable: string;
  /** Messages one pull asks for. */
  pullMessagesMax: number;
  /** Pause after an interruption before recreating the stream and consumer. */
  restartDelayMs: number;
  /** Names the consumer in the log. */
  name: string;
  log: EngineLogger;
  stopped(): boolean;
  /** The open pull, so stop() can close it. */
  opened(messages: ConsumerMessages): void;
  running(running: boolean): void;
  failed(err: Error): void;
  /** Resolves when the consumer may take one more message (its in-flight bound). */
  capacity(): Promise<void> | null;
  handle(m: JsMsg): void;
  /** Create the stream and the consumer when absent (after a restart of the server). */
  ensure(): Promise<void>;
}

export async function runPullLoop(loop: PullLoop): Promise<void> {
  const js = jetstream(loop.nc);
  while (!loop.stopped()) {
    try {
      const consumer = await js.consumers.get(loop.stream, loop.durable);
      const messages = await consumer.consume({ max_messages: loop.pullMessagesMax });
      loop.opened(messages);
      // stop() may have run while consume() was being set up, with nothing yet to close.
      if (loop.stopped()) {
        void messages.close();
        break;
      }
      loop.running(true);
      for await (const m of messages) {
        for (let wait = loop.capacity(); wait; wait = loop.capacity()) await wait;
        loop.handle(m);
      }
    } catch (err) {
      loop.failed(err as Error);
      loop.log.error({ err: (err as Error).message }, `${loop.name} interrupted; recreating`);
    }
    loop.running(false);
    if (loop.stopped()) break;
    await new Promise((resolve) => setTimeout(resolve, loop.restartDelayMs));
    await loop.ensure().catch((err: Error) => loop.failed(err));
  }
}
