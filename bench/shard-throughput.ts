// Durable reserve throughput and latency, closed loop, with an over-selling check at the end.
//
//   (a) in-process: one Shard on the main thread (no worker), timers off. Lanes of `depth`
//       execute() calls stay outstanding (pipelining), each carrying `batch` commands.
//   (b) Engine: worker-thread shards (1 and 2), 'batched' and 'unbatched' crossing, a closed
//       loop of `outstanding` engine.execute() promises.
//
// Workload, both parts: one hot SKU, or many SKUs drawn uniformly; reserves of quantity 1, each
// with a unique idempotency key. Two mixes:
//   reserve         reserves only: holds stay open (10 min TTL), as in a flash sale; the per-SKU
//                   caps on open reservations and idempotency keys are raised so a fast run of a
//                   few seconds on one SKU is not cut short by them.
//   reserve+commit  each granted reserve is committed by a later command once its reply is back
//                   (in-process only): a steady state where open reservations stay bounded.
// commands/s counts every command; reserves/s only granted reserves. Every reply is durable
// (answered after the LMDB flush).
//
// At the end of every run each SKU is read back and compared with what the client saw granted
// and committed; then a sell-out run fires 3× a SKU's stock in reserves at once. "oversold"
// counts grants beyond stock in both, and must be 0.
//
//   npm run bench:shard   (compiled first, as published; `npx tsx bench/shard-throughput.ts` runs the source)
//   BENCH_QUICK=1                      smoke run (~20-30 s)
//   BENCH_SECONDS, BENCH_WARMUP_SECONDS measured window and warm-up per run
//   BENCH_SKUS                         size of the many-SKU workload (default 100000; quick 10000)
//   BENCH_OUTSTANDING, BENCH_DEPTH     engine promises in flight; in-process executes in flight
//   BENCH_OUTSTANDING_LIGHT            engine promises in flight for the light-load runs (1000)
//   BENCH_ONLY=inprocess|engine        one part only
//   BENCH_SKU_PAGES_MAX=N              shard.checkpointSkuPagesMax (diagnostics; default the configuration's)
//   BENCH_MIX=reserve|reserve+commit   in-process runs of that mix only (quick: that mix instead of reserve)
//   BENCH_DIR                          base of the temporary data directories (default os.tmpdir())
//   BENCH_CPU_PROFILE=<dir>            a CPU profile of the main thread over each measured window
//   BENCH_HEAP_PROFILE=<dir>           where the main thread allocated over each measured window (bench/common.ts)

