// A hot SKU's two per-key tables — idempotency keys and open holds per customer — kept in V8's Map
// or in Stockade's own (idempotency-table.ts, customer-counts.ts over growing-index.ts): the cost
// per reserve and the longest single operation, apart from the shard.
//
//   npm run bench:tables               (compiled first, as published)
//   BENCH_TABLES_OPS=1200000           reserves measured (default 1.2M; quick 200,000)
//   BENCH_TABLES_HOLDS=600000          holds open at once (default 600,000; quick 100,000)
//
// Each operation is what a reserve does to the two tables: look its fresh idempotency key up
// (a miss) and remember it, then count its customer in; once HOLDS are open, the oldest hold's
// customer is counted out, as a commit or expiry does. Every key is a fresh string, as one read
// off the network is. Map grows its table all at once, on the insert that fills it; the longest
// single operation is that stall. Each variant runs in a child process of its own.

import { fileURLToPath } from 'node:url';
import { CustomerCounts } from '../src/actors/customer-counts.js';
import { IdempotencyTable } from '../src/actors/idempotency-table.js';
import { childResult, envNumber, fmt, fullGc, machineInfo, machineLine, markdownTable, QUICK, reportResult, writeResult } from './common.js';

const OPS = Math.round(envNumber('BENCH_TABLES_OPS', 1_200_000, 200_000));
const HOLDS = Math.round(envNumber('BENCH_TABLES_HOLDS', 600_000, 100_000));
const RUNS = 3;
const VARIANTS = ['Map', 'growing tables'] as const;
type Variant = (typeof VARIANTS)[number];

interface Tables {
  idemGet(key: string): unknown;
  idemSet(key: string, value: object): void;
  countIn(customerId: string): void;
  countOut(customerId: string): void;
}

function tablesOf(variant: Variant): Tables {
  if (variant === 'Map') {
    const idem = new Map<string, object>();
    const customers = new Map<string, number>();
    return {
      idemGet: (key) => idem.get(key),
      idemSet: (key, value) => void idem.set(key, value),
      countIn: (id) => void customers.set(id, (customers.get(id) ?? 0) + 1),
      countOut: (id) => {
        const left = customers.get(id)! - 1;
        if (left > 0) customers.set(id, left);
        else customers.delete(id);
      },
    };
  }
  const idem = new IdempotencyTable<object>();
  const customers = new CustomerCounts();
  return {
    idemGet: (key) => idem.get(key),
    idemSet: (key, value) => void idem.set(key, value),
    countIn: (id) => customers.increment(id),
    countOut: (id) => customers.decrement(id),
  };
}

interface RunResult {
  nsPerOp: number;
  longestMs: number;
  over1Ms: number;
  heapUsedBytes: number;
}

function child(variant: Variant): void {
  const tables = tablesOf(variant);
  const value = { kind: 'reserve' };
  let longest = 0;
  let over1Ms = 0;
  const began = performance.now();
  for (let no = 1; no <= OPS; no++) {
    // Fresh strings, as off the network.
    const key = `idem-${no}-${no % 97}`;
    const customer = `customer-${no}`;
    const t = performance.now();
    if (tables.idemGet(key) !== undefined) throw new Error(`${key} found before it was stored`);
    tables.idemSet(key, value);
    tables.countIn(customer);
    if (no > HOLDS) tables.countOut(`customer-${no - HOLDS}`);
    const ms = performance.now() - t;
    if (ms > longest) longest = ms;
    if (ms > 1) over1Ms++;
  }
  const nsPerOp = ((performance.now() - began) * 1e6) / OPS;
  fullGc();
  // The growing tables' slots are typed arrays, whose bytes are outside the JavaScript heap.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  const heapUsedBytes = heapUsed + arrayBuffers;
  if (tables.idemGet(`idem-${OPS}-${OPS % 97}`) !== value) throw new Error('the newest key was lost');
  const result: RunResult = { nsPerOp, longestMs: longest, over1Ms, heapUsedBytes };
  reportResult(result);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# key tables (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const results: { variant: Variant; runs: RunResult[] }[] = VARIANTS.map((variant) => ({ variant, runs: [] }));
  // Interleaved: each round runs every variant once, so drift on a shared machine hits all alike.
  for (let round = 0; round < RUNS; round++) {
    for (const entry of round % 2 === 0 ? results : [...results].reverse()) {
      entry.runs.push(await childResult<RunResult>(fileURLToPath(import.meta.url), ['child', entry.variant], `key tables child (${entry.variant})`, ['--expose-gc']));
    }
  }
  const each = (runs: RunResult[], pick: (r: RunResult) => number, digits?: number) => runs.map((r) => fmt(pick(r), digits)).join(' / ');
  console.log(
    markdownTable(
      ['tables', 'ns per reserve, each run', 'longest operation ms', 'operations over 1 ms', 'MiB held (heap + array buffers)'],
      results.map((r) => [r.variant, each(r.runs, (x) => x.nsPerOp), each(r.runs, (x) => x.longestMs, 1), each(r.runs, (x) => x.over1Ms), each(r.runs, (x) => x.heapUsedBytes / 2 ** 20)]),
    ),
  );
  console.log(`\n${fmt(OPS)} reserves per run, ${fmt(HOLDS)} customers holding at once; ${fmt(OPS)} idempotency keys kept at the end. Times include garbage collection and each operation's own clock reads; memory after a full collection, both tables alive: the JavaScript heap plus array buffers (the growing tables' slots).`);
  const path = writeResult('key-tables', { settings: { ops: OPS, holds: HOLDS, runs: RUNS }, results });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') child(process.argv[3] as Variant);
else await main();
