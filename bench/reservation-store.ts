// How a hot SKU could hold its open reservations: the cost per hold of three representations,
// measured apart from the shard (no WAL, no decide), to size a redesign before making it.
//
//   npm run bench:store                 (compiled first, as published)
//   BENCH_STORE_HOLDS=300000            reservations held open at once (default 300,000; quick 30,000)
//   BENCH_STORE_OPS=3000000             places measured (default 3M; quick 300,000)
//
// Each operation places one reservation and, once HOLDS are open, ends the oldest: the steady
// state of a flash sale's hot SKU. Every variant makes the same fresh strings per operation (id,
// order, customer, idempotency key) and keeps the same per-customer count Map, as the SKU actor
// does; what differs is where the reservation lives:
//   objects by id       a 22-field object in a Map keyed by its id string (the SKU actor today)
//   objects by number   the same object in a Map keyed by its per-SKU number
//   objects in a ring   the same object in an array indexed by number (no Map)
//   columns             its numbers in one Float64Array, its strings in plain arrays (no object)
// Each variant runs in a child process of its own, so none inherits another's heap.

import { fileURLToPath } from 'node:url';
import { childResult, envNumber, fmt, fullGc, machineInfo, machineLine, markdownTable, QUICK, reportResult, writeResult } from './common.js';

const HOLDS = Math.round(envNumber('BENCH_STORE_HOLDS', 300_000, 30_000));
const OPS = Math.round(envNumber('BENCH_STORE_OPS', 3_000_000, 300_000));
const RUNS = 2;
const SKU = 'SKU-HOT-000001';
const VARIANTS = ['objects by id', 'objects by number', 'objects in a ring', 'columns'] as const;
type Variant = (typeof VARIANTS)[number];

function reservation(no: number) {
  return {
    id: `${SKU}:${no.toString(36)}`,
    sku: SKU,
    orderId: `order-${no}`,
    customerId: `customer-${no}`,
    channel: 'web',
    idempotencyKey: `key-${no}`,
    requested: 1,
    quantity: 1,
    allocations: [{ location: 'dc-1', quantity: 1 }],
    priority: 0,
    arrival: no,
    allowPartial: false,
    locations: null,
    holdTtlMs: 600_000,
    state: 'ACTIVE',
    createdAt: no,
    activatedAt: no,
    expiresAt: no + 600_000,
    endedAt: 0,
    endReason: null as string | null,
    walSeq: no,
    walIndex: 0,
  };
}
type Held = ReturnType<typeof reservation>;

/** Count a customer's open reservation, and forget it again (anti-hoarding, as the actor does). */
const customers = new Map<string, number>();
const countIn = (customerId: string) => customers.set(customerId, (customers.get(customerId) ?? 0) + 1);
const countOut = (customerId: string) => customers.delete(customerId);

