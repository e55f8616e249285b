// Shared scaffolding for the benchmark scripts: run modes, machine description, temporary data
// directories, latency histograms, Markdown tables and the JSON result files in bench/results/.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { build, type Histogram } from 'hdr-histogram-js';
import { projectFile } from '../src/paths.js';

/** Other work on the machine skews every figure: the load average is recorded with the results. */
const LOAD_AT_START = loadavg();
/** The project root, from bench/ (tsx) and from dist/bench/ (npm run bench:*) alike. */
export const ROOT_DIR = dirname(projectFile('package.json'));
export const BENCH_DIR = join(ROOT_DIR, 'bench');

/** BENCH_QUICK=1: a smoke run of about 20 s per script, with smaller sizes and shorter windows. */
export const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';

/** A numeric environment override, else the quick or the full default. */
export function envNumber(name: string, full: number, quick: number = full): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return QUICK ? quick : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

// ---- machine -----------------------------------------------------------------------------

/** statfs magic numbers of the file systems a data directory is likely to sit on. */
const FS_TYPES: Record<number, string> = {
  0x01021994: 'tmpfs',
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
};

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  totalMemoryBytes: number;
  totalMemoryGiB: number;
  node: string;
  v8: string;
  platform: string;
  osRelease: string;
  /** Where the data directories live and on what file system: durable-write figures depend on it. */
  dataDirBase: string;
  dataDirFs: string;
}

/** The file system a path lives on (best effort: the figure is informative, not a result). */
export function fileSystemOf(path: string): string {
  try {
    const type = statfsSync(path).type;
    return FS_TYPES[type] ?? `0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const base = tempBase();
  const fs = fileSystemOf(base);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    availableParallelism: availableParallelism(),
    totalMemoryBytes: totalmem(),
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    osRelease: release(),
    dataDirBase: base,
    dataDirFs: fs,
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.totalMemoryGiB} GiB, Node ${m.node}, ${m.platform} ${m.osRelease}, data on ${m.dataDirBase} (${m.dataDirFs})`;
}

// ---- temporary data directories ---------------------------------------------------------------

/** BENCH_DIR overrides the base (e.g. /dev/shm to take the disk out of the figures). */
function tempBase(): string {
  return process.env.BENCH_DIR || tmpdir();
}

const made = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tempBase(), `stockade-bench-${prefix}-`));
  made.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Last resort: a failing or interrupted script still leaves no data directories behind. */
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // 'exit' does not run on a signal's default action: exit explicitly so it does.
  process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
}

// ---- child processes -------------------------------------------------------------------------

const RESULT_PREFIX = 'RESULT ';

