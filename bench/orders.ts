// Order confirmation end to end through the order service with a real engine: place (RECEIVED
// durable → lines reserved in the shards → RESERVED durable) then confirm (every line's
// reservation and flag checked in the shards → CONFIRMED durable), timed per order from the
// placement call to the confirmation answer. The brief asks for under 2 s.
//
//   sequential  one order at a time: the latency of the path itself
//   concurrent  BENCH_ORDERS_CONCURRENCY orders in flight (closed loop): latency under load, and
//               the rate reached
//   nats        as concurrent, with every event published through the outbox to a real
//               nats-server (JetStream stream ORDERS) — the service's configuration with NATS on
//
// Engine with 2 worker-thread shards, orders of 1-3 lines over 1,000 SKUs that have stock.
//
//   npm run bench:orders   (compiled first, as published; `npx tsx bench/orders.ts` runs the source)
//   BENCH_QUICK=1                  smoke run
//   BENCH_ORDERS                   orders per phase (default 5,000; quick 500)
//   BENCH_ORDERS_CONCURRENCY       orders in flight in the concurrent phases (default 64)

import { Engine } from '../src/actors/engine.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import type { CanonicalOrder } from '../src/orders/canonical.js';
import { buildOrdersConfig } from '../src/orders/config.js';
import { natsOrderPublisher, type OrderEventPublisher } from '../src/orders/publisher.js';
import { OrderService } from '../src/orders/service.js';
import { connectNats, ensureStreams } from '../src/streams/nats.js';
import { NatsServer } from '../test/nats-server.js';
import { cpuSample, cpuSince, envNumber, fmt, latencyHistogram, machineInfo, machineLine, makeTempDir, markdownTable, removeTempDir, Rng, summarize, writeResult, type LatencySummary } from './common.js';

const ORDERS = Math.round(envNumber('BENCH_ORDERS', 5000, 500));
const CONCURRENCY = Math.round(envNumber('BENCH_ORDERS_CONCURRENCY', 64));
const SKUS = 1000;
const TARGET_MS = 2000;

interface PhaseResult {
  phase: string;
  orders: number;
  concurrency: number;
  failures: number;
  /** Failed orders by the error code (or the state) they ended with. */
  failureCodes: Record<string, number>;
  ordersPerSecond: number;
  latency: LatencySummary;
  cpu: ReturnType<typeof cpuSince>;
}

let external = 0;
function order(rng: Rng): CanonicalOrder {
  external++;
  const lineCount = 1 + rng.int(3);
  const lines = Array.from({ length: lineCount }, (_, i) => ({ lineId: `l${i}`, sku: `BENCH-${rng.int(SKUS)}-${i}`, quantity: 1, unitPriceMinor: 100, title: null }));
  return {
    channel: 'web',
    account: 'bench',
    externalId: `bench-${process.pid}-${external}`,
    customer: { id: `c${rng.int(10_000)}`, email: null, name: null, tier: rng.int(10) === 0 ? 'vip' : 'standard' },
    currency: 'EUR',
    totalMinor: 100 * lineCount,
    lines,
    payment: { authorizationId: `auth-${external}`, status: 'authorized' },
    shippingAddress: { name: 'B', line1: '1 Road', city: 'Town', postalCode: '1000', country: 'NL' },
    placedAt: new Date().toISOString(),
    preOrder: false,
  };
}

async function runPhase(phase: string, service: OrderService, concurrency: number, rng: Rng): Promise<PhaseResult> {
  const histogram = latencyHistogram();
  let failures = 0;
  const failureCodes: Record<string, number> = {};
  let next = 0;
  const cpu = cpuSample();
  const t0 = performance.now();
  const worker = async () => {
    while (next < ORDERS) {
      next++;
      const started = performance.now();
      const placed = await service.place(order(rng));
      const confirmed = placed.ok && placed.order.state === 'RESERVED' ? await service.confirm(placed.order.id) : null;
      if (!confirmed?.ok || confirmed.order.state !== 'CONFIRMED') {
        failures++;
        const last = confirmed ?? placed;
        const code = last.ok ? last.order.state : last.error.code;
        failureCodes[code] = (failureCodes[code] ?? 0) + 1;
        continue;
      }
      histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { phase, orders: ORDERS, concurrency, failures, failureCodes, ordersPerSecond: Math.round(ORDERS / seconds), latency: summarize(histogram), cpu: cpuSince(cpu) };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.error(`# orders — ${machineLine(machine)}; ${fmt(ORDERS)} orders per phase, 1-3 lines over ${fmt(SKUS * 3)} SKUs`);
  const dataDir = makeTempDir('orders');
  const nats = await NatsServer.start();
  const config = buildConfig({ shards: 2, dataDir, logLevel: 'silent', nats: { enabled: true, servers: [nats.url] } });
  const engine = await Engine.start(config);
  const rng = new Rng(7);
  const results: PhaseResult[] = [];
  let connection: Awaited<ReturnType<typeof connectNats>> | null = null;
  try {
    // Enough stock that no order is short: the benchmark times the confirmation path, not holds.
    const stock: Command[] = [];
    for (let s = 0; s < SKUS; s++) for (let i = 0; i < 3; i++) stock.push({ type: 'setStock', sku: `BENCH-${s}-${i}`, location: 'w1', onHand: 1_000_000, eventId: `bench-stock-${s}-${i}` } as Command);
    for (const reply of await engine.executeBatch(stock)) if (!reply.ok) throw new Error(`stock: ${reply.error.code}`);

    const ordersConfig = buildOrdersConfig({});
    const plain = await OrderService.open({ engine, dataDir: `${dataDir}/plain`, config: ordersConfig, timers: false });
    results.push(await runPhase('sequential', plain, 1, rng));
    results.push(await runPhase('concurrent', plain, CONCURRENCY, rng));
    await plain.close();

    connection = await connectNats(config.nats, 'bench-orders');
    await ensureStreams(connection.jsm, config.nats);
    const publisher: OrderEventPublisher = natsOrderPublisher(connection.nc);
    const withNats = await OrderService.open({ engine, dataDir: `${dataDir}/nats`, config: ordersConfig, timers: false, publisher });
    results.push(await runPhase('concurrent + NATS outbox', withNats, CONCURRENCY, rng));
    await withNats.whenOutboxEmpty();
    await withNats.close();
  } finally {
    await connection?.nc.close();
    await engine.stop();
    await nats.destroy();
    removeTempDir(dataDir);
  }

  const rows = results.map((r) => [
    r.phase,
    r.concurrency,
    r.orders - r.failures,
    r.failures === 0 ? '0' : `${r.failures} (${Object.entries(r.failureCodes).map(([c, n]) => `${c} ${n}`).join(', ')})`,
    r.ordersPerSecond,
    fmt(r.latency.p50Ms, 2),
    fmt(r.latency.p99Ms, 2),
    fmt(r.latency.p999Ms, 2),
    fmt(r.latency.maxMs, 2),
    r.latency.p99Ms < TARGET_MS ? 'yes' : 'NO',
  ]);
  console.log(markdownTable(['phase', 'in flight', 'confirmed', 'failed', 'orders/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', `p99 < ${TARGET_MS} ms`], rows));
  const path = writeResult('orders', { ordersPerPhase: ORDERS, concurrency: CONCURRENCY, skus: SKUS * 3, targetMs: TARGET_MS, results });
  console.error(`written to ${path}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
