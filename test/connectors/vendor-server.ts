// A local stand-in for a vendor's HTTP API, for contract tests of connectors: it listens on
// 127.0.0.1 port 0, records every request (method, path with query, headers, raw body) and
// answers as the test tells it — queued replies first, in order, then a default. Replies may be
// functions of the request and may wait on a promise (an answer that never comes tests aborts).
// Nothing here knows a vendor; each test states the vendor's documented shapes itself.

import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as sent, e.g. "/2010-04-01/Accounts/AC…/Messages.json". */
  path: string;
  /** Header names are lower-case (node:http). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8. */
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = any>(): T;
  /** The body parsed as application/x-www-form-urlencoded. */
  form(): URLSearchParams;
}

export interface VendorReply {
  /** Defaults to 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else as JSON (with a JSON content type). */
  body?: unknown;
  /** Answer only once this settles. */
  after?: Promise<unknown>;
}

export type Replier = VendorReply | ((request: RecordedRequest) => VendorReply | Promise<VendorReply>);

export interface VendorServerOptions {
  /** Requests kept for inspection; later ones are answered 503 and counted in `refused`. */
  requestsMax?: number;
  /** Larger bodies are answered 413 and counted in `refused`. */
  bodyBytesMax?: number;
  /** The reply once the queued ones are used up; 200 with an empty body by default. */
  defaultReply?: Replier;
}

export const VENDOR_REQUESTS_MAX_DEFAULT = 1000;
export const VENDOR_BODY_BYTES_MAX_DEFAULT = 1024 * 1024;

export class VendorServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests answered 413/503 without being recorded (over bodyBytesMax or requestsMax). */
  refused = 0;
  private readonly queued: Replier[] = [];
  private defaultReply: Replier;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor(
    private readonly server: Server,
    private readonly options: Required<Omit<VendorServerOptions, 'defaultReply'>>,
    defaultReply: Replier,
  ) {
    this.defaultReply = defaultReply;
  }

  static async start(options: VendorServerOptions = {}): Promise<VendorServer> {
    const server = createServer();
    const vendor = new VendorServer(
      server,
      {
        requestsMax: options.requestsMax ?? VENDOR_REQUESTS_MAX_DEFAULT,
        bodyBytesMax: options.bodyBytesMax ?? VENDOR_BODY_BYTES_MAX_DEFAULT,
      },
      options.defaultReply ?? { status: 200 },
    );
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (bytes > vendor.options.bodyBytesMax) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () => {
        if (tooLarge || vendor.requests.length >= vendor.options.requestsMax) {
          vendor.refused += 1;
          res.writeHead(tooLarge ? 413 : 503).end();
          return;
        }
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          text,
          json: () => JSON.parse(text),
          form: () => new URLSearchParams(text),
        };
        vendor.requests.push(recorded);
        vendor.wake();
        void vendor.answer(recorded).then(
          (reply) => {
            const headers: Record<string, string> = { ...reply.headers };
            let payload: string | Buffer = '';
            if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) payload = reply.body;
            else if (reply.body !== undefined) {
              payload = JSON.stringify(reply.body);
              headers['content-type'] ??= 'application/json';
            }
            if (!res.destroyed) res.writeHead(reply.status ?? 200, headers).end(payload);
          },
          (err: unknown) => {
            if (!res.destroyed) res.writeHead(500, { 'content-type': 'text/plain' }).end(`vendor stub failed: ${String(err)}`);
          },
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return vendor;
  }

  /** http://127.0.0.1:<port> (no trailing slash). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answer the next requests with these, in order. */
  reply(...replies: Replier[]): this {
    this.queued.push(...replies);
    return this;
  }

  /** Answer with this once the queued replies are used up. */
  setDefault(replier: Replier): this {
    this.defaultReply = replier;
    return this;
  }

  /** Resolves once `count` requests have been recorded (at once if they already have). */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** The only request so far; fails the test when there were none or several. */
  only(): RecordedRequest {
    if (this.requests.length !== 1) throw new Error(`expected exactly one request, got ${this.requests.length}`);
    return this.requests[0];
  }

  /** Forget recorded requests and queued replies (between cases sharing one server). */
  reset(): void {
    this.requests.length = 0;
    this.queued.length = 0;
    this.refused = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.requests.length >= w.count);
    this.waiters = this.waiters.filter((w) => this.requests.length < w.count);
    for (const w of ready) w.resolve();
  }

  private async answer(request: RecordedRequest): Promise<VendorReply> {
    const replier = this.queued.length > 0 ? this.queued.shift()! : this.defaultReply;
    const reply = typeof replier === 'function' ? await replier(request) : replier;
    if (reply.after) await reply.after.catch(() => undefined);
    return reply;
  }
}
