// A real nats-server for tests, started from the project's nats.conf on a free port with a
// temporary JetStream store, so tests never collide with each other or a local server.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectFile } from '../src/paths.js';

// From test/ (vitest, tsx) and from dist/test/ (the compiled benchmarks) alike.
const CONF = projectFile('nats.conf');

export const NATS_USERS = {
  stockade: { user: 'stockade', pass: 'stockade-dev-password' },
  wms: { user: 'wms', pass: 'wms-dev-password' },
} as const;

export function natsServerBinary(): string {
  for (const candidate of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error('nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER_BIN');
}

/** A loopback port nothing listens on now (another process could still take it before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export class NatsServer {
  private proc: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'stockade-nats-')));
    await server.run();
    return server;
  }

  /** Start the process and wait for its own "Server is ready" line. */
  private async run(): Promise<void> {
    const proc = spawn(natsServerBinary(), ['-c', CONF, '-p', String(this.port), '-sd', this.storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) {
          proc.stderr!.off('data', onData);
          proc.stderr!.resume();
          resolve();
        }
      };
      proc.stderr!.on('data', onData);
      proc.stdout!.resume();
      proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${log}`)));
    });
  }

  /** Stop the server (its store stays) and wait for the exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
    this.proc = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
