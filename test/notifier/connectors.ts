// Connectors for the notifier tests, registered through the injectable registry:
// - `recording`: in memory; each named sink records what it was sent and answers from a script.
// - `test-webhook`: a plain JSON POST carrying the deliveryId as Idempotency-Key, for the tests that
//   run the notifier as a child process against a local HTTP receiver.

import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectorFactory, DeliveryOutcome, Notification } from '../../src/notifier/connector.js';
import { outcomeOfNetworkError, outcomeOfResponse } from '../../src/notifier/http-outcome.js';

export interface SentRecord {
  notification: Notification;
  at: number;
}

export class RecordingSink extends EventEmitter {
  readonly sent: SentRecord[] = [];
  /** Answers for the next sends, in order; `delivered` once empty. */
  readonly script: DeliveryOutcome[] = [];
  constructor(readonly now: () => number) {
    super();
  }

  /** Resolves once `count` notifications in total were sent here. */
  async waitFor(count: number): Promise<SentRecord[]> {
    while (this.sent.length < count) await once(this, 'sent');
    return this.sent;
  }
}

const sinks = new Map<string, RecordingSink>();

/** A fresh sink per test (names are unique per test run). */
export function sink(name: string, now: () => number = Date.now): RecordingSink {
  const s = new RecordingSink(now);
  sinks.set(name, s);
  return s;
}

export const recordingFactory: ConnectorFactory<{ sink: string }> = {
  type: 'recording',
  configSchema: { type: 'object', additionalProperties: false, required: ['sink'], properties: { sink: { type: 'string', minLength: 1 } } },
  doc: { sends: 'nothing: records in memory (tests)', exampleConfig: { sink: 'name' }, rateLimits: 'scripted' },
  create(config) {
    return {
      type: 'recording',
      async send(notification) {
        const s = sinks.get(config.sink);
        if (!s) throw new Error(`no sink ${config.sink}`);
        const outcome = s.script.shift() ?? { kind: 'delivered' };
        s.sent.push({ notification, at: s.now() });
        s.emit('sent');
        return outcome;
      },
    };
  },
};

export const testWebhookFactory: ConnectorFactory<{ url: string }> = {
  type: 'test-webhook',
  configSchema: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string', pattern: '^https?://' } } },
  doc: { sends: 'JSON POST (tests)', exampleConfig: { url: 'http://127.0.0.1:9999/hook' }, rateLimits: 'Retry-After honoured' },
  create(config, deps) {
    return {
      type: 'test-webhook',
      async send(notification, context) {
        try {
          const response = await deps.fetch(config.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': notification.deliveryId },
            body: JSON.stringify({ deliveryId: notification.deliveryId, kind: notification.kind, title: notification.title, text: notification.text }),
            signal: context.signal,
          });
          return await outcomeOfResponse(response, 'test-webhook', deps.now());
        } catch (err) {
          return outcomeOfNetworkError(err, 'test-webhook');
        }
      },
    };
  },
};

export const TEST_REGISTRY: ReadonlyMap<string, ConnectorFactory<any>> = new Map<string, ConnectorFactory<any>>([
  [recordingFactory.type, recordingFactory],
  [testWebhookFactory.type, testWebhookFactory],
]);

export interface ReceivedRequest {
  deliveryId: string;
  body: { deliveryId: string; kind: string; title: string; text: string };
  respond: (status: number) => void;
}

/** A local webhook endpoint: records each request; answers 200 unless told to hold the answer. */
export class LocalReceiver extends EventEmitter {
  readonly requests: ReceivedRequest[] = [];
  holdAnswers = false;
  private server!: Server;
  private readonly open = new Set<ServerResponse>();
  url = '';

  static async start(): Promise<LocalReceiver> {
    const r = new LocalReceiver();
    r.server = createServer((req, res) => void r.handle(req, res));
    r.server.listen(0, '127.0.0.1');
    await once(r.server, 'listening');
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
    return r;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    this.open.add(res);
    const respond = (status: number) => {
      this.open.delete(res);
      if (!res.destroyed) res.writeHead(status).end();
    };
    const request: ReceivedRequest = { deliveryId: String(req.headers['idempotency-key']), body, respond };
    this.requests.push(request);
    if (!this.holdAnswers) respond(200);
    this.emit('request', request);
  }

  async waitFor(count: number): Promise<ReceivedRequest[]> {
    while (this.requests.length < count) await once(this, 'request');
    return this.requests;
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
