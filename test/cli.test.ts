// The `stockade` command line, run as an operator runs it: bin/stockade.mjs as a child process
// (from source, through tsx), against a real Stockade process, a real nats-server, data
// directories written by real shards, and — for the one route the server does not have yet — a
// local HTTP server that answers like the gateway.

import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/actors/placement.js';
import type { ReservationView } from '../src/actors/types.js';
import { FakeClock, openTestShard, removeTempDirs, setStock, tempDir, writeManifest, type TestShard } from './helpers.js';
import { NATS_USERS, NatsServer } from './nats-server.js';
import { call, readyPort, startStockade, TEST_KEYS, writeTestConfig, type StockadeProcess } from './process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/stockade.mjs');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any STOCKADE_* variable of the test runner, plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOCKADE_')) env[key] = value;
  return { ...env, STOCKADE_CLI_FROM_SOURCE: '1', ...extra };
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** CLI processes started at once by the tests that run many command lines. */
const CLI_RUNS_AT_ONCE_MAX = 4;

async function inBatches(commandLines: string[][], atOnce: number): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  for (let i = 0; i < commandLines.length; i += atOnce) runs.push(...(await Promise.all(commandLines.slice(i, i + atOnce).map((args) => cli(args)))));
  return runs;
}

function json(run: CliRun): any {
  return JSON.parse(run.stdout);
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createTcpServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Wait until the clock has moved past `ms`, so the next event is stamped strictly later. */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await nextTurn();
}

afterAll(() => removeTempDirs());

