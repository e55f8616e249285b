// The load generator: a process of its own (spawned by bench/load/run.ts with an IPC channel), so
// the client's event loop never shares a thread with the server under test. It receives one job
// at a time, drives reserves against Stockade (WebSocket, msgpack frames), PostgreSQL (pg.Pool,
// one UPDATE per reserve) or Redis (EVALSHA, pipelined) and answers with counts and latencies.
//
// Closed loop: `connections` × `depth` requests in flight; each answer sends the next request.
// Latency runs from the send. Throughput is the answers that arrived in the measured window.
// Open loop: requests are scheduled at a fixed rate from the job's start, whatever the answers do;
// latency runs from the scheduled send time (so a stalled server or a late client timer shows up
// as latency: no coordinated omission). Sends go out from a 1 ms timer in bursts of those due.

import { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import pg from 'pg';
import WebSocket from 'ws';
import { latencyHistogram } from '../common.js';
import { grantedAnswerId } from './answer-head.js';
import { busiestBetween, cpuTicksBetween, cpuTicksByPid, cpuTicksByThread, machineBusyTicks, Rng, sleep, summarize, TICKS_PER_SECOND, type FromGenerator, type Job, type JobResult, type Target, type ToGenerator } from './shared.js';

/** 0 granted, 1 refused for want of stock, a string: any other answer (its code). */
type Outcome = 0 | 1 | string;
type Done = (outcome: Outcome) => void;

interface Driver {
  open(): Promise<void>;
  /** Send one reserve of quantity 1 for SKU `sku` on connection `conn`; `done` runs on the answer. */
  send(conn: number, sku: string, seq: number, done: Done): void;
  close(): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 30_000;

// ---- Stockade over WebSocket ------------------------------------------------------------------

const packr = new Packr({ useRecords: false });

class StockadeDriver implements Driver {
  private sockets: WebSocket[] = [];
  private pending: Map<number, Done>[] = [];
  private nextId: number[] = [];
  private corked: boolean[] = [];

  constructor(
    private readonly target: Extract<Target, { system: 'stockade' }>,
    private readonly connections: number,
    private readonly tag: string,
  ) {}

  async open(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.connections }, async (_, c) => {
        const ws = new WebSocket(this.target.url, { headers: { authorization: `Bearer ${this.target.key}` }, perMessageDeflate: false });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
        });
        const pending = new Map<number, Done>();
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          // A grant is read from the frame's head alone; anything else is decoded in full.
          let id = isBinary ? grantedAnswerId(data) : null;
          let outcome: Outcome = 0;
          if (id === null) {
            const answer = (isBinary ? packr.unpack(data) : JSON.parse(data.toString('utf8'))) as { id: number | null; ok: boolean; error?: { code: string } };
            if (answer.id === null || answer.id === undefined) return; // frame-level error: its request stays unanswered
            id = answer.id;
            if (!answer.ok) outcome = answer.error?.code === 'INSUFFICIENT_STOCK' ? 1 : (answer.error?.code ?? 'UNKNOWN');
          }
          const done = pending.get(id);
          if (!done) return;
          pending.delete(id);
          done(outcome);
        });
        ws.on('close', () => {
          for (const done of pending.values()) done('CONNECTION_CLOSED');
          pending.clear();
        });
        ws.on('error', () => undefined);
        this.sockets[c] = ws;
        this.pending[c] = pending;
        this.nextId[c] = 1;
        this.corked[c] = false;
      }),
    );
  }

  send(conn: number, sku: string, seq: number, done: Done): void {
    const ws = this.sockets[conn];
    const id = this.nextId[conn]++;
    this.pending[conn].set(id, done);
    // Frames sent in one event-loop turn leave in one write (writev), as a pipelining client's do.
    const socket = (ws as unknown as { _socket?: import('node:net').Socket })._socket;
    if (socket && !this.corked[conn]) {
      this.corked[conn] = true;
      socket.cork();
      process.nextTick(() => {
        this.corked[conn] = false;
        socket.uncork();
      });
    }
    ws.send(
      packr.pack({
        id,
        op: 'reserve',
        sku,
        idempotencyKey: `${this.tag}:${seq}`,
        orderId: `o-${this.tag}-${seq}`,
        customerId: `c-${seq % 1_000_003}`,
        channel: 'web',
        quantity: 1,
      }),
      { binary: true },
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close();
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 2000).unref();
          }),
      ),
    );
  }
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

class PostgresDriver implements Driver {
  private pool: pg.Pool;
  private readonly text: string;

  constructor(
    target: Extract<Target, { system: 'postgres' }>,
    private readonly connections: number,
  ) {
    this.pool = new pg.Pool({ host: target.host, port: target.port, user: target.user, database: target.database, max: connections, idleTimeoutMillis: 0 });
    this.pool.on('error', () => undefined);
    this.text = `UPDATE ${target.table} SET available = available - $1 WHERE sku = $2 AND available >= $1`;
  }