import { loadavg } from 'node:os';
import type { Histogram } from 'hdr-histogram-js';
import { Engine } from '../src/actors/engine.js';
import { Shard } from '../src/actors/shard.js';
import type { Command, Reply, ReservationView, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import {
  envNumber,
  fmt,
  latencyHistogram,
  machineInfo,
  machineLine,
  makeTempDir,
  markdownTable,
  QUICK,
  removeTempDir,
  Rng,
  runTag,
  skuName,
  summarize,
  writeResult,
  cpuSample,
  cpuSince,
  profileWindow,
  type Cell,
  type CpuWindow,
  type LatencySummary,
} from './common.js';

// Windows sized so the full run stays under 3 minutes on 2 cores: set-up, checks and the closing
// checkpoint take about as long again as the windows.
const MEASURE_S_INPROCESS = envNumber('BENCH_SECONDS', 2, 0.5);
const MEASURE_S_ENGINE = envNumber('BENCH_SECONDS', 4, 0.5);
const WARMUP_S_INPROCESS = envNumber('BENCH_WARMUP_SECONDS', 0.5, 0.2);
const WARMUP_S_ENGINE = envNumber('BENCH_WARMUP_SECONDS', 1, 0.2);
const MANY_SKUS = Math.round(envNumber('BENCH_SKUS', 100_000, 10_000));
const OUTSTANDING = Math.round(envNumber('BENCH_OUTSTANDING', 20_000));
/** A light-load run too: with 20k in flight, latency is mostly queueing (Little's law). */
const OUTSTANDING_LIGHT = Math.round(envNumber('BENCH_OUTSTANDING_LIGHT', 1_000));
const DEPTH = Math.round(envNumber('BENCH_DEPTH', 4));
const ONLY = process.env.BENCH_ONLY ?? '';
/** Diagnostics: shard.checkpointSkuPagesMax (a hot SKU checkpointed on its own every N changed pages; default the configuration's 4). */
const SKU_PAGES = process.env.BENCH_SKU_PAGES_MAX ? { checkpointSkuPagesMax: Math.round(envNumber('BENCH_SKU_PAGES_MAX', 4)) } : {};
type Mix = 'reserve' | 'reserve+commit';
/** In-process runs: batch sizes per mix (the steady-state mix at one size, to bound the run time). */
const ONLY_MIX = process.env.BENCH_MIX as Mix | undefined;
if (ONLY_MIX !== undefined && ONLY_MIX !== 'reserve' && ONLY_MIX !== 'reserve+commit') throw new Error(`BENCH_MIX must be reserve or reserve+commit, not ${ONLY_MIX}`);
const INPROCESS_RUNS = (
  (QUICK
    ? [{ mix: ONLY_MIX ?? 'reserve', batches: [1024] }]
    : [
        { mix: 'reserve', batches: [256, 1024, 4096] },
        { mix: 'reserve+commit', batches: [1024] },
      ]) as { mix: Mix; batches: number[] }[]
).filter((run) => ONLY_MIX === undefined || run.mix === ONLY_MIX);

/** Stock per SKU: large enough never to run out, so every reserve in the timed window is granted. */
const STOCK = 1_000_000_000;
const SELLOUT_STOCK = 10_000;
const SELLOUT_REQUESTS = 3 * SELLOUT_STOCK;
/**
 * quantityMax: the default (1M) is below STOCK. The two per-SKU caps: a hot SKU takes more than
 * 1M reserves in a few seconds on a fast machine. Nothing else differs from the defaults.
 */
const LIMITS = { quantityMax: STOCK, reservationsPerSkuMax: 50_000_000, idempotencyKeysPerSkuMax: 50_000_000 };
const LOCATION = 'dc-1';

interface Workload {
  label: string;
  skus: string[];
}

const TAG = runTag();

// ---- the client side: what to send next, what came back ------------------------------------

type Kind = 0 | 1; // 0 reserve, 1 commit
const RESERVE: Kind = 0;
const COMMIT: Kind = 1;

class Client {
  private readonly rng = new Rng(12345);
  private keyNo = 0;
  /** Granted reservations waiting for their commit, FIFO: ids and SKU indexes side by side. */
  private commitIds: string[] = [];
  private commitSkus: number[] = [];
  private commitHead = 0;
  readonly granted: Uint32Array;
  readonly committed: Uint32Array;
  readonly failures = new Map<string, number>();
  /** Completions counted while `counting` is on (the measured window). */
  counting = false;
  reservesOk = 0;
  commitsOk = 0;
  completed = 0;
  /**
   * Replies arrive in deliveries (one flush answers a whole turn; one message carries many
   * turns' replies), up to the whole in-flight set at once, so a window count is uncertain by
   * up to one delivery. Deliveries are tracked to report that bound.
   */
  private lastCompletionAt = -1;
  private deliverySize = 0;
  deliveries = 0;
  largestDelivery = 0;

  constructor(
    readonly skus: string[],
    readonly mix: Mix,
  ) {
    this.granted = new Uint32Array(skus.length);
    this.committed = new Uint32Array(skus.length);
  }

  /** The next command: a commit when one is owed, else a reserve on a random SKU. */
  next(out: { command: Command; sku: number; kind: Kind }): void {
    if (this.commitHead < this.commitIds.length) {
      out.sku = this.commitSkus[this.commitHead];
      out.command = { type: 'commit', reservationId: this.commitIds[this.commitHead++] };
      out.kind = COMMIT;
      if (this.commitHead > 65_536 && this.commitHead * 2 > this.commitIds.length) {
        this.commitIds = this.commitIds.slice(this.commitHead);
        this.commitSkus = this.commitSkus.slice(this.commitHead);
        this.commitHead = 0;
      }
      return;
    }
    const sku = this.skus.length === 1 ? 0 : this.rng.int(this.skus.length);
    const n = this.keyNo++;
    out.sku = sku;
    out.kind = RESERVE;
    out.command = {
      type: 'reserve',
      sku: this.skus[sku],
      idempotencyKey: `bench-${TAG}-${n.toString(36)}`,
      orderId: `order-${n}`,
      // One customer per reserve: the per-customer cap (reservationsPerCustomerMax) stays untouched.
      customerId: `customer-${n}`,
      channel: 'web',
      quantity: 1,
    };
  }

  onReply(kind: Kind, sku: number, reply: Reply): void {
    if (this.counting) {
      const now = performance.now();
      // A gap of over 1 ms between replies starts a new delivery.
      if (now - this.lastCompletionAt > 1) {
        this.deliveries++;
        this.deliverySize = 0;
      }
      this.lastCompletionAt = now;
      this.largestDelivery = Math.max(this.largestDelivery, ++this.deliverySize);
      this.completed++;
    }
    if (!reply.ok) {
      this.failures.set(reply.error.code, (this.failures.get(reply.error.code) ?? 0) + 1);
      return;
    }
    if (kind === RESERVE) {
      const view = reply.value as ReservationView;
      if (view.state !== 'ACTIVE') {
        this.failures.set(`reserve ${view.state}`, (this.failures.get(`reserve ${view.state}`) ?? 0) + 1);
        return;
      }
      this.granted[sku]++;
      if (this.mix === 'reserve+commit') {
        this.commitIds.push(view.reservationId);
        this.commitSkus.push(sku);
      }
      if (this.counting) this.reservesOk++;
    } else {
      this.committed[sku]++;
      if (this.counting) this.commitsOk++;
    }
  }
}

/**
 * Keeps a closed loop from starving the event loop. A reply that needs no I/O (a turn that wrote
 * nothing, a command refused before it reached a shard) resolves in a microtask, and a loop of
 * those never lets timers run: the measured window would never end. A ticker marks each pass of
 * the event loop; once none was seen for 1 s, new work waits for setImmediate. (A healthy pass
 * handling 20k replies takes a few hundred ms; a lower bound would split the engine's batches.)
 */
class StarvationGuard {
  private lastTick = performance.now();
  private readonly ticker = setInterval(() => (this.lastTick = performance.now()), 10);

  get starving(): boolean {
    return performance.now() - this.lastTick > 1000;
  }

  stop(): void {
    clearInterval(this.ticker);
  }
}

// ---- set-up and checks, the same for both parts --------------------------------------------

type Exec = (commands: Command[]) => Promise<Reply[]>;

function setStock(sku: string, onHand: number): Command {
  return { type: 'setStock', sku, location: LOCATION, onHand, eventId: `stock-${TAG}-${sku}` };
}

async function inChunks(exec: Exec, commands: Command[], chunk: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < commands.length; i += chunk) replies.push(...(await exec(commands.slice(i, i + chunk))));
  return replies;
}

