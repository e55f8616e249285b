// A local stand-in for a vendor's API: records every request (method, path, query, headers, body)
// and answers with replies scripted per route, in order (the last one repeats). Listens on
// 127.0.0.1, port 0.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedReply {
  status: number;
  json?: unknown;
  body?: string;
  headers?: Record<string, string | string[]>;
}

export type Responder = ScriptedReply | ((request: RecordedRequest, server: VendorServer) => ScriptedReply);

/** Requests kept per server: a test that sends more than this has a bug. */
const REQUESTS_MAX = 1000;

export class VendorServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, { responders: Responder[]; next: number }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<VendorServer> {
    let self: VendorServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const request: RecordedRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        if (self!.requests.length < REQUESTS_MAX) self!.requests.push(request);
        const reply = self!.answer(request);
        const headers: Record<string, string | string[]> = { ...reply.headers };
        let body = reply.body ?? '';
        if (reply.json !== undefined) {
          body = JSON.stringify(reply.json);
          headers['content-type'] ??= 'application/json';
        }
        res.writeHead(reply.status, headers);
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new VendorServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Script the answers to `METHOD /path`: one per request, in order, the last one repeating. */
  reply(method: string, path: string, ...responders: Responder[]): this {
    this.routes.set(`${method} ${path}`, { responders, next: 0 });
    return this;
  }

  to(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  private answer(request: RecordedRequest): ScriptedReply {
    const route = this.routes.get(`${request.method} ${request.path}`);
    if (route === undefined || route.responders.length === 0) {
      return { status: 404, json: { error: `no route for ${request.method} ${request.path}` } };
    }
    const responder = route.responders[Math.min(route.next, route.responders.length - 1)];
    route.next += 1;
    return typeof responder === 'function' ? responder(request, this) : responder;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function jsonOf<T = any>(request: RecordedRequest): T {
  return JSON.parse(request.body) as T;
}

/** user and password of a Basic Authorization header. */
export function basicCredentials(request: RecordedRequest): [string, string] {
  const header = request.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) throw new Error(`not Basic auth: ${header}`);
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