  async open(): Promise<void> {
    // Open every connection (and prepare the statement on it) before the clock starts.
    const clients = await Promise.all(Array.from({ length: this.connections }, () => this.pool.connect()));
    await Promise.all(clients.map((c) => c.query({ name: 'stockade_bench_reserve', text: this.text, values: [0, ''] })));
    for (const c of clients) c.release();
  }

  send(_conn: number, sku: string, _seq: number, done: Done): void {
    this.pool.query({ name: 'stockade_bench_reserve', text: this.text, values: [1, sku] }).then(
      (r) => done(r.rowCount === 1 ? 0 : 1),
      (err: { code?: string }) => done(`PG_${err.code ?? 'ERROR'}`),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ---- Redis --------------------------------------------------------------------------------------

class RedisDriver implements Driver {
  private clients: Redis[] = [];

  constructor(
    private readonly target: Extract<Target, { system: 'redis' }>,
    private readonly connections: number,
  ) {}

  async open(): Promise<void> {
    this.clients = await Promise.all(
      Array.from({ length: this.connections }, async () => {
        // Auto-pipelining: the commands of one event-loop turn leave in one write.
        const client = new Redis({ host: this.target.host, port: this.target.port, enableAutoPipelining: true, lazyConnect: true, maxRetriesPerRequest: 0 });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      }),
    );
  }

  send(conn: number, sku: string, _seq: number, done: Done): void {
    this.clients[conn].evalsha(this.target.sha, 1, this.target.keyPrefix + sku, 1).then(
      (r) => done(r === 1 ? 0 : r === 0 ? 1 : `REDIS_SCRIPT_${String(r)}`),
      (err: Error) => done(`REDIS_${err.message.split(' ')[0]}`),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

function driverFor(job: Job): Driver {
  switch (job.target.system) {
    case 'stockade':
      return new StockadeDriver(job.target, job.connections, job.tag);
    case 'postgres':
      return new PostgresDriver(job.target, job.connections);
    case 'redis':
      return new RedisDriver(job.target, job.connections);
  }
}

// ---- the run ------------------------------------------------------------------------------------


async function runJob(job: Job): Promise<JobResult> {
  const driver = driverFor(job);
  await driver.open();
  const skuNames = Array.from({ length: job.skuCount }, (_, i) => `${job.skuPrefix}${i}`);
  const attemptsPerSku = new Int32Array(job.skuCount);
  const grantedPerSku = new Int32Array(job.skuCount);
  const errors: Record<string, number> = {};
  const hist = latencyHistogram();
  const lagHist = latencyHistogram();
  const rng = new Rng(job.seed);
  let sent = 0;
  let answered = 0;
  let granted = 0;
  let refused = 0;
  let inFlight = 0;
  let inFlightMax = 0;
  let windowAnswered = 0;
  let windowGranted = 0;
  let sendLagMaxMs = 0;
  let lastAnswerAt = 0;
  let answerGapMaxMs = 0;
  let answerGapAt = 0;
  const timeline: number[] = [];

  const byCount = job.mode === 'closed' && job.attemptsMax > 0;
  const serverCpuStart = job.serverProcess ? cpuTicksByPid(job.serverProcess) : null;
  const machineStart = machineBusyTicks();
  const threadsStart = job.serverProcess ? cpuTicksByThread(job.serverProcess) : null;
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  const warmEnd = byCount ? t0 : t0 + job.warmupSeconds * 1000;
  let measureEnd = byCount ? Infinity : warmEnd + job.measureSeconds * 1000;
  // The window's edges, told to the orchestrator so the server's own histograms cover the window
  // only: the warm-up's first requests meet a cold server.
  const windowStart = byCount ? null : setTimeout(() => reply({ type: 'window', edge: 'start' }), Math.max(0, warmEnd - t0));
  let stopped = false;
  let onDrained: (() => void) | null = null;

  /** Issue one request; `origin` is when it was sent (closed) or scheduled (open). */
  const issue = (conn: number, origin: number, next: ((conn: number) => void) | null) => {
    const skuIndex = job.skuCount === 1 ? 0 : rng.int(job.skuCount);
    const seq = sent++;
    if (inFlight === 0) lastAnswerAt = performance.now(); // an idle client is no stall
    if (++inFlight > inFlightMax) inFlightMax = inFlight;
    driver.send(conn, skuNames[skuIndex], seq, (outcome) => {
      const now = performance.now();
      if (now - lastAnswerAt > answerGapMaxMs) {
        answerGapMaxMs = now - lastAnswerAt;
        answerGapAt = lastAnswerAt;
      }
      lastAnswerAt = now;
      const bucket = Math.floor((now - t0) / 100);
      while (timeline.length <= bucket) timeline.push(0);
      timeline[bucket]++;
      inFlight--;
      answered++;
      if (outcome === 0) {
        granted++;
        attemptsPerSku[skuIndex]++;
        grantedPerSku[skuIndex]++;
      } else if (outcome === 1) {
        refused++;
        attemptsPerSku[skuIndex]++;
      } else errors[outcome] = (errors[outcome] ?? 0) + 1;
      if (now >= warmEnd && now <= measureEnd) {
        windowAnswered++;
        if (outcome === 0) windowGranted++;
      }
      if (origin >= warmEnd && origin <= measureEnd) hist.recordValue(Math.max(1, Math.round((now - origin) * 1000)));
      if (next && !stopped) next(conn);
      if (stopped && inFlight === 0 && onDrained) onDrained();
    });
  };

  if (job.mode === 'closed') {
    const next = (conn: number) => {
      if (byCount && sent >= job.attemptsMax) {
        stopped = true;
        return;
      }
      issue(conn, performance.now(), next);
    };
    for (let d = 0; d < job.depth; d++) for (let c = 0; c < job.connections; c++) next(c);
    if (!byCount) {
      await sleep(measureEnd - performance.now());
      stopped = true;
    } else {
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (stopped) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
    }
  } else {
    // Open loop: request k is due at t0 + k / rate.
    const intervalMs = 1000 / job.rate;
    const totalMs = (job.warmupSeconds + job.measureSeconds) * 1000;
    const total = Math.floor(totalMs / intervalMs);
    let k = 0;
    let conn = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (k < total) {
          const due = t0 + k * intervalMs;
          if (due > now) break;
          if (now - due > sendLagMaxMs) sendLagMaxMs = now - due;
          if (due >= warmEnd) lagHist.recordValue(Math.max(1, Math.round((now - due) * 1000)));
          issue(conn, due, null);
          conn = (conn + 1) % job.connections;
          k++;
        }
        if (k >= total) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, t0 + k * intervalMs - performance.now())));
      };
      tick();
    });
    stopped = true;
  }