describe('help and usage errors', () => {
  const commands = ['serve', 'notifier', 'bench', 'inspect', 'reservations', 'set-stock', 'thresholds', 'dead-letters', 'replay', 'doctor'];

  it('lists every command with --help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const name of commands) expect(run.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(run.stdout).toContain('Exit status: 0 ok, 1 failure, 2 usage error, 78 configuration error');
  });

  it('shows each command its own help with <command> --help and help <command>', async () => {
    const names = ['serve', 'bench', 'inspect', 'reservations', 'thresholds', 'dead-letters', 'replay', 'doctor'];
    const runs = await inBatches(names.map((name) => [name, '--help']), CLI_RUNS_AT_ONCE_MAX);
    names.forEach((name, i) => {
      expect(runs[i].code, name).toBe(0);
      expect(runs[i].stdout, name).toMatch(new RegExp(`^Usage: stockade ${name}\\b`));
      expect(runs[i].stdout, name).toContain('Exit status:');
    });
    // `notifier --help` is the notifier's own (arguments pass through); `help notifier` is ours.
    const notifierHelp = await cli(['help', 'notifier']);
    expect(notifierHelp.stdout).toMatch(/^Usage: stockade notifier \[notifier arguments…\]/);
    const viaHelp = await cli(['help', 'set-stock']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: stockade set-stock <sku> <location> <onHand>/);
  });

  it('exits 2 with the overview when no command or an unknown one is given', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('stockade: no command given');
    expect(none.stderr).toContain('Usage: stockade <command>');
    const unknown = await cli(['inspekt', 'A']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "inspekt"');
    const unknownHelp = await cli(['help', 'nope']);
    expect(unknownHelp.code).toBe(2);
  });

  it('exits 2 naming the problem for missing, extra, unknown and malformed arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['inspect'], /inspect: missing <sku>/],
      [['inspect', 'A', 'B'], /inspect: unexpected argument "B"/],
      [['inspect', 'A', '--bogus'], /Unknown option '--bogus'/],
      [['set-stock', 'A', 'dc'], /missing <onHand>/],
      [['set-stock', 'A', 'dc', '-5'], /Unknown option '-5'/],
      [['set-stock', 'A', 'dc', 'ten'], /<onHand> must be a whole number, got "ten"/],
      [['set-stock', 'A', 'dc', '5', '--safety', '1.5'], /--safety must be a whole number/],
      [['thresholds', 'A', '--low-percent', '0'], /--low-percent must be a number above 0/],
      [['thresholds', 'A', '--low-percent', '101'], /--low-percent must be a number above 0 and at most 100/],
      [['thresholds', 'A', '--reference', '0'], /--reference must be between 1 and/],
      [['thresholds', 'A', '--show', '--min', '3'], /--show only prints/],
      [['thresholds', 'A', '--replace'], /--replace needs at least one field/],
      [['inspect', 'A', '--url', 'ftp://x'], /--url must be an http:\/\/ or https:\/\/ address/],
      [['dead-letters'], /missing subcommand: list or replay/],
      [['dead-letters', 'purge'], /unknown subcommand "purge"/],
      [['dead-letters', 'replay'], /missing <seq…> \(or --all\)/],
      [['dead-letters', 'replay', '3', '--all'], /give sequences or --all, not both/],
      [['dead-letters', 'replay', 'x1'], /<seq> must be a whole number/],
      [['dead-letters', 'list', '--limit', '5000'], /--limit must be between 1 and 1000/],
      [['replay', 'A'], /missing --as-of <ISO time>/],
      [['replay', '--as-of', '2026-11-23T12:00:00', 'A'], /--as-of must be an ISO 8601 time with a zone/],
      [['replay', '--as-of', 'yesterday', 'A'], /--as-of must be an ISO 8601 time with a zone/],
      [['replay', '--as-of', '2026-11-23T12:00:00Z', 'bad sku!'], /<sku> must be 1-64 characters/],
      [['doctor', 'extra'], /unexpected argument "extra"/],
      [['serve', '--port', '1'], /Unknown option '--port'/],
      [['bench', 'nosuch'], /no benchmark "nosuch"; there are: micro, shard, replay, encode, memory, load, streams/],
      [['bench', '--list', 'micro'], /--list takes no name/],
    ];
    // A few at a time: each is a Node process starting tsx, and the machine is shared.
    const runs = await inBatches(cases.map(([args]) => args), CLI_RUNS_AT_ONCE_MAX);
    cases.forEach(([args, message], i) => {
      expect(runs[i].code, args.join(' ')).toBe(2);
      expect(runs[i].stderr, args.join(' ')).toMatch(message);
      expect(runs[i].stdout, args.join(' ')).toBe('');
    });
  }, 240_000);

  it('answers a usage error with a JSON error document under --json', async () => {
    const run = await cli(['set-stock', 'A', 'dc', 'ten', '--json']);
    expect(run.code).toBe(2);
    expect(json(run)).toEqual({ error: { code: 'USAGE', message: 'set-stock: <onHand> must be a whole number, got "ten"' } });
  });

  it('lists the package.json benchmarks, as text and as JSON', async () => {
    const text = await cli(['bench', '--list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^micro +npm run --silent build:bench && node dist\/bench\/micro\.bench\.js$/m);
    const listed = await cli(['bench', '--list', '--json']);
    expect(listed.code).toBe(0);
    // Every bench:* script of package.json, in its order.
    const scripts = Object.keys(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts as Record<string, string>);
    const expected = scripts.filter((name) => name.startsWith('bench:')).map((name) => name.slice('bench:'.length));
    expect(expected).toEqual(expect.arrayContaining(['micro', 'shard', 'replay', 'encode', 'memory', 'load', 'streams', 'alerts', 'orders', 'dashboard']));
    expect(json(listed).benchmarks.map((b: { name: string }) => b.name)).toEqual(expected);
  });

  it('reports an unreachable server with exit 1 and UNREACHABLE', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli(['inspect', 'A', '--url', url, '--json']);
    expect(run.code).toBe(1);
    expect(json(run).error.code).toBe('UNREACHABLE');
    expect(run.stderr).toContain(`cannot reach Stockade at ${url} (ECONNREFUSED)`);
  });
});

