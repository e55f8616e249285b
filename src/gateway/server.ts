// The gateway: one uWS app serving the WebSocket API, the HTTP API, health and metrics.

import uWS from 'uWebSockets.js';
import type { Engine, EngineLogger } from '../actors/engine.js';
import type { StockadeConfig } from '../config.js';
import { KeyRing } from './auth.js';
import { installDashboard } from './dashboard.js';
import { installHttpApi } from './http.js';
import { Metrics } from './metrics.js';
import { OpsFeed } from './ops-feed.js';
import { Operations } from './operations.js';
import { WebSocketApi } from './ws.js';
import type { DemandService } from '../streams/demand-service.js';
import type { StreamsService } from '../streams/service.js';

const SILENT: EngineLogger = { info() {}, error() {} };
/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT on the listening socket. */
const LISTEN_EXCLUSIVE_PORT = 1;

/** Services beside the engine whose routes the gateway serves, when the process runs them. */
export interface GatewayServices {
  demand?: DemandService | null;
  /** Route installers of other modules (the order flow), run before the catch-all 404. */
  routes?: ((app: uWS.TemplatedApp, keys: KeyRing, operations: Operations) => void)[];
}

export interface Gateway {
  port: number;
  metrics: Metrics;
  /** Stop listening for new connections. */
  close(): void;
}

export function startGateway(
  engine: Engine,
  config: Readonly<StockadeConfig>,
  log: EngineLogger = SILENT,
  streams: StreamsService | null = null,
  services: GatewayServices = {},
): Promise<Gateway> {
  const app = uWS.App();
  const metrics = new Metrics(engine);
  const keys = new KeyRing(config.apiKeys);
  const operations = new Operations(engine, config, metrics, log);
  const ws = new WebSocketApi(app, operations, keys, config.gateway, metrics);
  ws.install();
  if (streams) metrics.observeStreams(streams);
  if (services.demand) metrics.observeDemand(services.demand);
  const ops = new OpsFeed(app, engine, streams);
  metrics.onRequest = (op, outcome, ms) => ops.request(op, outcome, ms);
  ops.start();
  installDashboard(app);
  for (const install of services.routes ?? []) install(app, keys, operations);
  installHttpApi(app, operations, keys, config.http, metrics, streams, config.notifier, services.demand ?? null);
  engine.observe({
    walFlushed: (shardId, ms) => metrics.walFlushed(shardId, ms),
    turnRan: (shardId, ms) => metrics.turnRan(shardId, ms),
    checkpointWritten: (shardId, ms) => metrics.checkpointWritten(shardId, ms),
    gcPaused: (shardId, pause) => metrics.gcPaused(shardId, pause),
    availabilityChanged: (changes) => ws.publish(changes),
  });

  return new Promise((resolve, reject) => {
    // Exclusive: uWS otherwise sets SO_REUSEPORT, and a second Stockade on the same port would
    // silently take half of the connections. (uWS takes host, port, options; its typings lack it.)
    const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (socket: uWS.us_listen_socket | false) => void) => void;
    listen.call(app, config.http.host, config.http.port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (!socket) {
        reject(new Error(`cannot listen on ${config.http.host}:${config.http.port}: the port is in use (another Stockade?) or not permitted`));
        return;
      }
      resolve({
        port: uWS.us_socket_local_port(socket),
        metrics,
        close: () => {
          ops.stop();
          uWS.us_listen_socket_close(socket);
        },
      });
    });
  });
}