/** Ends counted (a check), and the store itself, kept alive until its heap is measured. */
function run(variant: Variant): { ended: number; store: unknown } {
  let ended = 0;
  if (variant === 'objects by id' || variant === 'objects by number') {
    const byId = new Map<string, Held>();
    const byNumber = new Map<number, Held>();
    for (let no = 1; no <= OPS; no++) {
      const r = reservation(no);
      if (variant === 'objects by id') byId.set(r.id, r);
      else byNumber.set(no, r);
      countIn(r.customerId);
      if (no > HOLDS) {
        // The end command names the reservation by its id string, as a release or commit does.
        const id = `${SKU}:${(no - HOLDS).toString(36)}`;
        const key = parseInt(id.slice(id.indexOf(':') + 1), 36);
        const old = variant === 'objects by id' ? byId.get(id)! : byNumber.get(key)!;
        old.state = 'COMMITTED';
        if (variant === 'objects by id') byId.delete(id);
        else byNumber.delete(key);
        countOut(old.customerId);
        ended += old.quantity;
      }
    }
    return { ended, store: [byId, byNumber] };
  } else if (variant === 'objects in a ring') {
    const ring: (Held | null)[] = new Array(2 * HOLDS).fill(null);
    for (let no = 1; no <= OPS; no++) {
      const r = reservation(no);
      ring[no % ring.length] = r;
      countIn(r.customerId);
      if (no > HOLDS) {
        const slot = (no - HOLDS) % ring.length;
        const old = ring[slot]!;
        old.state = 'COMMITTED';
        ring[slot] = null;
        countOut(old.customerId);
        ended += old.quantity;
      }
    }
    return { ended, store: ring };
  } else {
    const slots = 2 * HOLDS;
    const FIELDS = 8; // requested, quantity, priority, arrival, createdAt, activatedAt, expiresAt, walSeq
    const numbers = new Float64Array(slots * FIELDS);
    const states = new Uint8Array(slots);
    const ids: (string | null)[] = new Array(slots).fill(null);
    const orderIds: (string | null)[] = new Array(slots).fill(null);
    const customerIds: (string | null)[] = new Array(slots).fill(null);
    const keys: (string | null)[] = new Array(slots).fill(null);
    for (let no = 1; no <= OPS; no++) {
      const slot = no % slots;
      const at = slot * FIELDS;
      numbers[at] = 1;
      numbers[at + 1] = 1;
      numbers[at + 2] = 0;
      numbers[at + 3] = no;
      numbers[at + 4] = no;
      numbers[at + 5] = no;
      numbers[at + 6] = no + 600_000;
      numbers[at + 7] = no;
      states[slot] = 1;
      ids[slot] = `${SKU}:${no.toString(36)}`;
      orderIds[slot] = `order-${no}`;
      customerIds[slot] = `customer-${no}`;
      keys[slot] = `key-${no}`;
      countIn(customerIds[slot]!);
      if (no > HOLDS) {
        const old = (no - HOLDS) % slots;
        states[old] = 3;
        countOut(customerIds[old]!);
        ended += numbers[old * FIELDS + 1];
        ids[old] = orderIds[old] = customerIds[old] = keys[old] = null;
      }
    }
    return { ended, store: [numbers, states, ids, orderIds, customerIds, keys] };
  }
}

function child(variant: Variant): void {
  const t0 = performance.now();
  const { ended, store } = run(variant);
  const ms = performance.now() - t0;
  if (ended !== OPS - HOLDS) throw new Error(`${variant}: ended ${ended}, expected ${OPS - HOLDS}`);
  // What the held reservations keep (the customer counts included), garbage collected first.
  fullGc();
  const heapUsedBytes = process.memoryUsage().heapUsed;
  reportResult({ nsPerOp: (ms * 1e6) / OPS, heapUsedBytes, held: store !== null });
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`# reservation store (${QUICK ? 'quick' : 'full'}) — ${machineLine(machine)}\n`);
  const results: { variant: Variant; runs: { nsPerOp: number; heapUsedBytes: number }[] }[] = [];
  for (const variant of VARIANTS) results.push({ variant, runs: [] });
  // Interleaved: each round runs every variant once, so drift on a shared machine hits all alike.
  for (let round = 0; round < RUNS; round++) {
    for (const entry of results) {
      entry.runs.push(await childResult<{ nsPerOp: number; heapUsedBytes: number }>(fileURLToPath(import.meta.url), ['child', entry.variant], `reservation store child (${entry.variant})`, ['--expose-gc']));
    }
  }
  console.log(
    markdownTable(
      ['representation', 'ns per place-and-end, each run', 'heap MiB held, each run'],
      results.map((r) => [r.variant, r.runs.map((x) => fmt(x.nsPerOp)).join(' / '), r.runs.map((x) => fmt(x.heapUsedBytes / 2 ** 20)).join(' / ')]),
    ),
  );
  console.log(`\n${fmt(OPS)} places per run, ${fmt(HOLDS)} held open; times include garbage collection; heap after a full collection, the ${fmt(HOLDS)} holds and their customer counts alive.`);
  const path = writeResult('reservation-store', { settings: { holds: HOLDS, ops: OPS, runs: RUNS }, results });
  console.log(`\nresults: ${path}`);
}

if (process.argv[2] === 'child') child(process.argv[3] as Variant);
else await main();