describe('against a running Stockade with NATS', () => {
  let nats: NatsServer;
  let stockade: StockadeProcess;
  let configFile: string;
  let dataDir: string;
  let wms: NatsConnection;
  const admin = (): Record<string, string> => ({ STOCKADE_URL: stockade.baseUrl, STOCKADE_API_KEY: TEST_KEYS.admin });

  beforeAll(async () => {
    nats = await NatsServer.start();
    dataDir = tempDir('stockade-cli-');
    configFile = writeTestConfig({ dataDir, shards: 2, nats: { enabled: true, servers: [nats.url], ackWaitMs: 1000, maxDeliver: 2 } });
    stockade = await startStockade({ STOCKADE_CONFIG: configFile });
    wms = await connect({ servers: nats.url, ...NATS_USERS.wms });
  });
  afterAll(async () => {
    await wms?.close();
    await stockade?.stop();
    await nats?.destroy();
  });

  it('set-stock applies an absolute count, and a repeated event id is reported as skipped', async () => {
    const first = await cli(['set-stock', 'CLI-A', 'dc', '40', '--safety', '2', '--event-id', 'cli-test-1', '--json'], admin());
    expect(first.code, first.stderr).toBe(0);
    expect(json(first)).toEqual({ sku: 'CLI-A', location: 'dc', applied: true, onHand: 40, available: 38, eventId: 'cli-test-1' });
    const again = await cli(['set-stock', 'CLI-A', 'dc', '99', '--event-id', 'cli-test-1'], admin());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('CLI-A at dc: not applied (DUPLICATE: event cli-test-1 was seen before); on hand 40, available 38');
    const store = await cli(['set-stock', 'CLI-A', 'store-7', '5'], admin());
    expect(store.code).toBe(0);
    expect(store.stdout).toMatch(/^CLI-A at store-7: on hand 5, available 5 \(event cli-\d+-[0-9a-f]{8}\)$/m);
  });

  it('set-stock is refused without the admin scope, without a key, and for a bad SKU', async () => {
    const reader = await cli(['set-stock', 'CLI-A', 'dc', '1', '--json'], { STOCKADE_URL: stockade.baseUrl, STOCKADE_API_KEY: TEST_KEYS.reader });
    expect(reader.code).toBe(1);
    expect(json(reader).error.code).toBe('FORBIDDEN');
    const anonymous = await cli(['set-stock', 'CLI-A', 'dc', '1', '--url', stockade.baseUrl]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('UNAUTHENTICATED: a valid API key is required (no key given: --api-key or STOCKADE_API_KEY)');
    const badSku = await cli(['set-stock', 'bad sku', 'dc', '1', '--json'], admin());
    expect(badSku.code).toBe(1);
    expect(json(badSku).error.code).toBe('INVALID_SKU');
  });

  it('inspect shows each location, the totals, the level against the thresholds, and the flag', async () => {
    const thresholds = await cli(['thresholds', 'CLI-A', '--min', '50'], admin());
    expect(thresholds.code, thresholds.stderr).toBe(0);
    await call(stockade.baseUrl, 'PUT', '/v1/skus/CLI-A/out-of-stock-flag', { reason: 'water damage', flaggedBy: 'ops-1' });
    const run = await cli(['inspect', 'CLI-A', '--api-key', TEST_KEYS.reader, '--url', stockade.baseUrl]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^location +on hand +reserved +safety +available +min +level$/m);
    expect(run.stdout).toMatch(/^dc +40 +0 +2 +38 +- +ok$/m);
    expect(run.stdout).toMatch(/^store-7 +5 +0 +0 +5 +- +ok$/m);
    expect(run.stdout).toMatch(/^TOTAL +45 +0 +2 +43 +50 +low$/m);
    expect(run.stdout).toMatch(/^flag: FLAGGED OUT OF STOCK by ops-1 at \S+Z: water damage$/m);
    expect(run.stdout).toContain('thresholds: min 50');
    const asJson = await cli(['inspect', 'CLI-A', '--json'], admin());
    expect(json(asJson)).toMatchObject({ sku: 'CLI-A', onHand: 45, available: 43, thresholds: { minAvailable: 50 }, outOfStockFlag: { reason: 'water damage' } });
  });

  it('inspect of an unknown SKU exits 1 with SKU_NOT_FOUND', async () => {
    const run = await cli(['inspect', 'CLI-NOPE', '--json'], admin());
    expect(run.code).toBe(1);
    expect(json(run).error).toEqual({ code: 'SKU_NOT_FOUND', message: 'SKU_NOT_FOUND: no such SKU', details: { sku: 'CLI-NOPE' } });
  });

  it('thresholds merges changes into what is set, --replace sets exactly what is named, --show prints', async () => {
    const merged = await cli(['thresholds', 'CLI-A', '--low-percent', '20', '--reference', '100', '--json'], admin());
    expect(merged.code, merged.stderr).toBe(0);
    expect(json(merged)).toEqual({ sku: 'CLI-A', thresholds: { minAvailable: 50, lowPercent: 20, referenceLevel: 100 } });
    const shown = await cli(['thresholds', 'CLI-A', '--show'], admin());
    expect(shown.stdout).toBe('thresholds of CLI-A:\n  minAvailable: 50\n  lowPercent: 20\n  referenceLevel: 100\n');
    const replaced = await cli(['thresholds', 'CLI-A', '--replace', '--lead-time-days', '3.5', '--json'], admin());
    expect(json(replaced)).toEqual({ sku: 'CLI-A', thresholds: { leadTimeDays: 3.5 } });
    const view = await call(stockade.baseUrl, 'GET', '/v1/skus/CLI-A');
    expect(view.body.thresholds).toEqual({ leadTimeDays: 3.5 });
  });

  it('thresholds refuses a percentage without a reference level before sending anything', async () => {
    const run = await cli(['thresholds', 'CLI-A', '--low-percent', '10'], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--low-percent and --reference go together');
    const view = await call(stockade.baseUrl, 'GET', '/v1/skus/CLI-A');
    expect(view.body.thresholds).toEqual({ leadTimeDays: 3.5 });
    const unknown = await cli(['thresholds', 'CLI-NOPE', '--min', '1', '--json'], admin());
    expect(unknown.code).toBe(1);
    expect(json(unknown).error.code).toBe('SKU_NOT_FOUND');
  });

  it('replay --as-of rebuilds the SKU as it was, from the WAL of the running server', async () => {
    const sku = 'CLI-ASOF';
    const beforeAny = Date.now() - 1;
    expect((await cli(['set-stock', sku, 'dc', '40'], admin())).code).toBe(0);
    const reserved = await call(stockade.baseUrl, 'POST', '/v1/reservations', { sku, quantity: 3, idempotencyKey: 'cli-asof-0001', orderId: 'o-1', customerId: 'c-1' }, TEST_KEYS.web);
    expect(reserved.status).toBe(201);
    const between = Date.now();
    await clockPast(between);
    expect((await cli(['set-stock', sku, 'dc', '25'], admin())).code).toBe(0);

    const then = await cli(['replay', '--as-of', new Date(between).toISOString(), sku, '--data-dir', dataDir, '--json']);
    expect(then.code, then.stderr).toBe(0);
    expect(json(then)).toMatchObject({ sku, shard: shardOf(sku, 2), shards: 2, base: { kind: 'empty' }, eventsApplied: 2 });
    expect(json(then).view).toMatchObject({ onHand: 40, reserved: 3, available: 37, openReservations: 1 });

    const now = await cli(['replay', '--as-of', new Date(Date.now()).toISOString(), sku, '--data-dir', dataDir]);
    expect(now.code, now.stderr).toBe(0);
    expect(now.stdout).toContain(`shard ${shardOf(sku, 2)} of 2, rebuilt from the start of the WAL`);
    expect(now.stdout).toMatch(/^dc +25 +3 +0 +22 +- +ok$/m);

    const early = await cli(['replay', '--as-of', new Date(beforeAny).toISOString(), sku, '--data-dir', dataDir, '--json']);
    expect(early.code).toBe(1);
    expect(json(early).error.code).toBe('SKU_NOT_FOUND');
    expect(early.stderr).toContain(`${sku} had no record on shard ${shardOf(sku, 2)} at ${new Date(beforeAny).toISOString()}`);
  });

  it('replay refuses a directory that holds no Stockade data', async () => {
    const run = await cli(['replay', '--as-of', '2026-11-23T12:00:00Z', 'A', '--data-dir', tempDir('stockade-cli-empty-'), '--json']);
    expect(run.code).toBe(1);
    expect(json(run).error.code).toBe('NOT_A_DATA_DIR');
  });

  it('reservations lists the active holds and the pending queue in serving order', async () => {
    const sku = 'CLI-RES';
    expect((await cli(['set-stock', sku, 'dc', '3'], admin())).code).toBe(0);
    const reserve = (n: number, quantity: number, extra: Record<string, unknown> = {}) =>
      call(stockade.baseUrl, 'POST', '/v1/reservations', { sku, quantity, idempotencyKey: `cli-res-000${n}`, orderId: `o-${n}`, customerId: `c-${n}`, ...extra }, TEST_KEYS.web);
    expect((await reserve(1, 2)).body.state).toBe('ACTIVE');
    expect((await reserve(2, 1)).body.state).toBe('ACTIVE');
    expect((await reserve(3, 4, { queueIfShort: true })).body.state).toBe('PENDING');
    expect((await reserve(4, 1, { queueIfShort: true, priority: 5 })).body.state).toBe('PENDING');

    const text = await cli(['reservations', sku, '--url', stockade.baseUrl, '--api-key', TEST_KEYS.reader]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`SKU ${sku}: 2 active, 2 pending\n`);
    expect(text.stdout).toMatch(/^CLI-RES:1 +ACTIVE +2 +2 +dc:2 +0 +web +o-1 +c-1 +\S+Z$/m);
    // The queue is served by priority first: the later priority-5 request leads it.
    expect(text.stdout).toMatch(/Pending queue \(served top first\)\n.*\n.*\nCLI-RES:4 +PENDING +0 +1 +- +5 .*\nCLI-RES:3 +PENDING +0 +4 +- +0 /);

    const cut = await cli(['reservations', sku, '--limit', '1', '--json'], admin());
    expect(cut.code, cut.stderr).toBe(0);
    const body = json(cut);
    expect(body).toMatchObject({ sku, truncated: true });
    expect(body.reservations.map((r: ReservationView) => r.reservationId)).toEqual(['CLI-RES:1']);
    expect(body.pending.map((r: ReservationView) => r.reservationId)).toEqual(['CLI-RES:4']);

    const unknown = await cli(['reservations', 'CLI-NOPE', '--json'], admin());
    expect(unknown.code).toBe(1);
    expect(json(unknown).error.code).toBe('SKU_NOT_FOUND');
    const badLimit = await cli(['reservations', sku, '--limit', '0'], admin());
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit must be between 1 and');
  });

  it('doctor passes every check for what is running', async () => {
    const run = await cli(['doctor', '--config', configFile, '--url', stockade.baseUrl, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = json(run);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['configuration', 'ok'],
      ['data directory', 'ok'],
      ['disk space', 'ok'],
      ['LMDB', 'ok'],
      ['NATS', 'ok'],
      ['NATS streams', 'ok'],
      ['gateway', 'ok'],
    ]);
    expect(report.checks[2].detail).toMatch(/: [\d,]+ MiB free \(a start needs 16\)$/);
    expect(report.checks[5].detail).toMatch(/STOCK_EVENTS \(\d+ messages\), ORDERS .*ALERTS .*DEAD_LETTERS/);
    const text = await cli(['doctor', '--config', configFile, '--url', stockade.baseUrl]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ok    LMDB +2 environments open read-only; shard 0: checkpoint at record \d+, WAL to \d+; shard 1:/m);
    expect(text.stdout).toMatch(/all checks passed\n$/);
  });

  it('doctor fails, with hints, on a wrong shard count, wrong NATS password and a gateway that is not there', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli(['doctor', '--config', configFile, '--url', url, '--json'], { STOCKADE_SHARDS: '3', STOCKADE_NATS_PASSWORD: 'not-the-password' });
    expect(run.code).toBe(1);
    const report = json(run);
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.checks.map((c: { name: string }) => [c.name, c]));
    expect(byName['configuration'].status).toBe('ok');
    expect(byName['data directory']).toMatchObject({ status: 'fail', detail: `${dataDir} holds 2 shards but the configuration asks for 3` });
    expect(byName['data directory'].hint).toContain('set "shards": 2');
    expect(byName['NATS'].status).toBe('fail');
    expect(byName['NATS'].hint).toContain('check nats.user / nats.password');
    expect(byName['NATS streams'].status).toBe('skip');
    expect(byName['gateway'].status).toBe('fail');
    expect(byName['gateway'].detail).toContain(`cannot reach Stockade at ${url}`);
  });

  it('doctor names an invalid configuration and skips what depends on it', async () => {
    const bad = join(tempDir('stockade-cli-conf-'), 'bad.json');
    writeFileSync(bad, JSON.stringify({ shards: 2, shardz: 4, nats: { enabled: 'yes' } }));
    const run = await cli(['doctor', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL  configuration +\S+bad\.json: invalid configuration: .*\(root\): unknown key "shardz".*\/nats\/enabled: must be boolean/m);
    expect(run.stdout).toMatch(/^skip  gateway +needs a valid configuration$/m);
    expect(run.stdout).toContain('1 check(s) failed');
    const noData = join(tempDir('stockade-cli-nodata-'), 'gone');
    const missingDir = await cli(['doctor', '--json'], { STOCKADE_DATA_DIR: noData, STOCKADE_HTTP_PORT: '0' });
    expect(missingDir.code).toBe(1);
    expect(json(missingDir).checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['configuration', 'ok'],
      ['data directory', 'fail'],
      ['disk space', 'skip'],
      ['LMDB', 'skip'],
      ['NATS', 'skip'],
      ['NATS streams', 'skip'],
      ['gateway', 'skip'],
    ]);
    expect(json(missingDir).checks[1]).toMatchObject({ detail: `${noData} does not exist`, hint: expect.stringContaining('created by the first `stockade serve`') });
    // More free space asked for than any disk has: the check fails and says what to do.
    const tight = writeTestConfig({ dataDir, shards: 2, shard: { dataDirFreeMbMin: 2 ** 40 } });
    const full = await cli(['doctor', '--config', tight, '--json']);
    expect(full.code).toBe(1);
    expect(json(full).checks.find((c: { name: string }) => c.name === 'disk space')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/ MiB free, below shard\.dataDirFreeMbMin \(1099511627776 MiB\)$/),
      hint: expect.stringContaining('refuses to start below it'),
    });
    const unreadable = await cli(['doctor', '--config', join(dataDir, 'no-such.json'), '--json']);
    expect(unreadable.code).toBe(1);
    expect(json(unreadable).checks[0].detail).toContain('cannot read configuration');
  });

  it('dead-letters lists a poison stock event and replays it; a second replay of it is refused', async () => {
    const js = jetstream(wms);
    await js.publish('wms.stock.dc.CLI-POISON', '{oops', { msgID: 'cli-poison-1' });
    await js.publish('wms.stock.dc.CLI-POISON', '{still-oops', { msgID: 'cli-poison-2' });
    // Wait for both dead letters to be stored: read them through a consumer of the stream.
    const service = await connect({ servers: nats.url, ...NATS_USERS.stockade });
    const consumer = await jetstream(service).consumers.get('DEAD_LETTERS');
    const seen = [await consumer.next({ expires: 30_000 }), await consumer.next({ expires: 30_000 })];
    await service.close();
    expect(seen.map((m) => m?.seq)).toEqual([1, 2]);

    const listed = await cli(['dead-letters', 'list', '--json'], admin());
    expect(listed.code, listed.stderr).toBe(0);
    expect(json(listed).deadLetters).toHaveLength(2);
    expect(json(listed).deadLetters[0]).toMatchObject({ seq: 1, reason: 'VALIDATION_FAILED', original: { subject: 'wms.stock.dc.CLI-POISON' }, payload: '{oops' });
    const page = await cli(['dead-letters', 'list', '--after', '1'], admin());
    expect(page.stdout).toMatch(/^ +2 +\S+ +wms\.stock\.dc\.CLI-POISON +VALIDATION_FAILED/m);
    expect(page.stdout).toContain('1 shown; next page: --after 2');

    const replayed = await cli(['dead-letters', 'replay', '1', '--json'], admin());
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(json(replayed)).toMatchObject({ replayed: 1, failed: 0, results: [{ seq: 1, ok: true, subject: 'wms.stock.dc.CLI-POISON' }] });
    const again = await cli(['dead-letters', 'replay', '1', '2'], admin());
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('1: not replayed, DEAD_LETTER_NOT_FOUND');
    expect(again.stdout).toMatch(/^2: replayed to wms\.stock\.dc\.CLI-POISON \(stream sequence \d+\)$/m);
    expect(again.stdout).toContain('1 replayed, 1 failed');
  });

  it('dead-letters replay --all replays every letter listed when it starts', async () => {
    const service = await connect({ servers: nats.url, ...NATS_USERS.stockade });
    const consumer = await jetstream(service).consumers.get('DEAD_LETTERS', { opt_start_seq: 3 });
    // The two letters replayed above failed again and came back as sequences 3 and 4.
    const back = [await consumer.next({ expires: 30_000 }), await consumer.next({ expires: 30_000 })];
    await service.close();
    expect(back.map((m) => m?.seq)).toEqual([3, 4]);
    const run = await cli(['dead-letters', 'replay', '--all', '--json'], admin());
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toMatchObject({ replayed: 2, failed: 0 });
    expect(json(run).results.map((r: { seq: number }) => r.seq)).toEqual([3, 4]);
  });
});