async function stockUp(exec: Exec, skus: string[]): Promise<void> {
  const replies = await inChunks(exec, skus.map((sku) => setStock(sku, STOCK)), 4096);
  const bad = replies.find((r) => !r.ok);
  if (bad) throw new Error(`setStock failed: ${JSON.stringify(bad)}`);
}

interface Check {
  /** Grants beyond stock, main run and sell-out together. */
  oversold: number;
  /** SKUs whose state differs from what the client saw granted and committed. */
  mismatches: number;
  selloutGranted: number;
  selloutRefused: number;
}

/** Read every SKU back; then fire 3× a fresh SKU's stock in reserves at once. */
async function check(exec: Exec, client: Client): Promise<Check> {
  const views = await inChunks(exec, client.skus.map((sku) => ({ type: 'getSku', sku }) as Command), 4096);
  let oversold = 0;
  let mismatches = 0;
  for (let i = 0; i < views.length; i++) {
    const reply = views[i];
    if (!reply.ok) {
      mismatches++;
      continue;
    }
    const view = reply.value as SkuView;
    const granted = client.granted[i];
    const committed = client.committed[i];
    oversold += Math.max(0, granted - STOCK);
    if (view.onHand !== STOCK - committed || view.reserved !== granted - committed) mismatches++;
  }
  const sku = `sellout-${TAG}`;
  await exec([setStock(sku, SELLOUT_STOCK)]);
  const rush: Command[] = [];
  for (let i = 0; i < SELLOUT_REQUESTS; i++) {
    rush.push({ type: 'reserve', sku, idempotencyKey: `sellout-${TAG}-${i}`, orderId: `so-${i}`, customerId: `c-${i}`, channel: 'web', quantity: 1 });
  }
  // All at once: the batches are in flight together (engine) or decided back to back (shard).
  const chunks: Promise<Reply[]>[] = [];
  for (let i = 0; i < rush.length; i += 4096) chunks.push(exec(rush.slice(i, i + 4096)));
  const replies = (await Promise.all(chunks)).flat();
  const granted = replies.filter((r) => r.ok && (r.value as ReservationView).state === 'ACTIVE').length;
  const refused = replies.filter((r) => !r.ok && r.error.code === 'INSUFFICIENT_STOCK').length;
  const [after] = await exec([{ type: 'getSku', sku }]);
  const view = after.ok ? (after.value as SkuView) : null;
  oversold += Math.max(0, granted - SELLOUT_STOCK);
  if (!view || view.reserved !== granted || view.reserved > view.onHand || granted + refused !== SELLOUT_REQUESTS) mismatches++;
  return { oversold, mismatches, selloutGranted: granted, selloutRefused: refused };
}

