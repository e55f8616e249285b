// `npm start`: the Stockade process. Validates configuration, recovers every shard (WAL replay and
// invariant checks) before it listens, and shuts down cleanly on SIGINT/SIGTERM.

import { pino } from 'pino';
import { Engine, EngineStartError } from './actors/engine.js';
import { ConfigError, loadConfig } from './config.js';
import { FATAL_WRITES_WAIT_MS, installFatalHandlers } from './fatal-exit.js';
import { startGateway } from './gateway/server.js';
import { orderRoutesBehindGateway } from './gateway/orders-routes.js';
import { natsOrderPublisher } from './orders/publisher.js';
import { OrderService } from './orders/service.js';
import { exitOnceWritesSettle } from './persistence/open-environments.js';
import { recoveryProgress } from './recovery-progress.js';
import { DemandService } from './streams/demand-service.js';
import { StreamsService } from './streams/service.js';

/** `--config <file>` on the command line wins over STOCKADE_CONFIG. */
function configFileArgument(argv: string[]): string | undefined {
  const at = argv.indexOf('--config');
  return at >= 0 ? argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env, configFileArgument(process.argv) ?? process.env.STOCKADE_CONFIG);
  const log = pino({ level: config.logLevel, base: { service: 'stockade' } });
  installFatalHandlers(log);
  const started = performance.now();
  const progress = recoveryProgress();
  const engine = await Engine.start(config, log, progress).finally(() => progress.stop());
  const recovered = engine.recovery();
  log.info(
    {
      shards: config.shards,
      dataDir: config.dataDir,
      walRecordsReplayed: recovered.reduce((n, r) => n + (r?.records ?? 0), 0),
      startMs: Math.round(performance.now() - started),
    },
    'engine ready',
  );
  // The order flow publishes on the streams' connection once there is one (its outbox waits).
  let streams: StreamsService | null = null;
  const orders = await OrderService.open({
    engine,
    dataDir: config.dataDir,
    config: config.orders,
    log,
    publisher: config.nats.enabled ? natsOrderPublisher(() => streams?.connection ?? null) : null,
  });
  streams = config.nats.enabled
    ? new StreamsService(engine, config.nats, log, { orders: { sink: orders, channels: config.orderChannels }, poller: config.inventoryPoller })
    : null;
  streams?.start();
  const demand = new DemandService(engine, config.demand, log);
  demand.start();
  const http = await startGateway(engine, config, log, streams, {
    demand,
    routes: [orderRoutesBehindGateway(orders, config.http.bodyBytesMax)],
  });
  log.info({ host: config.http.host, port: http.port, apiKeys: config.apiKeys.map((k) => k.id) }, 'gateway listening (HTTP and WebSocket /v1/ws)');
  // A line other programs (tests, scripts) can wait for on stdout without parsing logs.
  if (process.env.STOCKADE_READY_LINE) process.stdout.write(`STOCKADE_READY ${http.port}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    http.close();
    demand.stop();
    await streams?.stop();
    await orders.close();
    await engine.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof EngineStartError) {
    process.stderr.write(`stockade: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(`stockade: ${(err as Error).stack ?? String(err)}\n`);
  // The order flow may have writes queued: exiting under them would hang (fatal-exit.ts).
  exitOnceWritesSettle(1, FATAL_WRITES_WAIT_MS);
});
