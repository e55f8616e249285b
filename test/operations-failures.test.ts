// The gateway's operation runner on its failure paths: a bug below it answers INTERNAL to that
// request only, and an answer that cannot be written is logged rather than thrown into the
// engine's reply delivery (which would cost the other requests of the same delivery their answers).

import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/actors/engine.js';
import type { Command, Reply } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import type { Principal } from '../src/gateway/auth.js';
import { Metrics } from '../src/gateway/metrics.js';
import { Operations } from '../src/gateway/operations.js';

const admin: Principal = { keyId: 'admin', channel: null, scopes: new Set(['admin', 'read', 'reserve']) } as Principal;

function rig(executeThen: (command: Command, done: (reply: Reply) => void) => void) {
  const engine = { executeThen } as unknown as Engine;
  const logged: { obj: object; msg: string }[] = [];
  const log = { info() {}, error: (obj: object, msg: string) => logged.push({ obj, msg }) };
  const operations = new Operations(engine, buildConfig({ apiKeys: [] }), new Metrics(engine), log);
  return { operations, logged };
}

describe('operations on their failure paths', () => {
  it('answers INTERNAL, once, when the engine throws, and logs it', async () => {
    const { operations, logged } = rig(() => {
      throw new Error('shard table broke');
    });
    const answers: Reply[] = [];
    operations.runThen('ws', admin, 'availability', { sku: 'A1' }, (reply) => answers.push(reply));
    expect(answers).toEqual([{ ok: false, error: expect.objectContaining({ code: 'INTERNAL' }) }]);
    expect(logged).toEqual([{ obj: { op: 'availability', err: 'shard table broke' }, msg: 'operation failed' }]);
    // The promise form answers the same.
    expect(await operations.run('http', admin, 'availability', { sku: 'A1' })).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it('keeps a failing answer to itself: logged, and the delivery that called it goes on', () => {
    let delivered: ((reply: Reply) => void) | null = null;
    const { operations, logged } = rig((_command, done) => {
      delivered = done;
    });
    operations.runThen('ws', admin, 'availability', { sku: 'A1' }, () => {
      throw new Error('socket gone');
    });
    expect(() => delivered!({ ok: true, value: { sku: 'A1' } } as Reply)).not.toThrow();
    expect(logged).toEqual([{ obj: { op: 'availability', err: 'socket gone' }, msg: 'answering failed' }]);
  });

  it('answers once when a failure comes after the answer', () => {
    const { operations, logged } = rig((_command, done) => {
      done({ ok: true, value: { sku: 'A1' } } as Reply);
      throw new Error('after the answer');
    });
    const answers: Reply[] = [];
    operations.runThen('ws', admin, 'availability', { sku: 'A1' }, (reply) => answers.push(reply));
    expect(answers).toEqual([{ ok: true, value: { sku: 'A1' } }]);
    expect(logged.map((l) => l.msg)).toEqual(['operation failed']);
  });

  it('answers a refusal without reaching the engine', () => {
    const reached: Command[] = [];
    const { operations } = rig((command) => reached.push(command));
    const answers: Reply[] = [];
    operations.runThen('ws', admin, 'reserve', { sku: 'A1', asChannel: 'web' }, (reply) => answers.push(reply));
    expect(answers).toEqual([{ ok: false, error: expect.objectContaining({ code: 'VALIDATION_FAILED' }) }]);
    expect(reached).toEqual([]);
  });
});
