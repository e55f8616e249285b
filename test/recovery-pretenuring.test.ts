// V8's allocation-site pretenuring is off while shards recover and back on once they are ready
// (src/actors/recovery-pretenuring.ts), whether the start succeeds or fails. The flag itself is
// V8's and cannot be read back, so these tests watch what is asked of it.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Engine } from '../src/actors/engine.js';
import { beginRecovery, endRecovery, pretenuringFlag } from '../src/actors/recovery-pretenuring.js';
import { buildConfig } from '../src/config.js';
import { breakRecoveryOfShard0, openTestShard, removeTempDirs, setStock, tempDir } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeTempDirs();
});

function watchFlag(): boolean[] {
  const settings: boolean[] = [];
  vi.spyOn(pretenuringFlag, 'set').mockImplementation((on) => void settings.push(on));
  return settings;
}

describe('pretenuring while recovering', () => {
  it('is turned off by the first begin and on again by the last end, and refuses an end without a begin', () => {
    const settings = watchFlag();
    beginRecovery();
    beginRecovery();
    endRecovery();
    expect(settings).toEqual([false]);
    endRecovery();
    expect(settings).toEqual([false, true]);
    expect(() => endRecovery()).toThrow(/endRecovery without beginRecovery/);
  });

  it('is off while the engine\'s shards recover and on once every one is ready', async () => {
    const settings = watchFlag();
    const engine = await Engine.start(buildConfig({ shards: 2, dataDir: tempDir() }));
    try {
      expect(settings).toEqual([false, true]);
      expect(engine.ready).toBe(true);
    } finally {
      await engine.stop();
    }
  });

  it('is on again when a start fails because a shard cannot recover', async () => {
    const dataDir = tempDir();
    const config = buildConfig({ shards: 1, dataDir, shard: { restartsMax: 0 } });
    await breakRecoveryOfShard0(config);

    const settings = watchFlag();
    await expect(Engine.start(config)).rejects.toThrow(/shard 0 failed/);
    expect(settings).toEqual([false, true]);
  });

  it('is off while a shard run in the main thread recovers (benchmarks, tests) and on after', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    const settings = watchFlag();
    await t.reopen();
    expect(settings).toEqual([false, true]);
  });
});
