// Types and small helpers shared by the load benchmark's orchestrator (run.ts) and its
// load-generator process (generator.ts). Kept inside bench/load/ so the benchmark depends on
// nothing another script may change.

import { readdirSync, readFileSync } from 'node:fs';
import type { LatencySummary } from '../common.js';

// Shared with the other benchmarks: one definition each.
export { fmt, Rng, sleep, summarize, type LatencySummary } from '../common.js';

/** 'redis' is the machine's Redis as it is configured; 'redis-aof' one the benchmark starts with `appendfsync always`. */
export type SystemName = 'stockade' | 'postgres' | 'redis' | 'redis-aof';
export type Mode = 'closed' | 'open';

/** Where the generator sends its reserves. */
export type Target =
  | { system: 'stockade'; url: string; key: string }
  | { system: 'postgres'; host: string; port: number; user: string; database: string; table: string }
  | { system: 'redis'; host: string; port: number; keyPrefix: string; sha: string };

/** One measured run, as the orchestrator asks the generator for it. */
export interface Job {
  label: string;
  target: Target;
  mode: Mode;
  /** SKU i is named `${skuPrefix}${i}`; each request draws i uniformly from [0, skuCount). */
  skuPrefix: string;
  skuCount: number;
  /** Client connections (WebSocket connections, pg.Pool size, ioredis clients). */
  connections: number;
  /** Closed loop: requests in flight per connection. */
  depth: number;
  /** Open loop: requests per second, across all connections. */
  rate: number;
  warmupSeconds: number;
  measureSeconds: number;
  /** Closed loop only: stop after this many requests in all (no time window, no warm-up); 0 = by time. */
  attemptsMax: number;
  /** Unique per job: idempotency keys and order ids are built from it. */
  tag: string;
  seed: number;
  /** The server's process(es), whose CPU time the generator samples around the load. */
  serverProcess: ServerProcess | null;
}

export interface JobResult {
  label: string;
  /** Requests sent, in all (warm-up included). */
  sent: number;
  /** Answers received, in all. */
  answered: number;
  /** Reserves that took a unit. */
  granted: number;
  /** Reserves refused for want of stock (INSUFFICIENT_STOCK, rowCount 0, script 0). */
  refused: number;
  /** Any other answer, by code. */
  errors: Record<string, number>;
  /** Sent but never answered before the drain deadline. */
  unanswered: number;
  /** The measured window: answers that arrived in it, and its length. */
  windowSeconds: number;
  windowAnswered: number;
  windowGranted: number;
  /** windowAnswered / windowSeconds. */
  throughput: number;
  grantedPerSecond: number;
  /** Latency of requests sent (closed loop) or scheduled (open loop) in the window, in ms. */
  latency: LatencySummary;
  /** Largest number of requests in flight at once (all connections). */
  inFlightMax: number;
  /** Open loop: the largest delay of an actual send behind its scheduled time, ms. */
  sendLagMaxMs: number;
  /** Open loop: the 99th percentile of that delay over the sends scheduled in the measured window, ms. */
  sendLagP99Ms: number;
  /** Per SKU index: answers that were a grant or a refusal, and grants. */
  attemptsPerSku: number[];
  grantedPerSku: number[];
  /** Longest time without any answer while requests were in flight, ms (a stall of the server or the client). */
  answerGapMaxMs: number;
  /** When that gap started, seconds from the job's start. */
  answerGapAtSeconds: number;
  /** Answers per 100 ms from the job's start (warm-up and drain included). */
  timeline: number[];
  /** CPU time the generator process used during the job, as % of one core. */
  generatorCpuPercent: number;
  /** CPU time of the server process(es) while the load ran (warm-up and drain included), % of one core; null if unknown. */
  serverCpuPercent: number | null;
  /** CPU time of the server's busiest thread in the same interval, % of one core (100% = that thread is saturated). */
  serverBusiestThreadPercent: number | null;
  /** Busy CPU time of the whole machine in the same interval, % of one core; null if unknown. */
  machineCpuPercent: number | null;
  elapsedSeconds: number;
}

export type ToGenerator = { type: 'job'; job: Job } | { type: 'exit' };
export type FromGenerator =
  | { type: 'ready' }
  | { type: 'result'; result: JobResult }
  | { type: 'failed'; label: string; error: string }
  /** A timed job's measured window began (warm-up over), or ended (every request sent in it answered). */
  | { type: 'window'; edge: WindowEdge };
export type WindowEdge = 'start' | 'end';


/** Latency in ms with three decimals below 10 ms, so microsecond precision shows. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}

/** A GitHub Markdown table; columns whose cells all look numeric are right-aligned. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => /^[\d,.\s%×/≤-]+$/.test(r[c]) || r[c] === '-'));
  const widths = headers.map((h, c) => Math.max(h.length, 3, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => '| ' + cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, c) => (numeric[c] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Which server process(es) to charge CPU time to: one pid (threads included), or every process with this name. */
export type ServerProcess = { pid: number } | { comm: string };

function statTicks(path: string): { comm: string; ticks: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) }; // utime, stime: fields 14 and 15
  } catch {
    return null; // the process went away, or this is not Linux
  }
}

function selectedPids(select: ServerProcess): number[] {
  if ('pid' in select) return [select.pid];
  try {
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e) && statTicks(`/proc/${e}/stat`)?.comm === select.comm)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU time (user + system, in clock ticks) per pid, from /proc (Linux only; empty elsewhere). */
export function cpuTicksByPid(select: ServerProcess): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of selectedPids(select)) {
    const t = statTicks(`/proc/${pid}/stat`);
    if (t && ('pid' in select || t.comm === select.comm)) ticks.set(pid, t.ticks);
  }
  return ticks;
}

/** CPU time per thread ("pid/tid") of the selected processes: the busiest thread shows a single-thread bottleneck. */
export function cpuTicksByThread(select: ServerProcess): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of selectedPids(select)) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = statTicks(`/proc/${pid}/task/${tid}/stat`);
      if (t) ticks.set(`${pid}/${tid}`, t.ticks);
    }
  }
  return ticks;
}

/** The largest per-key increase between two samples (new keys count from 0). */
export function busiestBetween<K>(before: Map<K, number>, after: Map<K, number>): number {
  let most = 0;
  for (const [key, t] of after) most = Math.max(most, t - (before.get(key) ?? 0));
  return most;
}

/** Ticks spent between two samples by the processes alive at the second (new ones count from 0). */
export function cpuTicksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
  return total;
}

/** USER_HZ: clock ticks per second of /proc/<pid>/stat (100 on every Linux this runs on). */
export const TICKS_PER_SECOND = 100;

/** Busy CPU time of the whole machine (all cores, clock ticks) from /proc/stat; null elsewhere. */
export function machineBusyTicks(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return user + nice + system + irq + softirq + steal;
  } catch {
    return null;
  }
}
