// CPU time per reserve in the Stockade process, by thread: where the gateway's cost goes.
//
// The load benchmark (run.ts) reports throughput and latency; on a 2-core machine shared with
// the load generator, throughput is bounded by how much CPU each request costs across every
// thread, so this script measures that directly. It starts the real server (compiled, as
// stockade.ts says; 2 shards), stocks SKUs, drives a closed loop of reserves over WebSocket
// (msgpack frames) and reads the process's and each thread's CPU time from /proc before and after.
//
//   npx tsx bench/load/cpu-per-request.ts
//   BENCH_REQUESTS (200,000; quick 30,000)  reserves to send
//   BENCH_CONNECTIONS, BENCH_DEPTH (8 × 64) connections and requests in flight on each
//   BENCH_SKUS (1: one hot SKU)             SKUs drawn round-robin (results: cpu-per-request-<n>-skus.json)
//
// Linux only (/proc). Threads are not named in /proc: the main thread (the gateway: uWS, routing,
// encoding) has the process id; the others are the shard workers, LMDB's write threads and V8's
// GC helpers, listed by CPU.

import { ROOT_DIR, envNumber, fmt, machineInfo, machineLine, writeResult } from '../common.js';
import { cpuTicksByThread, TICKS_PER_SECOND } from './shared.js';
import { AdminClient, serverRuntime, startStockade } from './stockade.js';

const REQUESTS = Math.round(envNumber('BENCH_REQUESTS', 200_000, 30_000));
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 8));
const DEPTH = Math.round(envNumber('BENCH_DEPTH', 64));
const SKUS = Math.round(envNumber('BENCH_SKUS', 1));

/** CPU milliseconds (user + system) of each thread of `pid`, keyed "pid/tid" (shared.ts). */
function threadCpuMs(pid: number): Map<string, number> {
  const ms = new Map<string, number>();
  for (const [thread, ticks] of cpuTicksByThread({ pid })) ms.set(thread, (ticks * 1000) / TICKS_PER_SECOND);
  return ms;
}

const server = await startStockade(ROOT_DIR, 2, { quantityMax: 1_000_000_000 });
try {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => AdminClient.connect(server.url, server.key)));
  const skus = Array.from({ length: SKUS }, (_, i) => `cpu-${i}`);
  await clients[0].many(skus.map((sku) => ({ op: 'setStock', args: { sku, location: 'dc-1', onHand: 1_000_000_000, eventId: `cpu-stock-${sku}` } })));
  const pid = server.child.pid!;
  const before = threadCpuMs(pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  await Promise.all(
    clients.flatMap((client) =>
      Array.from({ length: DEPTH }, async () => {
        while (sent < REQUESTS) {
          const n = sent++;
          const answer = await client.call('reserve', { sku: skus[n % SKUS], idempotencyKey: `cpu-key-${n}`, orderId: `o-${n}`, customerId: `c-${n % 1000}`, channel: 'web', quantity: 1 });
          if (!answer.ok) throw new Error(`reserve refused: ${JSON.stringify(answer.error)}`);
        }
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = threadCpuMs(pid);
  const clientCpu = process.cpuUsage(clientBefore);
  const perRequestUs = (ms: number) => (ms * 1000) / REQUESTS;
  const deltas = [...after].map(([thread, ms]) => ({ thread, ms: ms - (before.get(thread) ?? 0) })).filter((d) => d.ms > 0);
  const mainThread = `${pid}/${pid}`;
  const main = deltas.find((d) => d.thread === mainThread)?.ms ?? 0;
  const others = deltas.filter((d) => d.thread !== mainThread).sort((a, b) => b.ms - a.ms);
  const total = deltas.reduce((sum, d) => sum + d.ms, 0);
  const result = {
    server: serverRuntime(),
    requests: REQUESTS,
    connections: CONNECTIONS,
    depth: DEPTH,
    skus: SKUS,
    reservesPerSecond: REQUESTS / seconds,
    serverUsPerRequest: perRequestUs(total),
    mainThreadUsPerRequest: perRequestUs(main),
    otherThreadsUsPerRequest: others.map((d) => perRequestUs(d.ms)),
    clientUsPerRequest: (clientCpu.user + clientCpu.system) / REQUESTS,
  };
  console.log(`# CPU per reserve — ${machineLine(machineInfo())}`);
  console.log(`${fmt(REQUESTS)} reserves, ${CONNECTIONS} connections × ${DEPTH} in flight, ${SKUS === 1 ? 'one hot SKU' : `${fmt(SKUS)} SKUs`}: ${fmt(Math.round(result.reservesPerSecond))}/s`);
  console.log(`server process (${result.server}): ${result.serverUsPerRequest.toFixed(1)} µs CPU per reserve`);
  console.log(`  main thread (gateway): ${result.mainThreadUsPerRequest.toFixed(1)} µs`);
  console.log(`  other threads, busiest first: ${result.otherThreadsUsPerRequest.map((us) => us.toFixed(1)).join(', ')} µs`);
  console.log(`load generator (this process): ${result.clientUsPerRequest.toFixed(1)} µs CPU per reserve`);
  console.log(`results: ${writeResult(SKUS === 1 ? 'cpu-per-request' : `cpu-per-request-${SKUS}-skus`, result)}`);
} finally {
  await server.stop();
}
