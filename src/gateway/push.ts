// Frames the gateway pushes over WebSocket topics, in both formats clients may have chosen.

import { Packr } from 'msgpackr';
import type uWS from 'uWebSockets.js';

// Plain msgpack (no records): clients in any language must read our frames without a schema.
export const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A push to a topic's JSON subscribers and to its msgpack ones, each encoded only when someone
 * listens in that format.
 */
export function publishToTopics(app: uWS.TemplatedApp, textTopic: string, binaryTopic: string, message: unknown): void {
  if (app.numSubscribers(textTopic) > 0) app.publish(textTopic, JSON.stringify(message), false);
  if (app.numSubscribers(binaryTopic) > 0) app.publish(binaryTopic, packr.pack(message), true);
}
