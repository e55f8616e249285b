// A progress bar per shard on stderr while the shards replay their WAL at start, when stderr is
// a terminal (never in logs or pipes). `STOCKADE_PROGRESS=0` turns it off.

import cliProgress from 'cli-progress';
import type { EngineStartOptions } from './actors/engine.js';

/** Replays shorter than this draw no bar: a bar that flashes past says nothing. */
const RECORDS_FOR_A_BAR_MIN = 100_000;

export function recoveryProgress(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): EngineStartOptions & { stop(): void } {
  if (!stream.isTTY || env.STOCKADE_PROGRESS === '0') return { stop() {} };
  const bars = new cliProgress.MultiBar(
    { stream, format: 'recovering shard {shard} [{bar}] {value}/{total} WAL records', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const byShard = new Map<number, cliProgress.SingleBar>();
  return {
    onRecoveryProgress(shardId, done, total) {
      if (total < RECORDS_FOR_A_BAR_MIN) return;
      let bar = byShard.get(shardId);
      if (!bar) byShard.set(shardId, (bar = bars.create(total, 0, { shard: shardId })));
      bar.update(done);
    },
    stop() {
      bars.stop();
    },
  };
}
