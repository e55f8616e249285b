// The checkpoint a shard writes at the end of recovery: it covers what replay changed before the
// first command, so a second crash replays nothing, and a failure writing it stops the start.

import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Shard } from '../src/actors/shard.js';
import { buildConfig } from '../src/config.js';
import { ShardStore } from '../src/persistence/shard-store.js';
import { FakeClock, removeTempDirs, setStock, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());
afterEach(() => vi.restoreAllMocks());

function opener() {
  const config = buildConfig({ shards: 1 });
  const dataDir = tempDir();
  const clock = new FakeClock();
  return () => Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, clock: clock.read, timers: false });
}

describe('the checkpoint at the end of recovery', () => {
  it('covers every replayed record before the first command, so the next start replays nothing', async () => {
    const open = opener();
    const { shard } = open();
    for (let i = 0; i < 5; i++) await shard.execute([setStock(`P-${i}`, 'dc', i + 1)]);
    // No clean close: the next open replays the five turns, as after a crash.
    const replayed = open();
    expect(replayed.recovery.records).toBe(5);
    const stats = replayed.shard.stats();
    expect(stats.checkpoints).toBe(1);
    expect(stats.lastCheckpointSeq).toBe(stats.walSeq);
    // A query waits for earlier writes to be durable, the checkpoint included.
    const [read] = await replayed.shard.execute([{ type: 'getSku', sku: 'P-4' }]);
    expect(read).toMatchObject({ ok: true, value: { onHand: 5 } });

    const again = open();
    expect(again.recovery).toMatchObject({ checkpointSeq: stats.walSeq, records: 0, checkpointMs: 0, skus: 5 });
    expect(again.shard.stats().checkpoints).toBe(0);
    const [after] = await again.shard.execute([{ type: 'getSku', sku: 'P-4' }]);
    expect(after).toMatchObject({ ok: true, value: { onHand: 5 } });
    await again.shard.close();
  });

  it('is not written when there was nothing to replay', async () => {
    const open = opener();
    const { shard, recovery } = open();
    expect(recovery).toMatchObject({ records: 0, checkpointMs: 0 });
    expect(shard.stats().checkpoints).toBe(0);
    await shard.close();
  });

  it('stops the start when it cannot be written', async () => {
    const open = opener();
    const { shard } = open();
    await shard.execute([setStock('P-1', 'dc', 3)]);
    vi.spyOn(ShardStore.prototype, 'writeCheckpoint').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect(() => open()).toThrow('disk full');
  });
});