// ---- results -----------------------------------------------------------------------------------

interface Row {
  part: 'in-process' | 'engine';
  mix: Mix;
  workload: string;
  shards: number;
  crossing: string;
  inFlight: string;
  seconds: number;
  /** Completions in the measured window over its length. */
  commandsPerSec: number;
  reservesPerSec: number;
  commitsPerSec: number;
  completed: number;
  /** Reply deliveries in the window and the largest: a window count is uncertain by one delivery. */
  deliveries: number;
  largestDelivery: number;
  countUncertaintyPercent: number;
  latency: LatencySummary;
  /** CPU over the measured window: this process (all threads), other processes, VM steal. */
  cpu: CpuWindow;
  commandsPerTurn: number;
  checkpoints: number;
  failures: Record<string, number>;
  check: Check;
  /** Wall time of each phase of the run (set-up, load, checks, close): where the script's time goes. */
  phaseSeconds: Record<string, number>;
  /** Reservations left open (granted, not committed) when the run ended: what close() checkpoints. */
  openAtEnd: number;
  /** 1-minute load average when the run started: other work on the machine skews the figures. */
  load1AtStart: number;
}

/** Lap timer: `lap(name)` records the seconds since the previous lap. */
function laps(): ((name: string) => void) & { all: Record<string, number> } {
  let last = performance.now();
  const all: Record<string, number> = {};
  const lap = (name: string) => {
    const now = performance.now();
    all[name] = Math.round(now - last) / 1000;
    last = now;
  };
  return Object.assign(lap, { all });
}

// ---- (a) in-process ----------------------------------------------------------------------------

