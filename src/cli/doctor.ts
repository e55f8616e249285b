// `stockade doctor`: check what a Stockade deployment needs, one line per check with a hint when
// it fails: the configuration, the data directory and its manifest, its disk space, the shards' LMDB
// environments, NATS (credentials and streams) and the gateway's readiness.

import { constants, accessSync, existsSync, statSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freeBytesOf, freeSpaceShortfall } from '../actors/engine.js';
import { Shard } from '../actors/shard.js';
import { ConfigError, loadConfig, type StockadeConfig } from '../config.js';
import { streamConfigs } from '../streams/nats.js';
import { COMMON_OPTIONS, parse } from './args.js';
import { manifestShards } from './as-of.js';
import type { CliCommand } from './command.js';
import { CommandFailed, UsageError } from './exit.js';
import { StockadeClient } from './http-client.js';
import { printJson, printLine } from './output.js';
import { ShardReader } from './wal-reader.js';

/** How long the NATS check waits for a connection (no retries: the doctor reports, it does not wait). */
export const NATS_CONNECT_TIMEOUT_MS = 3000;

export interface Check {
  name: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  hint?: string;
}

const OPTIONS = { ...COMMON_OPTIONS, config: { type: 'string' }, url: { type: 'string' } } as const;

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const fail = (name: string, detail: string, hint: string): Check => ({ name, status: 'fail', detail, hint });
const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail });

function checkConfig(file: string | undefined): { check: Check; config: Readonly<StockadeConfig> | null } {
  const source = file ?? 'no file (built-in defaults and STOCKADE_* variables)';
  try {
    const config = loadConfig(process.env, file);
    return { check: ok('configuration', `${source}: valid (${config.shards} shards, dataDir ${config.dataDir}, NATS ${config.nats.enabled ? 'enabled' : 'disabled'})`), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { check: fail('configuration', `${source}: ${err.message}`, 'fix the key named above; docs/cli.md lists the STOCKADE_* overrides, src/config.ts the schema'), config: null };
  }
}

/** The data directory, and the shard count its manifest holds (null before the first start). */
function checkDataDir(config: Readonly<StockadeConfig>): { check: Check; shards: number | null } {
  const name = 'data directory';
  const dir = config.dataDir;
  if (!existsSync(dir)) return { check: fail(name, `${dir} does not exist`, 'it is created by the first `stockade serve`; check dataDir / STOCKADE_DATA_DIR'), shards: null };
  if (!statSync(dir).isDirectory()) return { check: fail(name, `${dir} is not a directory`, 'point dataDir at a directory'), shards: null };
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return { check: fail(name, `${dir} is not writable by this user`, 'run as the user that owns it, or fix its permissions'), shards: null };
  }
  if (!existsSync(`${dir}/stockade.json`)) return { check: ok(name, `${dir}: writable, no manifest yet (written by the first start)`), shards: null };
  let shards: number;
  try {
    shards = manifestShards(dir);
  } catch (err) {
    return { check: fail(name, (err as Error).message, 'restore stockade.json from a backup; it records the shard count the data was written with'), shards: null };
  }
  if (shards !== config.shards) {
    return {
      check: fail(name, `${dir} holds ${shards} shards but the configuration asks for ${config.shards}`, `set "shards": ${shards} (SKUs are placed by hash modulo the shard count; it cannot change on existing data)`),
      shards,
    };
  }
  return { check: ok(name, `${dir}: writable, manifest matches (${shards} shards)`), shards };
}

/** Free space where the data directory lives, against what a start needs (shard.dataDirFreeMbMin). */
function checkDiskSpace(config: Readonly<StockadeConfig>): Check {
  const name = 'disk space';
  const dir = config.dataDir;
  if (!existsSync(dir)) return skip(name, `${dir} does not exist yet`);
  const needed = config.shard.dataDirFreeMbMin;
  const shortfall = freeSpaceShortfall(dir, needed);
  if (shortfall) {
    return fail(
      name,
      `${dir}: ${shortfall}`,
      'free space on that filesystem: Stockade refuses to start below it, and a shard stops when a WAL commit finds the disk full (docs/operations.md)',
    );
  }
  return ok(name, `${dir}: ${Math.floor(freeBytesOf(dir) / 2 ** 20).toLocaleString('en-US')} MiB free (a start needs ${needed})`);
}

async function checkLmdb(dataDir: string, shards: number | null): Promise<Check> {
  const name = 'LMDB';
  if (shards === null) return skip(name, 'no manifest, so no shards to open yet');
  const found: string[] = [];
  for (let id = 0; id < shards; id++) {
    const dir = Shard.directoryOf(dataDir, id);
    let reader: ShardReader | null;
    try {
      reader = ShardReader.open(dir);
    } catch (err) {
      return fail(name, `shard ${id} (${dir}): ${(err as Error).message}`, 'restore the shard from a backup (docs/operations.md); do not start on a damaged environment');
    }
    if (!reader) return fail(name, `shard ${id}: ${dir} holds no LMDB environment`, 'a shard directory is missing: restore it from a backup (docs/operations.md)');
    const checkpoint = reader.checkpoint();
    found.push(`shard ${id}: checkpoint at record ${checkpoint.seq}, WAL to ${reader.lastSeq()}`);
    await reader.close();
  }
  return ok(name, `${shards} environments open read-only; ${found.join('; ')}`);
}

