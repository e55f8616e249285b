// The notifier as a process: exit code 78 on a bad configuration, and SIGKILL mid-delivery — after
// the local receiver got the request, before the ack — followed by another notifier: no duplicate.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalReceiver } from './notifier/connectors.js';
import { ADMIN_TOKEN, AlertPublisher, makeAlert } from './notifier/fixtures.js';
import { NOTIFIER_USER, NotifierNatsServer } from './notifier/nats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'stockade-notifier-proc-'));
let server: NotifierNatsServer;
let publisher: AlertPublisher;

beforeAll(async () => {
  server = await NotifierNatsServer.start();
  publisher = await AlertPublisher.connect(server);
  await publisher.createStream();
});

afterAll(async () => {
  await publisher.close();
  await server.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first log line whose msg matches. */
  logLine(msg: string): Promise<Record<string, unknown>>;
}

function run(configPath: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/notifier/child.ts', '--config', configPath], {
    cwd: ROOT,
    env: { ...process.env, NOTIFIER_READY_LINE: '1', NOTIFIER_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const findLine = (msg: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === msg);
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    async logLine(msg) {
      for (;;) {
        const line = findLine(msg);
        if (line) return line;
        if (proc.exitCode !== null) throw new Error(`notifier exited ${proc.exitCode}: ${err}`);
        await once(proc.stdout!, 'data');
      }
    },
  };
}

async function ready(child: Child): Promise<number> {
  while (!/NOTIFIER_READY (\d+)/.test(child.stdout())) {
    if (child.proc.exitCode !== null) throw new Error(`notifier exited ${child.proc.exitCode}: ${child.stderr()}`);
    await once(child.proc.stdout!, 'data');
  }
  return Number(/NOTIFIER_READY (\d+)/.exec(child.stdout())![1]);
}

function writeConfig(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('notifier process', () => {
  it('exits 78 naming the field when the configuration is invalid', async () => {
    const path = writeConfig('bad.json', {
      http: { adminToken: ADMIN_TOKEN },
      receivers: [{ id: 'hook', stakeholder: 'logistics', type: 'test-webhook', config: { ur: 'http://127.0.0.1:1/x' } }],
      rules: [{ name: 'all', match: {}, receivers: ['hook'] }],
    });
    const child = run(path);
    const [code] = await once(child.proc, 'exit');
    expect(code).toBe(78);
    expect(child.stderr()).toContain('/receivers/0/config: unknown key "ur"');
    expect(child.stderr()).toContain('/receivers/0/config: missing key "url"');
  });

  it('exits 78 when the configuration file is missing', async () => {
    const child = run(join(dir, 'absent.json'));
    const [code] = await once(child.proc, 'exit');
    expect(code).toBe(78);
    expect(child.stderr()).toContain('cannot read notifier configuration');
  });

  /** Start a notifier, publish one alert, SIGKILL it once the receiver holds the request; start another. */
  async function killMidDelivery(durable: string, resendUncertain: boolean) {
    const hook = await LocalReceiver.start();
    hook.holdAnswers = true;
    const path = writeConfig(`${durable}.json`, {
      logLevel: 'info',
      nats: { servers: [server.url], user: NOTIFIER_USER.user, password: NOTIFIER_USER.pass, durable, ackWaitMs: 1000, streamWaitMs: 50 },
      http: { port: 0, adminToken: ADMIN_TOKEN },
      delivery: { attemptTimeoutMs: 500, claimStaleMs: 1000 },
      receivers: [{ id: 'hook', stakeholder: 'logistics', type: 'test-webhook', config: { url: hook.url }, resendUncertain }],
      rules: [{ name: 'all', match: {}, receivers: ['hook'] }],
    });
    const first = run(path);
    await ready(first);
    const alert = makeAlert({ severity: 'critical' });
    await publisher.publish(alert);
    // The request is at the receiver; its answer is held, so the notifier cannot have acked.
    const [request] = await hook.waitFor(1);
    expect(request.deliveryId).toBe(`${alert.noticeId}#hook`);
    first.proc.kill('SIGKILL');
    await once(first.proc, 'exit');
    hook.holdAnswers = false;
    const second = run(path);
    const port = await ready(second);
    return { hook, alert, second, port };
  }

  async function stopChild(child: Child): Promise<void> {
    child.proc.kill('SIGTERM');
    const [code] = await once(child.proc, 'exit');
    expect(code).toBe(0);
  }

  it('SIGKILL after the receiver got the request and before the ack: the next notifier sends no duplicate', async () => {
    const { hook, alert, second, port } = await killMidDelivery('notifier-kill', false);
    // JetStream redelivers after ackWaitMs; the second notifier finds the dead one's claim.
    const line = await second.logLine('delivery outcome uncertain after a crash; not resent');
    expect(line.deliveryId).toBe(`${alert.noticeId}#hook`);
    const history = await (await fetch(`http://127.0.0.1:${port}/v1/alerts/${encodeURIComponent(alert.id)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
    expect(history.attempts.map((a: { outcome: string }) => a.outcome)).toContain('uncertain');
    // Once the notice is acked (confirmed) nothing is pending: JetStream will not bring it back either.
    await second.logLine('notice settled and acked');
    const info = await publisher.jsm.consumers.info('ALERTS', 'notifier-kill');
    expect([info.num_ack_pending, info.num_pending]).toEqual([0, 0]);
    expect(hook.requests).toHaveLength(1);
    await stopChild(second);
    await hook.close();
  });

  it('with resendUncertain the next notifier resends under the same Idempotency-Key, for the vendor to drop', async () => {
    const { hook, alert, second } = await killMidDelivery('notifier-kill-idem', true);
    const requests = await hook.waitFor(2);
    await second.logLine('notice settled and acked');
    expect(requests.map((r) => r.deliveryId)).toEqual([`${alert.noticeId}#hook`, `${alert.noticeId}#hook`]);
    await stopChild(second);
    await hook.close();
  });
});
