// A local stand-in for a vendor's API: records every request (method, path, query, headers,
// body) and answers from replies the test scripts per route, in order. Listens on 127.0.0.1:0.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
}

type Scripted = Reply | ((request: RecordedRequest) => Reply);

/** Answers per route are bounded: a test scripting more than this has a bug. */
const REPLIES_PER_ROUTE_MAX = 100;

export class VendorServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, Scripted[]>();
  private readonly fallbacks = new Map<string, Scripted>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<VendorServer> {
    const server = createServer();
    const vendor = new VendorServer(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        vendor.requests.push(recorded);
        const reply = vendor.next(recorded);
        const headers: Record<string, string> = { ...reply.headers };
        let body = '';
        if (typeof reply.body === 'string') body = reply.body;
        else if (reply.body !== undefined) {
          body = JSON.stringify(reply.body);
          headers['content-type'] ??= 'application/json';
        }
        res.writeHead(reply.status, headers);
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return vendor;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Script the next answers of `METHOD /path` (query ignored), used once each, in order. */
  on(method: string, path: string, ...replies: Scripted[]): this {
    const key = `${method} ${path}`;
    const queue = this.routes.get(key) ?? [];
    queue.push(...replies);
    if (queue.length > REPLIES_PER_ROUTE_MAX) throw new Error(`more than ${REPLIES_PER_ROUTE_MAX} replies scripted for ${key}`);
    this.routes.set(key, queue);
    return this;
  }

  /** The answer of `METHOD /path` once its scripted answers are used up. */
  always(method: string, path: string, reply: Scripted): this {
    this.fallbacks.set(`${method} ${path}`, reply);
    return this;
  }

  /** Requests to one path, in arrival order. */
  to(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private next(request: RecordedRequest): Reply {
    const key = `${request.method} ${request.path}`;
    const scripted = this.routes.get(key)?.shift() ?? this.fallbacks.get(key);
    if (scripted === undefined) return { status: 599, body: `no reply scripted for ${key}` };
    return typeof scripted === 'function' ? scripted(request) : scripted;
  }
}
