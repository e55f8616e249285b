// A hold expires on time by the shard's own timer, with no command arriving to notice it.
// setTimeout and Date are faked; LMDB writes and flushes stay real.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Shard } from '../src/actors/shard.js';
import type { ReservationView, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { removeTempDirs, reserve, setStock, tempDir } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
  removeTempDirs();
});

describe('hold expiry timer', () => {
  it('expires a hold at its time and frees the units for waiting requests, unprompted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const config = buildConfig({ shards: 1 });
    const { shard } = Shard.open({ shardId: 0, shardCount: 1, dataDir: tempDir(), limits: config.limits, shard: config.shard });
    try {
      await shard.execute([setStock('S', 'w', 1)]);
      const [held] = await shard.execute([reserve('S', 1, { holdTtlMs: 5000 })]);
      const [waiting] = await shard.execute([reserve('S', 1, { queueIfShort: true })]);
      const walBefore = shard.stats().walSeq;

      await vi.advanceTimersByTimeAsync(4999);
      expect(shard.stats().walSeq).toBe(walBefore);
      await vi.advanceTimersByTimeAsync(1);
      // The timer's own turn wrote the expiry and the hand-over, before anyone asked.
      expect(shard.stats().walSeq).toBe(walBefore + 1);

      const [heldNow, waitingNow, sku] = await shard.execute([
        { type: 'getReservation', reservationId: (held as { value: ReservationView }).value.reservationId },
        { type: 'getReservation', reservationId: (waiting as { value: ReservationView }).value.reservationId },
        { type: 'getSku', sku: 'S' },
      ]);
      expect(heldNow).toMatchObject({ ok: true, value: { state: 'EXPIRED' } });
      expect(waitingNow).toMatchObject({ ok: true, value: { state: 'ACTIVE' } });
      expect((sku as { value: SkuView }).value).toMatchObject({ reserved: 1, pending: 0 });
    } finally {
      await shard.close();
    }
  });
});
