// A small WebSocket client for tests: requests by id, answers matched by id (they may arrive out
// of order), pushes collected, JSON or msgpack frames.

import { Packr } from 'msgpackr';
import WebSocket from 'ws';

const packr = new Packr({ useRecords: false });

export interface Answer {
  id: number | string | null;
  ok: boolean;
  result?: any;
  error?: { code: string; message: string; details?: any };
  replayed?: boolean;
}

export class TestClient {
  private nextId = 1;
  private readonly waiting = new Map<number | string | null, (answer: Answer) => void>();
  /** Answers with no request waiting for them (frame-level errors carry id null). */
  readonly unmatched: Answer[] = [];
  readonly pushes: any[] = [];
  /** Every answer id in arrival order. */
  readonly arrivals: (number | string | null)[] = [];
  private pushWaiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly binary: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const message = isBinary ? packr.unpack(data) : JSON.parse(data.toString('utf8'));
      if ('push' in message) {
        this.pushes.push(message);
        for (const wake of this.pushWaiters.splice(0)) wake();
        return;
      }
      this.arrivals.push(message.id);
      const resolve = this.waiting.get(message.id);
      if (resolve && message.id !== null) {
        this.waiting.delete(message.id);
        resolve(message);
      } else {
        this.unmatched.push(message);
        this.waiting.get(null)?.(message);
        this.waiting.delete(null);
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, options: { key?: string; binary?: boolean; autoPong?: boolean } = {}): Promise<TestClient> {
    const headers: Record<string, string> = options.key ? { authorization: `Bearer ${options.key}` } : {};
    const ws = new WebSocket(url, { headers, autoPong: options.autoPong ?? true });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    return new TestClient(ws, options.binary ?? false);
  }

  /** Send raw bytes or text as one frame. */
  sendRaw(frame: string | Buffer, binary: boolean): void {
    this.ws.send(frame, { binary });
  }

  /** Wait for the next answer that has no request id (a frame-level error). */
  nextUnmatched(): Promise<Answer> {
    return new Promise((resolve) => this.waiting.set(null, resolve));
  }

  send(op: string, args: Record<string, unknown> = {}, id: number | string = this.nextId++): Promise<Answer> {
    const frame = { id, op, ...args };
    const answer = new Promise<Answer>((resolve) => this.waiting.set(id, resolve));
    this.ws.send(this.binary ? packr.pack(frame) : JSON.stringify(frame), { binary: this.binary });
    return answer;
  }

  /** Resolves once `count` pushes have arrived in total. */
  async pushesReceived(count: number): Promise<any[]> {
    while (this.pushes.length < count) await new Promise<void>((resolve) => this.pushWaiters.push(resolve));
    return this.pushes;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