describe('replay --as-of on a WAL pruned by walRetentionMs', () => {
  const MINUTE_MS = 60_000;
  let t: TestShard;
  let startedAt: number;

  beforeAll(async () => {
    const clock = new FakeClock();
    startedAt = clock.now;
    // Checkpoint every second record; prune covered records older than a minute.
    t = openTestShard({ shard: { walRetentionMs: MINUTE_MS, checkpointWalRecordsMax: 2 }, limits: { idempotencyTtlMs: MINUTE_MS } }, clock);
    writeManifest(t.dataDir);
    const at = (seconds: number) => (clock.now = startedAt + seconds * 1000);
    at(0);
    await t.ok(setStock('PRUNED', 'dc', 10)); // record 1
    at(120);
    await t.ok(setStock('PRUNED', 'dc', 20)); // record 2, checkpoint at 2
    at(130);
    await t.ok(setStock('PRUNED', 'dc', 30)); // record 3
    at(140);
    await t.ok(setStock('PRUNED', 'dc', 40)); // record 4, checkpoint at 4; record 1 pruned
    at(150);
    await t.ok(setStock('PRUNED', 'dc', 50)); // record 5
  });
  afterAll(async () => {
    await t.shard.close();
  });

  const iso = (seconds: number) => new Date(startedAt + seconds * 1000).toISOString();

  it('refuses a time before the last checkpoint, naming the earliest time it can answer', async () => {
    for (const seconds of [60, 125]) {
      const run = await cli(['replay', '--as-of', iso(seconds), 'PRUNED', '--data-dir', t.dataDir, '--json']);
      expect(run.code, String(seconds)).toBe(1);
      const error = json(run).error;
      expect(error.code).toBe('WAL_PRUNED');
      expect(error.details).toMatchObject({ earliestAt: startedAt + 140_000, wal: { firstSeq: 2, lastSeq: 5 } });
      expect(run.stderr).toContain(`no longer reaches back to ${iso(seconds)}: records up to 1 were pruned`);
      expect(run.stderr).toContain(`the earliest moment that can be rebuilt is ${iso(140)}`);
    }
  });

  it('answers from the checkpoint on: the checkpoint state, then the records after it', async () => {
    const atCheckpoint = await cli(['replay', '--as-of', iso(145), 'PRUNED', '--data-dir', t.dataDir, '--json']);
    expect(atCheckpoint.code, atCheckpoint.stderr).toBe(0);
    expect(json(atCheckpoint)).toMatchObject({ base: { kind: 'checkpoint', seq: 4 }, recordsRead: 0, view: { onHand: 40 } });
    const later = await cli(['replay', '--as-of', iso(150), 'PRUNED', '--data-dir', t.dataDir, '--json']);
    expect(later.code, later.stderr).toBe(0);
    expect(json(later)).toMatchObject({ base: { kind: 'checkpoint', seq: 4 }, recordsRead: 1, eventsApplied: 1, lastEventAt: startedAt + 150_000, view: { onHand: 50 } });
  });
});