async function inProcess(workload: Workload, mix: Mix, batch: number, depth: number): Promise<Row> {
  const load1 = loadavg()[0];
  const lap = laps();
  const dataDir = makeTempDir('shard');
  const config = buildConfig({ shards: 1, limits: LIMITS, shard: { batchCommandsMax: Math.max(batch, 4096), ...SKU_PAGES } });
  const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, timers: false });
  const exec: Exec = (commands) => shard.execute(commands);
  lap('open');
  await stockUp(exec, workload.skus);
  lap('stock');
  const client = new Client(workload.skus, mix);
  const histogram = latencyHistogram();
  const before = shard.stats();

  let stopping = false;
  const guard = new StarvationGuard();
  const lane = async (): Promise<void> => {
    const next = { command: null as unknown as Command, sku: 0, kind: RESERVE };
    while (!stopping) {
      const commands: Command[] = new Array(batch);
      const skus = new Uint32Array(batch);
      const kinds = new Uint8Array(batch);
      for (let i = 0; i < batch; i++) {
        client.next(next);
        commands[i] = next.command;
        skus[i] = next.sku;
        kinds[i] = next.kind;
      }
      const t0 = performance.now();
      const replies = await shard.execute(commands);
      // Every command of a turn is answered by the same flush: one latency, `batch` times.
      if (client.counting) histogram.recordValueWithCount(Math.max(1, Math.round((performance.now() - t0) * 1000)), batch);
      for (let i = 0; i < batch; i++) client.onReply(kinds[i] as Kind, skus[i], replies[i]);
      if (guard.starving) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const { seconds, cpu } = await window(
    `in-process-${mix}-${workload.label}-${depth}x${batch}`,
    WARMUP_S_INPROCESS,
    MEASURE_S_INPROCESS,
    client,
    () => Array.from({ length: depth }, lane),
    () => (stopping = true),
  );
  guard.stop();
  const after = shard.stats();
  lap('run');
  const result = await check(exec, client);
  lap('check');
  await shard.close();
  lap('close');
  removeTempDir(dataDir);
  return row('in-process', mix, workload, 1, '-', `${depth} × ${fmt(batch)}`, seconds, cpu, client, histogram, {
    turns: after.turns - before.turns,
    commands: after.commands - before.commands,
    checkpoints: after.checkpoints + after.skuCheckpoints - before.checkpoints - before.skuCheckpoints,
  }, result, lap.all, load1);
}

/**
 * Start the load, warm up, count completions for `measureS` seconds, then stop and drain.
 * `start` returns the promises that end once `stop` was called and their work is answered.
 */
async function window(
  label: string,
  warmupS: number,
  measureS: number,
  client: Client,
  start: () => Promise<void>[],
  stop: () => void,
): Promise<{ seconds: number; cpu: CpuWindow }> {
  const running = start();
  await new Promise((resolve) => setTimeout(resolve, warmupS * 1000));
  const stopProfile = await profileWindow(label);
  const cpuStart = cpuSample();
  const t0 = performance.now();
  client.counting = true;
  await new Promise((resolve) => setTimeout(resolve, measureS * 1000));
  client.counting = false;
  const wallMs = performance.now() - t0;
  const cpu = cpuSince(cpuStart);
  await stopProfile();
  stop();
  await Promise.all(running);
  return { seconds: wallMs / 1000, cpu };
}

function row(
  part: Row['part'],
  mix: Mix,
  workload: Workload,
  shards: number,
  crossing: string,
  inFlight: string,
  seconds: number,
  cpu: CpuWindow,
  client: Client,
  histogram: Histogram,
  turns: { turns: number; commands: number; checkpoints: number },
  result: Check,
  phaseSeconds: Record<string, number>,
  load1AtStart: number,
): Row {
  return {
    part,
    mix,
    workload: workload.label,
    shards,
    crossing,
    inFlight,
    seconds,
    commandsPerSec: client.completed / seconds,
    reservesPerSec: client.reservesOk / seconds,
    commitsPerSec: client.commitsOk / seconds,
    completed: client.completed,
    deliveries: client.deliveries,
    largestDelivery: client.largestDelivery,
    countUncertaintyPercent: client.completed > 0 ? (client.largestDelivery / client.completed) * 100 : 0,
    latency: summarize(histogram),
    cpu,
    commandsPerTurn: turns.turns > 0 ? turns.commands / turns.turns : 0,
    checkpoints: turns.checkpoints,
    failures: Object.fromEntries(client.failures),
    check: result,
    phaseSeconds,
    openAtEnd: client.granted.reduce((n, g, i) => n + g - client.committed[i], 0),
    load1AtStart,
  };
}

// ---- (b) engine -------------------------------------------------------------------------------

async function throughEngine(workload: Workload, shards: number, crossing: 'batched' | 'unbatched', outstanding: number): Promise<Row> {
  const load1 = loadavg()[0];
  const lap = laps();
  const dataDir = makeTempDir('engine');
  const config = buildConfig({ dataDir, shards, logLevel: 'silent', limits: LIMITS, shard: { crossing, ...SKU_PAGES } });
  const engine = await Engine.start(config);
  const exec: Exec = (commands) => Promise.all(commands.map((c) => engine.execute(c)));
  lap('open');
  await stockUp(exec, workload.skus);
  lap('stock');
  const client = new Client(workload.skus, 'reserve');
  const histogram = latencyHistogram();
  const total = async () => {
    const stats = await engine.stats();
    return stats.reduce((sum, s) => ({ turns: sum.turns + (s?.turns ?? 0), commands: sum.commands + (s?.commands ?? 0), checkpoints: sum.checkpoints + (s?.checkpoints ?? 0) + (s?.skuCheckpoints ?? 0) }), {
      turns: 0,
      commands: 0,
      checkpoints: 0,
    });
  };
  const before = await total();

  let stopping = false;
  let done: () => void = () => {};
  const drained = new Promise<void>((resolve) => (done = resolve));
  let inflight = 0;
  const guard = new StarvationGuard();
  // A closed loop: each reply sends the next command, so `outstanding` stay in flight.
  const issue = (): void => {
    const next = { command: null as unknown as Command, sku: 0, kind: RESERVE };
    client.next(next);
    const { sku, kind } = next;
    const t0 = performance.now();
    inflight++;
    void engine.execute(next.command).then((reply) => {
      inflight--;
      if (client.counting) histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      client.onReply(kind, sku, reply);
      if (stopping) {
        if (inflight === 0) done();
      } else if (guard.starving) setImmediate(issue);
      else issue();
    });
  };
  const { seconds, cpu } = await window(
    `engine-${workload.label}-${shards}-shards-${crossing}-${outstanding}`,
    WARMUP_S_ENGINE,
    MEASURE_S_ENGINE,
    client,
    () => {
      for (let i = 0; i < outstanding; i++) issue();
      return [drained];
    },
    () => (stopping = true),
  );
  guard.stop();
  const after = await total();
  lap('run');
  const result = await check(exec, client);
  lap('check');
  await engine.stop();
  lap('close');
  removeTempDir(dataDir);
  return row('engine', 'reserve', workload, shards, crossing, fmt(outstanding), seconds, cpu, client, histogram, {
    turns: after.turns - before.turns,
    commands: after.commands - before.commands,
    checkpoints: after.checkpoints - before.checkpoints,
  }, result, lap.all, load1);
}

// ---- main ------------------------------------------------------------------------------------

function printRow(r: Row): void {
  const failures = Object.entries(r.failures).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  console.error(
    `  ${r.part} ${r.mix} ${r.workload} shards=${r.shards} ${r.crossing} in-flight=${r.inFlight}: ${fmt(r.reservesPerSec)} reserves/s, ` +
      `p99 ${r.latency.p99Ms} ms, failures ${failures}, oversold ${r.check.oversold}, mismatches ${r.check.mismatches}; ` +
      `phases ${Object.entries(r.phaseSeconds).map(([k, v]) => `${k} ${v}s`).join(' ')}`,
  );
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const started = performance.now();
  console.log(`# shard-throughput (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const workloads: Workload[] = [
    { label: '1 hot SKU', skus: [`hot-${TAG}`] },
    { label: `${fmt(MANY_SKUS)} SKUs`, skus: Array.from({ length: MANY_SKUS }, (_, i) => skuName(i)) },
  ];
  const rows: Row[] = [];
  if (ONLY !== 'engine') {
    for (const { mix, batches } of INPROCESS_RUNS) {
      for (const workload of workloads) {
        for (const batch of batches) {
          const r = await inProcess(workload, mix, batch, DEPTH);
          printRow(r);
          rows.push(r);
        }
      }
    }
  }
  if (ONLY !== 'inprocess') {
    for (const shards of [1, 2]) {
      for (const crossing of ['batched', 'unbatched'] as const) {
        for (const workload of workloads) {
          const r = await throughEngine(workload, shards, crossing, OUTSTANDING);
          printRow(r);
          rows.push(r);
        }
      }
    }
    for (const workload of QUICK ? workloads.slice(0, 1) : workloads) {
      const r = await throughEngine(workload, 1, 'batched', OUTSTANDING_LIGHT);
      printRow(r);
      rows.push(r);
    }
  }

  const latencyCells = (r: Row): Cell[] => [fmt(r.latency.p50Ms, 2), fmt(r.latency.p99Ms, 2), fmt(r.latency.p999Ms, 2), fmt(r.latency.maxMs, 1)];
  const tail = (r: Row): Cell[] => [
    fmt(r.cpu.ownPercent, 0),
    r.cpu.othersPercent === null ? '?' : fmt(r.cpu.othersPercent, 0),
    r.checkpoints,
    Object.values(r.failures).reduce((a, b) => a + b, 0),
    r.openAtEnd,
    fmt(r.phaseSeconds.close ?? NaN, 1),
  ];
  const tailHeaders = ['CPU %', 'others %', 'ckpts', 'failed', 'open at end', 'close s'];
  const inProcessTable = markdownTable(
    ['mix', 'workload', 'in flight', 'commands/s', 'reserves/s', '± %', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', ...tailHeaders],
    rows
      .filter((r) => r.part === 'in-process')
      .map((r) => [r.mix, r.workload, r.inFlight, r.commandsPerSec, r.reservesPerSec, fmt(r.countUncertaintyPercent, 1), ...latencyCells(r), ...tail(r)]),
  );
  const engineTable = markdownTable(
    ['workload', 'shards', 'crossing', 'in flight', 'reserves/s', '± %', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'cmds/turn', ...tailHeaders],
    rows
      .filter((r) => r.part === 'engine')
      .map((r) => [
        r.workload,
        r.shards,
        r.crossing,
        r.inFlight,
        r.reservesPerSec,
        fmt(r.countUncertaintyPercent, 1),
        ...latencyCells(r),
        fmt(r.commandsPerTurn, 1),
        ...tail(r),
      ]),
  );
  const oversold = rows.reduce((n, r) => n + r.check.oversold, 0);
  const mismatches = rows.reduce((n, r) => n + r.check.mismatches, 0);
  if (rows.some((r) => r.part === 'in-process')) {
    console.log(`## (a) In-process shard, durable, ${DEPTH} execute() calls in flight × batch, ${MEASURE_S_INPROCESS} s after ${WARMUP_S_INPROCESS} s warm-up\n`);
    console.log(inProcessTable + '\n');
  }
  if (rows.some((r) => r.part === 'engine')) {
    console.log(`## (b) Engine, worker-thread shards, closed loop of ${fmt(OUTSTANDING)} (and ${fmt(OUTSTANDING_LIGHT)}) promises, ${MEASURE_S_ENGINE} s after ${WARMUP_S_ENGINE} s warm-up\n`);
    console.log(engineTable + '\n');
  }
  console.log(
    'Latency: submit to durable reply, per command. reserve+commit: half the commands commit an earlier reserve.\n' +
      '± %: replies arrive in deliveries (a flush answers a whole turn); the window count is uncertain by the largest one.\n' +
      'cmds/turn: commands per shard turn over the whole run. CPU %: this process (main thread, workers, LMDB threads)\n' +
      'during the window, 100 = one core; others %: every other process on the machine meanwhile (figures taken while\n' +
      'others % is high are skewed). ckpts: checkpoints during the run (the shards\', and hot SKUs\' on their own). open at end: reservations still held when the\n' +
      'load stopped. close s: shard.close() / engine.stop(), which checkpoints every dirty SKU.\n',
  );
  const sellout = rows.map((r) => `${fmt(r.check.selloutGranted)}/${fmt(SELLOUT_REQUESTS)}`);
  console.log(`sell-out runs (granted/requested, stock ${fmt(SELLOUT_STOCK)}): ${[...new Set(sellout)].join(', ')}`);
  console.log(`accounting mismatches: ${mismatches}`);
  console.log(`oversold: ${oversold}`);
  // Any refused command means the workload hit a limit: the figures do not measure what they say.
  const failed = rows.filter((r) => Object.keys(r.failures).length > 0);
  for (const r of failed) {
    console.log(`WARNING: ${r.part} ${r.mix} ${r.workload} shards=${r.shards} ${r.crossing}: refused ${JSON.stringify(r.failures)}`);
  }
  const path = writeResult('shard-throughput', {
    settings: {
      measureSecondsInProcess: MEASURE_S_INPROCESS,
      measureSecondsEngine: MEASURE_S_ENGINE,
      warmupSecondsInProcess: WARMUP_S_INPROCESS,
      warmupSecondsEngine: WARMUP_S_ENGINE,
      manySkus: MANY_SKUS,
      outstanding: OUTSTANDING,
      outstandingLight: OUTSTANDING_LIGHT,
      depth: DEPTH,
      inProcessRuns: INPROCESS_RUNS,
      stockPerSku: STOCK,
      limits: LIMITS,
      selloutStock: SELLOUT_STOCK,
      selloutRequests: SELLOUT_REQUESTS,
    },
    oversold,
    mismatches,
    elapsedSeconds: (performance.now() - started) / 1000,
    results: rows,
  });
  console.log(`\nresults: ${path} (${fmt((performance.now() - started) / 1000, 0)} s)`);
  if (oversold > 0 || mismatches > 0 || failed.length > 0) process.exitCode = 1;
}

await main();
