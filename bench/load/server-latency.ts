// Stockade's own view of a load run, from its Prometheus histograms: the time from a request
// entering the gateway to its answer (durable write included, socket write and the client's own
// delays not), the WAL commit time, and how long the shards' turns ran (a request waits for the
// turns ahead of it). The load generator's latency includes everything on the way, including its
// own send lag on a shared machine; this separates the server's share. The shard workers'
// longest garbage-collection pause is read too.
//
// Histograms are cumulative since the process started, so a run's figures are the difference of
// two scrapes; a percentile is read as the upper bound of the bucket it falls in (the buckets are
// those of src/gateway/metrics.ts: 50 µs … 1 s, and 0.5 ms … 5 s for turns and collections).

// Label order is prom-client's business: each label is matched wherever it stands.
const REQUEST_BUCKET = /^stockade_request_duration_seconds_bucket\{(?=[^}]*transport="ws")(?=[^}]*op="reserve")(?=[^}]*le="([^"]+)")[^}]*\} (\d+)/;
const WAL_BUCKET = /^stockade_wal_commit_seconds_bucket\{(?=[^}]*le="([^"]+)")[^}]*\} (\d+)/;
const TURN_BUCKET = /^stockade_shard_turn_seconds_bucket\{(?=[^}]*le="([^"]+)")[^}]*\} (\d+)/;
const GC_BUCKET = /^stockade_shard_gc_seconds_bucket\{(?=[^}]*le="([^"]+)")[^}]*\} (\d+)/;

/** Cumulative counts by bucket upper bound (seconds; +Inf last), summed over label sets. */
export type Buckets = Map<number, number>;

export interface ServerHistograms {
  reserve: Buckets;
  walCommit: Buckets;
  turn: Buckets;
  /** Every shard worker's collections, of every kind. */
  gc: Buckets;
}

export interface ServerLatency {
  reserves: number;
  reserveP50Ms: number;
  reserveP99Ms: number;
  walCommits: number;
  walCommitP99Ms: number;
  /** The bound of the highest bucket any WAL commit reached. */
  walCommitMaxMs: number;
  turns: number;
  turnP99Ms: number;
  /** The bound of the highest bucket any turn reached: the longest turn, within its bucket. */
  turnMaxMs: number;
  /** The same for the shard workers' garbage-collection pauses. */
  gcMaxMs: number;
}

function add(buckets: Buckets, le: string, count: number): void {
  const bound = le === '+Inf' ? Infinity : Number(le);
  buckets.set(bound, (buckets.get(bound) ?? 0) + count);
}

/** Parse the histograms out of a Prometheus text exposition. */
export function parseHistograms(text: string): ServerHistograms {
  const reserve: Buckets = new Map();
  const walCommit: Buckets = new Map();
  const turn: Buckets = new Map();
  const gc: Buckets = new Map();
  for (const line of text.split('\n')) {
    const request = REQUEST_BUCKET.exec(line);
    if (request) add(reserve, request[1], Number(request[2]));
    const wal = WAL_BUCKET.exec(line);
    if (wal) add(walCommit, wal[1], Number(wal[2]));
    const ran = TURN_BUCKET.exec(line);
    if (ran) add(turn, ran[1], Number(ran[2]));
    const paused = GC_BUCKET.exec(line);
    if (paused) add(gc, paused[1], Number(paused[2]));
  }
  return { reserve, walCommit, turn, gc };
}

/** Upper bound (ms) of the bucket holding quantile `q` of what was counted between two scrapes. */
function quantileMs(before: Buckets, after: Buckets, q: number): { count: number; ms: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return { count: 0, ms: NaN };
  for (const bound of bounds) {
    if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= q * total) return { count: total, ms: bound * 1000 };
  }
  return { count: total, ms: Infinity };
}

export function latencyBetween(before: ServerHistograms, after: ServerHistograms): ServerLatency {
  const p50 = quantileMs(before.reserve, after.reserve, 0.5);
  const p99 = quantileMs(before.reserve, after.reserve, 0.99);
  const wal = quantileMs(before.walCommit, after.walCommit, 0.99);
  const slowestCommit = quantileMs(before.walCommit, after.walCommit, 1);
  const turn = quantileMs(before.turn, after.turn, 0.99);
  const longest = quantileMs(before.turn, after.turn, 1);
  const longestGc = quantileMs(before.gc, after.gc, 1);
  return {
    reserves: p99.count,
    reserveP50Ms: p50.ms,
    reserveP99Ms: p99.ms,
    walCommits: wal.count,
    walCommitP99Ms: wal.ms,
    walCommitMaxMs: slowestCommit.ms,
    turns: turn.count,
    turnP99Ms: turn.ms,
    turnMaxMs: longest.ms,
    gcMaxMs: longestGc.ms,
  };
}

/** Scrape `/metrics` of a server whose WebSocket URL is `wsUrl`. */
export async function scrape(wsUrl: string): Promise<ServerHistograms> {
  const url = new URL('/metrics', wsUrl.replace(/^ws/, 'http'));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url.href} answered ${response.status}`);
  return parseHistograms(await response.text());
}

/** "≤ 5 ms" style: the figure is a bucket bound, not a measurement; `lastMs` is the histogram's last finite bound. */
export function fmtBound(ms: number, lastMs = 1000): string {
  if (Number.isNaN(ms)) return '-';
  if (ms === Infinity) return `> ${lastMs / 1000} s`;
  return `≤ ${ms < 1 ? ms.toFixed(2) : String(ms)} ms`;
}
