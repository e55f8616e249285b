// The HTTP commands' client: one place that builds URLs, sends the key, bounds the wait and turns
// a server error answer ({"error":{code,message,details}}) into a CommandFailed with that code.

import { DEFAULT_URL } from './args.js';
import { CommandFailed, UsageError } from './exit.js';

/** How long one request may take before the CLI gives up on it. */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface ServerError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

export class StockadeClient {
  readonly baseUrl: string;

  constructor(
    url: string | undefined,
    private readonly apiKey: string | undefined,
  ) {
    const base = url ?? DEFAULT_URL;
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch {
      throw new UsageError(`--url must be an http:// or https:// address, got ${JSON.stringify(base)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url must be an http:// or https:// address, got ${JSON.stringify(base)}`);
    this.baseUrl = base.replace(/\/+$/, '');
  }

  /** The client the HTTP commands use: options first, then STOCKADE_URL / STOCKADE_API_KEY. */
  static from(values: { url?: string; 'api-key'?: string }, env: NodeJS.ProcessEnv = process.env): StockadeClient {
    return new StockadeClient(values.url ?? (env.STOCKADE_URL || undefined), values['api-key'] ?? (env.STOCKADE_API_KEY || undefined));
  }

  /** Send one request; resolves with the body of a 2xx answer, throws CommandFailed otherwise. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.exchange(method, path, body);
    if (answer.ok) return answer.body as T;
    throw new CommandFailed(answer.error.code, `${answer.error.code}: ${answer.error.message}`, answer.error.details);
  }

  /** Send one request; a server error answer is returned, not thrown (callers that branch on it). */
  async exchange(method: string, path: string, body?: unknown): Promise<{ ok: true; status: number; body: unknown } | { ok: false; error: ServerError }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CommandFailed('UNREACHABLE', `cannot reach Stockade at ${this.baseUrl} (${why}); is it running? (--url, STOCKADE_URL)`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new CommandFailed('UNREACHABLE', `${method} ${path} answered ${res.status} with a body that is not JSON; is ${this.baseUrl} a Stockade server?`);
    }
    if (res.ok) return { ok: true, status: res.status, body: parsed };
    const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    if (!error || typeof error.code !== 'string') {
      throw new CommandFailed('UNREACHABLE', `${method} ${path} answered ${res.status} without a Stockade error body; is ${this.baseUrl} a Stockade server?`);
    }
    const failure: ServerError = { status: res.status, code: error.code, message: String(error.message ?? '') };
    if (error.details !== undefined) failure.details = error.details;
    if (failure.code === 'UNAUTHENTICATED' && !this.apiKey) failure.message += ' (no key given: --api-key or STOCKADE_API_KEY)';
    return { ok: false, error: failure };
  }
}

/** A path segment, percent-encoded (SKU ids and locations are plain, but never trust that). */
export const segment = (text: string): string => encodeURIComponent(text);