/** A child's answer to its parent (`childResult`): one line of JSON on stdout. */
export function reportResult(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Run `script` with `args` in a fresh node process — this one's node flags plus `nodeArgs`, so no
 * run inherits another's heap or JIT state — and resolve with what it reported (`reportResult`).
 * `what` names the child in the error when it fails or reports nothing.
 */
export function childResult<T>(script: string, args: string[], what: string, nodeArgs: string[] = []): Promise<T> {
  const flags = [...nodeArgs, ...process.execArgv.filter((a) => !nodeArgs.includes(a))];
  const proc = spawn(process.execPath, [...flags, script, ...args], { cwd: ROOT_DIR, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
      else reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

// ---- results -------------------------------------------------------------------------------

/**
 * Write bench/results/<name>.json (quick runs go to <name>-quick.json so a smoke run never
 * overwrites the figures of a full run). Returns the path written.
 */
export function writeResult(name: string, body: Record<string, unknown>): string {
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, QUICK ? `${name}-quick.json` : `${name}.json`);
  const payload = {
    name,
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    command: `${process.argv0} ${process.execArgv.join(' ')} ${process.argv.slice(1).map((a) => a.replace(ROOT_DIR + '/', '')).join(' ')}`.replace(/\s+/g, ' ').trim(),
    machine: machineInfo(),
    loadAverage: { atStart: LOAD_AT_START, atEnd: loadavg() },
    ...body,
  };
  writeFileSync(path, JSON.stringify(payload, null, 2) + '\n');
  return path;
}

// ---- CPU used by others ----------------------------------------------------------------------

/**
 * Busy and steal time of the whole machine (Linux /proc/stat, in ms) next to this process's own
 * CPU time. Over a window, machine busy minus own = CPU that other processes took: a figure
 * measured while something else ran is not a figure about Stockade alone.
 */
export interface CpuSample {
  at: number;
  machineBusyMs: number | null;
  stealMs: number | null;
  ownMs: number;
}

export function cpuSample(): CpuSample {
  const own = process.cpuUsage();
  let machineBusyMs: number | null = null;
  let stealMs: number | null = null;
  try {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ = 100)
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    machineBusyMs = (user + nice + system + irq + softirq) * 10;
    stealMs = steal * 10;
  } catch {
    // Not Linux: the figure is reported as unknown.
  }
  return { at: performance.now(), machineBusyMs, stealMs, ownMs: (own.user + own.system) / 1000 };
}

export interface CpuWindow {
  /** This process, all threads: 100 = one core busy for the whole window. */
  ownPercent: number;
  /** Every other process on the machine; null when unknown. */
  othersPercent: number | null;
  /** Time the hypervisor gave to other guests; null when unknown. */
  stealPercent: number | null;
}

export function cpuSince(start: CpuSample): CpuWindow {
  const end = cpuSample();
  const wall = end.at - start.at;
  const pct = (ms: number) => (ms / wall) * 100;
  const own = end.ownMs - start.ownMs;
  return {
    ownPercent: pct(own),
    othersPercent: end.machineBusyMs !== null && start.machineBusyMs !== null ? Math.max(0, pct(end.machineBusyMs - start.machineBusyMs - own)) : null,
    stealPercent: end.stealMs !== null && start.stealMs !== null ? pct(end.stealMs - start.stealMs) : null,
  };
}

// ---- formatting ------------------------------------------------------------------------------

export type Cell = string | number;

/** A GitHub Markdown table; numeric columns are right-aligned. */
export function markdownTable(headers: string[], rows: Cell[][]): string {
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^[\d,.\s%×x-]+$/.test(String(r[c]))));
  const text = rows.map((r) => r.map((cell) => (typeof cell === 'number' ? fmt(cell) : cell)));
  const widths = headers.map((h, c) => Math.max(h.length, 3, ...text.map((r) => r[c].length)));
  const line = (cells: string[]) => '| ' + cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, c) => (numeric[c] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/** Thousands separators; `digits` decimals for small values. */
export function fmt(n: number, digits?: number): string {
  if (!Number.isFinite(n)) return String(n);
  const d = digits ?? (Number.isInteger(n) || Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

// ---- latency -----------------------------------------------------------------------------------

/** A histogram of latencies in microseconds (3 significant digits, up to 10 minutes). */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, meanMs: NaN, p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, p999Ms: NaN, maxMs: NaN };
  return {
    count: h.totalCount,
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
  };
}

// ---- workload helpers ------------------------------------------------------------------------

/** xorshift32: a fast, seeded generator so every run draws the same SKU sequence. */
export class Rng {
  private s: number;
  constructor(seed = 0x9e3779b9) {
    this.s = seed >>> 0 || 1;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s % n;
  }
}

/** A run tag makes idempotency keys unique across runs that share nothing but look alike. */
export function runTag(): string {
  return Date.now().toString(36) + Math.floor(Math.random() * 36 ** 4).toString(36);
}

export function skuName(i: number): string {
  return `sku-${i.toString().padStart(7, '0')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run the collector twice: one major GC can leave weak or finalizable garbage for the next. */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('global.gc is not exposed: run node with --expose-gc');
  gc();
  gc();
}

// ---- profiling ---------------------------------------------------------------------------

/**
 * BENCH_CPU_PROFILE=<dir>: a V8 CPU profile of this thread over a measured window only, written
 * to `<dir>/<label>.cpuprofile`. `node --cpu-prof` covers the whole process, where set-up, the
 * read-back checks and the closing checkpoint (which encodes every open hold) crowd out the window.
 * BENCH_HEAP_PROFILE=<dir>: where this thread allocated over the window, sampled every 32 KiB,
 * objects the collector has already freed included (`node --heap-prof` keeps only the live ones,
 * and the garbage is what costs): `<dir>/<label>.heapprofile`, which Chrome's DevTools open.
 */
export async function profileWindow(label: string): Promise<() => Promise<void>> {
  const cpuDir = process.env.BENCH_CPU_PROFILE;
  const heapDir = process.env.BENCH_HEAP_PROFILE;
  if (!cpuDir && !heapDir) return async () => {};
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  if (cpuDir) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  if (heapDir) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const fileIn = (dir: string, suffix: string) => {
    mkdirSync(dir, { recursive: true });
    return join(dir, `${label.replace(/[^A-Za-z0-9.-]+/g, '_')}.${suffix}`);
  };
  return async () => {
    if (cpuDir) {
      const { profile } = await session.post('Profiler.stop');
      const file = fileIn(cpuDir, 'cpuprofile');
      writeFileSync(file, JSON.stringify(profile));
      console.log(`  cpu profile of the window: ${file}`);
    }
    if (heapDir) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      const file = fileIn(heapDir, 'heapprofile');
      writeFileSync(file, JSON.stringify(profile));
      console.log(`  allocation profile of the window: ${file}`);
    }
    session.disconnect();
  };
}
