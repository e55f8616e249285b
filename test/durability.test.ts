// Replies wait for the WAL flush. A SIGKILL test cannot show this (the page cache survives a
// killed process, and LMDB commits within microseconds), so the flush is held here by hand and
// the test proves that no reply, not even a read, leaves before it.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShardStore } from '../src/persistence/shard-store.js';
import { openTestShard, removeTempDirs, reserve, setStock } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeTempDirs();
});

/** Let the event loop run a number of full turns (timers, I/O, immediates) without waiting on time. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('durability ordering', () => {
  it('answers a reserve, and a read that follows it, only after the turn is flushed to disk', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 5));

    let releaseFlush!: () => void;
    const realFlush = ShardStore.prototype.whenFlushed;
    vi.spyOn(ShardStore.prototype, 'whenFlushed').mockImplementation(function (this: ShardStore) {
      const flushed = realFlush.call(this);
      return new Promise<void>((resolve) => {
        releaseFlush = () => void flushed.then(resolve);
      });
    });

    let reserveAnswered = false;
    let readAnswered = false;
    const reserving = t.shard.execute([reserve('S', 2)]).then((r) => ((reserveAnswered = true), r));
    const reading = t.shard.execute([{ type: 'getSku', sku: 'S' }]).then((r) => ((readAnswered = true), r));
    await turns(50);
    expect(reserveAnswered).toBe(false);
    expect(readAnswered).toBe(false);

    releaseFlush();
    const [[reserved], [read]] = await Promise.all([reserving, reading]);
    expect(reserved).toMatchObject({ ok: true, value: { state: 'ACTIVE' } });
    expect(read).toMatchObject({ ok: true, value: { reserved: 2 } });
  });

  it('groups every command of a turn into one WAL record (group commit)', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 1000));
    const before = t.shard.stats().walSeq;
    const replies = await t.shard.execute(Array.from({ length: 100 }, () => reserve('S', 1)));
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(t.shard.stats().walSeq).toBe(before + 1);
  });
});