describe('reservations against a server that predates the route', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Answers every request as an older gateway does for a route it does not have.
    server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such route' } }));
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('says the route is missing instead of calling the SKU unknown', async () => {
    const run = await cli(['reservations', 'R-1', '--url', url, '--json']);
    expect(run.code).toBe(1);
    expect(json(run).error.code).toBe('ROUTE_MISSING');
    expect(run.stderr).toContain(`the server at ${url} has no GET /v1/skus/{sku}/reservations route; it predates this CLI`);
  });
});

describe('serve', () => {
  it('runs Stockade until SIGTERM, then exits 0', async () => {
    const dataDir = tempDir('stockade-cli-serve-');
    // `--config=FILE` (one argument) must reach src/main as well as `--config FILE`: its shard
    // count shows on /health/ready.
    const child = spawn(process.execPath, [BIN, 'serve', `--config=${writeTestConfig({ shards: 3 })}`], {
      cwd: ROOT,
      env: cliEnv({ STOCKADE_DATA_DIR: dataDir, STOCKADE_HTTP_PORT: '0', STOCKADE_READY_LINE: '1', STOCKADE_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    const port = await readyPort(child, 'serve');
    child.stdout.resume();
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { shards: number }).shards).toBe(3);
    // Without NATS the dead-letter routes say so.
    const letters = await cli(['dead-letters', 'list', '--url', `http://127.0.0.1:${port}`, '--api-key', TEST_KEYS.admin, '--json']);
    expect(letters.code).toBe(1);
    expect(json(letters).error.code).toBe('STREAMS_UNAVAILABLE');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it('notifier runs the notifier with its arguments and returns its exit status', async () => {
    const missing = join(tempDir('stockade-cli-notifier-'), 'notifier.json');
    const run = await cli(['notifier', '--config', missing]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(`cannot read notifier configuration ${missing}`);
  });

  it('exits 78 naming the bad setting', async () => {
    const run = await cli(['serve'], { STOCKADE_SHARDS: 'two', STOCKADE_DATA_DIR: tempDir('stockade-cli-serve-') });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('STOCKADE_SHARDS must be a whole number, got "two"');
  });
});