async function checkNats(config: Readonly<StockadeConfig>): Promise<Check[]> {
  if (!config.nats.enabled) return [skip('NATS', 'nats.enabled is false'), skip('NATS streams', 'nats.enabled is false')];
  const where = config.nats.servers.join(', ');
  let nc;
  try {
    nc = await connect({
      servers: config.nats.servers,
      user: config.nats.user,
      pass: config.nats.password,
      name: 'stockade-doctor',
      timeout: NATS_CONNECT_TIMEOUT_MS,
      reconnect: false,
    });
  } catch (err) {
    const message = (err as Error).message;
    const hint = /author/i.test(message)
      ? `the server refused user ${JSON.stringify(config.nats.user)}: check nats.user / nats.password (STOCKADE_NATS_PASSWORD) against nats.conf`
      : 'is nats-server running there? `npm start` starts one from nats.conf (scripts/nats.mjs); check nats.servers / STOCKADE_NATS_SERVERS';
    return [fail('NATS', `cannot connect to ${where} as ${config.nats.user}: ${message}`, hint), skip('NATS streams', 'no NATS connection')];
  }
  const checks = [ok('NATS', `connected to ${nc.getServer()} as ${config.nats.user}`)];
  try {
    const jsm = await jetstreamManager(nc);
    const missing: string[] = [];
    const present: string[] = [];
    for (const stream of streamConfigs(config.nats)) {
      try {
        const info = await jsm.streams.info(stream.name);
        present.push(`${stream.name} (${info.state.messages} messages)`);
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message)) throw err;
        missing.push(stream.name);
      }
    }
    if (missing.length) checks.push(fail('NATS streams', `missing: ${missing.join(', ')}; present: ${present.join(', ') || 'none'}`, 'Stockade creates its streams when it starts with NATS enabled: start `stockade serve` once'));
    else checks.push(ok('NATS streams', present.join(', ')));
  } catch (err) {
    checks.push(fail('NATS streams', `JetStream: ${(err as Error).message}`, 'is JetStream enabled on that server (jetstream block in nats.conf), and may the user call $JS.API.>?'));
  } finally {
    await nc.close();
  }
  return checks;
}

async function checkGateway(config: Readonly<StockadeConfig>, url: string | undefined): Promise<Check> {
  const name = 'gateway';
  if (!url && config.http.port === 0) return skip(name, 'http.port is 0 (chosen at start): give --url');
  const client = new StockadeClient(url ?? `http://${config.http.host}:${config.http.port}`, undefined);
  let answer;
  try {
    answer = await client.exchange('GET', '/health/ready');
  } catch (err) {
    if (!(err instanceof CommandFailed)) throw err;
    return fail(name, err.message, 'start it with `stockade serve --config <file>`, or point --url / STOCKADE_URL at it');
  }
  if (answer.ok) {
    const body = answer.body as { shards?: number; streams?: unknown };
    return ok(name, `${client.baseUrl}/health/ready: ready (${body.shards} shards, streams ${JSON.stringify(body.streams)})`);
  }
  return fail(name, `${client.baseUrl}/health/ready answered ${answer.error.status} ${answer.error.code}`, 'a shard is recovering or failed: see the server log');
}

export async function runChecks(file: string | undefined, url: string | undefined): Promise<Check[]> {
  const { check, config } = checkConfig(file);
  if (!config) return [check, ...['data directory', 'disk space', 'LMDB', 'NATS', 'NATS streams', 'gateway'].map((name) => skip(name, 'needs a valid configuration'))];
  const data = checkDataDir(config);
  return [check, data.check, checkDiskSpace(config), await checkLmdb(config.dataDir, data.shards), ...(await checkNats(config)), await checkGateway(config, url)];
}

export const doctor: CliCommand = {
  name: 'doctor',
  help: `Usage: stockade doctor [--config FILE] [--url URL] [--json]

Check a deployment and print one line per check (ok / FAIL / skip), with a hint for each failure:
  configuration    the file (and STOCKADE_* variables) pass validation
  data directory   exists, is writable, its manifest's shard count matches the configuration
  LMDB             every shard's environment opens (read-only; safe beside a running server)
  NATS             the configured servers accept the configured user (skipped when disabled)
  NATS streams     STOCK_EVENTS, ORDERS, ALERTS and DEAD_LETTERS exist
  gateway          GET /health/ready answers 200

  --config FILE     configuration file (default: $STOCKADE_CONFIG; none: built-in defaults)
  --url URL         the gateway (default: $STOCKADE_URL, else http.host:http.port of the configuration)
  --json            print {ok, checks:[{name,status,detail,hint?}]}
  -h, --help        show this help

Exit status: 0 every check passed or was skipped, 1 a check failed, 2 usage.`,
  async run(args) {
    const { values, positionals } = parse(args, OPTIONS);
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const checks = await runChecks(values.config ?? (process.env.STOCKADE_CONFIG || undefined), values.url ?? (process.env.STOCKADE_URL || undefined));
    const passed = checks.every((c) => c.status !== 'fail');
    if (values.json) printJson({ ok: passed, checks });
    else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        printLine(`${c.status === 'fail' ? 'FAIL' : c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
        if (c.hint) printLine(`${' '.repeat(width + 8)}hint: ${c.hint}`);
      }
      printLine(passed ? 'all checks passed' : `${checks.filter((c) => c.status === 'fail').length} check(s) failed`);
    }
    return passed ? 0 : 1;
  },
};
