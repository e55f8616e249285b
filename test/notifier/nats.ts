// nats-server for the notifier tests: the project's nats.conf with the `notifier` user's
// permissions replaced by NOTIFIER_PERMISSIONS — the block the notifier needs (KV buckets, the
// history stream, acks on ALERTS) and that docs/notifier.md asks nats.conf to adopt. The tests run
// the notifier as the `notifier` user, so they prove that block is enough; the `stockade` user
// creates the ALERTS stream and publishes notices, as Stockade does.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerBinary } from '../nats-server.js';

const CONF = fileURLToPath(new URL('../../nats.conf', import.meta.url));

export const NOTIFIER_PERMISSIONS = `{ user: notifier, password: notifier-dev-password,
      permissions: {
        publish: ["$JS.API.INFO", "$JS.API.STREAM.INFO.>", "$JS.API.STREAM.CREATE.KV_NOTIFIER_LEDGER", "$JS.API.STREAM.CREATE.KV_NOTIFIER_STATE",
                  "$JS.API.STREAM.CREATE.NOTIFIER_HISTORY", "$JS.API.STREAM.MSG.GET.KV_NOTIFIER_LEDGER", "$JS.API.STREAM.MSG.GET.KV_NOTIFIER_STATE",
                  "$JS.API.CONSUMER.>", "$JS.ACK.ALERTS.>", "$KV.NOTIFIER_LEDGER.>", "$KV.NOTIFIER_STATE.>", "notifier.history.>", "_INBOX.>"],
        subscribe: ["_INBOX.>"]
      } }`;

export const NOTIFIER_USER = { user: 'notifier', pass: 'notifier-dev-password' } as const;
export const STOCKADE_USER = { user: 'stockade', pass: 'stockade-dev-password' } as const;

function notifierConf(): string {
  const conf = readFileSync(CONF, 'utf8');
  const start = conf.indexOf('{ user: notifier,');
  if (start < 0) throw new Error('nats.conf has no notifier user');
  // The user entry ends where its braces balance.
  let depth = 0;
  let end = start;
  for (; end < conf.length; end++) {
    if (conf[end] === '{') depth++;
    else if (conf[end] === '}' && --depth === 0) break;
  }
  return conf.slice(0, start) + NOTIFIER_PERMISSIONS + conf.slice(end + 1);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export class NotifierNatsServer {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<NotifierNatsServer> {
    const dir = mkdtempSync(join(tmpdir(), 'stockade-notifier-nats-'));
    writeFileSync(join(dir, 'nats.conf'), notifierConf());
    const server = new NotifierNatsServer(await freePort(), dir);
    const proc = spawn(natsServerBinary(), ['-c', join(dir, 'nats.conf'), '-p', String(server.port), '-sd', join(dir, 'store')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.proc = proc;
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
    return server;
  }

  async destroy(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