  const stoppedAt = performance.now();
  if (byCount) measureEnd = stoppedAt;
  if (inFlight > 0) {
    await Promise.race([new Promise<void>((resolve) => (onDrained = resolve)), sleep(DRAIN_TIMEOUT_MS)]);
  }
  const finished = performance.now();
  if (windowStart !== null) {
    clearTimeout(windowStart);
    reply({ type: 'window', edge: 'end' });
  }
  if (byCount) {
    // A sell-out run has no window: every answer counts, up to the last one.
    measureEnd = finished;
    windowAnswered = answered;
    windowGranted = granted;
  }
  const cpu = process.cpuUsage(cpuStart);
  // Sampled before the connections close: PostgreSQL backends take their CPU time with them.
  const serverTicks = serverCpuStart && job.serverProcess ? cpuTicksBetween(serverCpuStart, cpuTicksByPid(job.serverProcess)) : null;
  const busiestTicks = threadsStart && job.serverProcess ? busiestBetween(threadsStart, cpuTicksByThread(job.serverProcess)) : null;
  const machineEnd = machineBusyTicks();
  const machineTicks = machineStart === null || machineEnd === null ? null : machineEnd - machineStart;
  const unanswered = inFlight;
  await driver.close();
  const windowSeconds = (measureEnd - warmEnd) / 1000;
  return {
    label: job.label,
    sent,
    answered,
    granted,
    refused,
    errors,
    unanswered,
    windowSeconds,
    windowAnswered,
    windowGranted,
    throughput: windowAnswered / windowSeconds,
    grantedPerSecond: windowGranted / windowSeconds,
    latency: summarize(hist),
    inFlightMax,
    sendLagMaxMs: Math.round(sendLagMaxMs * 1000) / 1000,
    sendLagP99Ms: lagHist.totalCount === 0 ? 0 : Math.round(lagHist.getValueAtPercentile(99)) / 1000,
    answerGapMaxMs: Math.round(answerGapMaxMs * 1000) / 1000,
    answerGapAtSeconds: Math.round(answerGapAt - t0) / 1000,
    timeline,
    attemptsPerSku: Array.from(attemptsPerSku),
    grantedPerSku: Array.from(grantedPerSku),
    generatorCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / (finished - t0)) * 1000) / 10,
    serverCpuPercent: serverTicks === null ? null : Math.round(((serverTicks / TICKS_PER_SECOND) * 1000 / (finished - t0)) * 1000) / 10,
    serverBusiestThreadPercent: busiestTicks === null ? null : Math.round(((busiestTicks / TICKS_PER_SECOND) * 1000 / (finished - t0)) * 1000) / 10,
    machineCpuPercent: machineTicks === null ? null : Math.round(((machineTicks / TICKS_PER_SECOND) * 1000 / (finished - t0)) * 1000) / 10,
    elapsedSeconds: (finished - t0) / 1000,
  };
}

// ---- IPC ----------------------------------------------------------------------------------------

function reply(message: FromGenerator): void {
  process.send!(message);
}

if (!process.send) {
  process.stderr.write('bench/load/generator.ts is spawned by bench/load/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}

let queue = Promise.resolve();
process.on('message', (message: ToGenerator) => {
  if (message.type === 'exit') {
    queue = queue.then(() => process.exit(0));
    return;
  }
  const job = message.job;
  queue = queue.then(async () => {
    try {
      reply({ type: 'result', result: await runJob(job) });
    } catch (err) {
      reply({ type: 'failed', label: job.label, error: (err as Error).stack ?? String(err) });
    }
  });
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
