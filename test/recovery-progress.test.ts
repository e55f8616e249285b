// WAL replay progress at start: the shard reports records replayed of those after its
// checkpoint, and the process draws bars only on a terminal.

import { afterAll, describe, expect, it } from 'vitest';
import { Shard } from '../src/actors/shard.js';
import { buildConfig } from '../src/config.js';
import { recoveryProgress } from '../src/recovery-progress.js';
import { FakeClock, removeTempDirs, setStock, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

describe('recovery progress', () => {
  it('reports the WAL records replayed of those after the checkpoint, ending at the total', async () => {
    const config = buildConfig({ shards: 1 });
    const dataDir = tempDir();
    const clock = new FakeClock();
    const open = (onRecoveryProgress?: (done: number, total: number) => void) =>
      Shard.open({ shardId: 0, shardCount: 1, dataDir, limits: config.limits, shard: config.shard, clock: clock.read, timers: false, onRecoveryProgress });
    const { shard } = open();
    // Twelve turns, each one WAL record; no clean close, so recovery replays all of them.
    for (let i = 0; i < 12; i++) await shard.execute([setStock(`P-${i}`, 'dc', i + 1)]);
    const reports: [number, number][] = [];
    const reopened = open((done, total) => reports.push([done, total]));
    expect(reopened.recovery.records).toBe(12);
    expect(reports.at(-1)).toEqual([12, 12]);
    await reopened.shard.close();
  });

  it('draws nothing when stderr is not a terminal, or when turned off', () => {
    const notATerminal = { isTTY: false } as NodeJS.WriteStream;
    expect(recoveryProgress(notATerminal).onRecoveryProgress).toBeUndefined();
    const terminal = { isTTY: true } as NodeJS.WriteStream;
    expect(recoveryProgress(terminal, { STOCKADE_PROGRESS: '0' }).onRecoveryProgress).toBeUndefined();
  });
});
