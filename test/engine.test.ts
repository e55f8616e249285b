// The engine with real worker-thread shards: stable placement, routing, batched crossing, the
// shard-count guard on existing data, clean stop/start with recovery, and a shard that dies.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, EngineStartError } from '../src/actors/engine.js';
import { shardOf, skuHash } from '../src/actors/placement.js';
import type { Command, ReservationView, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { breakRecoveryOfShard0, removeTempDirs, reserve, setStock, tempDir } from './helpers.js';

afterEach(() => removeTempDirs());

describe('placement', () => {
  it('is a stable hash: the same SKU always lands on the same shard', () => {
    // Golden values: changing the hash would strand every SKU on disk.
    expect(skuHash('A')).toBe(0xc40bf6cc);
    expect(skuHash('SKU-12345')).toBe(skuHash('SKU-12345'));
    expect(shardOf('A', 2)).toBe(0xc40bf6cc % 2);
  });

  it('spreads SKUs over shards', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[shardOf(`SKU-${i}`, 4)]++;
    for (const n of counts) expect(n).toBeGreaterThan(2000);
  });
});

describe('engine', () => {
  it('routes each SKU to its shard and answers through worker threads', async () => {
    const config = buildConfig({ shards: 2, dataDir: tempDir() });
    const engine = await Engine.start(config);
    try {
      expect(engine.ready).toBe(true);
      const skus = ['A', 'B', 'C', 'D', 'E', 'F'];
      expect(new Set(skus.map((s) => engine.shardOf(s))).size).toBe(2);
      for (const sku of skus) expect((await engine.execute(setStock(sku, 'w', 10))).ok).toBe(true);
      const replies = await Promise.all(skus.map((sku) => engine.execute(reserve(sku, 3))));
      expect(replies.map((r) => (r.ok ? (r.value as ReservationView).sku : r.error.code))).toEqual(skus);
      const stats = await engine.stats();
      expect(stats.map((s) => s!.skus).reduce((a, b) => a + b)).toBe(skus.length);
    } finally {
      await engine.stop();
    }
  });

  it('starts each shard worker with the configured young generation and reports its heap', async () => {
    const engine = await Engine.start(buildConfig({ shards: 2, dataDir: tempDir(), shard: { youngGenerationMb: 24 } }));
    try {
      for (const stats of await engine.stats()) {
        expect(stats!.heap!.youngGenerationMb).toBe(24);
        expect(stats!.heap!.usedBytes).toBeGreaterThan(1_000_000);
      }
    } finally {
      await engine.stop();
    }
  });

  it("reports each shard's turns and checkpoints, with their durations, before the replies they carry", async () => {
    // No scheduled threshold check or timed checkpoint: every turn and checkpoint here is one of the test's.
    const shard = { checkpointWalRecordsMax: 2, checkpointIntervalMs: 3_600_000, thresholdCheckIntervalMs: 0 };
    const engine = await Engine.start(buildConfig({ shards: 1, dataDir: tempDir(), shard }));
    const turns: number[] = [];
    const checkpoints: number[] = [];
    engine.observe({ turnRan: (_shard, ms) => turns.push(ms), checkpointWritten: (_shard, ms) => checkpoints.push(ms) });
    try {
      expect((await engine.execute(setStock('T', 'w', 10))).ok).toBe(true);
      expect([turns.length, checkpoints.length]).toEqual([1, 0]);
      // The second turn that writes the WAL reaches checkpointWalRecordsMax and checkpoints in it.
      expect((await engine.execute(reserve('T', 1))).ok).toBe(true);
      expect([turns.length, checkpoints.length]).toEqual([2, 1]);
      for (const ms of [...turns, ...checkpoints]) expect(ms).toBeGreaterThanOrEqual(0);
      // A checkpoint is part of the turn that wrote it.
      expect(turns[1]).toBeGreaterThanOrEqual(checkpoints[0]);
    } finally {
      await engine.stop();
    }
  });

  it("reports each shard worker's garbage-collection pauses, by kind", async () => {
    // The smallest young generation: the reserves below fill it many times over, so the worker
    // must scavenge; its pauses arrive after the collections, in a message of their own if need be.
    const engine = await Engine.start(buildConfig({ shards: 1, dataDir: tempDir(), shard: { youngGenerationMb: 8 } }));
    const pauses: { shardId: number; kind: string; ms: number }[] = [];
    const firstMinor = new Promise<void>((resolve) =>
      engine.observe({
        gcPaused: (shardId, pause) => {
          pauses.push({ shardId, ...pause });
          if (pause.kind === 'minor') resolve();
        },
      }),
    );
    try {
      expect((await engine.execute(setStock('G', 'w', 1_000_000))).ok).toBe(true);
      const replies = await Promise.all(Array.from({ length: 20_000 }, () => engine.execute(reserve('G', 1))));
      expect(replies.every((r) => r.ok)).toBe(true);
      await firstMinor;
      for (const pause of pauses) {
        expect(pause.shardId).toBe(0);
        expect(['minor', 'major', 'incremental', 'weakcb']).toContain(pause.kind);
        expect(pause.ms).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await engine.stop();
    }
  });

  it('crosses threads in batches: many commands in one turn make few shard turns', async () => {
    const config = buildConfig({ shards: 1, dataDir: tempDir() });
    const engine = await Engine.start(config);
    try {
      await engine.execute(setStock('HOT', 'w', 100_000));
      const before = (await engine.stats())[0]!.turns;
      const replies = await Promise.all(Array.from({ length: 2000 }, () => engine.execute(reserve('HOT', 1))));
      expect(replies.every((r) => r.ok)).toBe(true);
      const turns = (await engine.stats())[0]!.turns - before;
      expect(turns).toBeLessThanOrEqual(2000 / config.shard.batchCommandsMax + 2);
    } finally {
      await engine.stop();
    }
  });

  it('crosses once per command when configured unbatched (the benchmark baseline)', async () => {
    const config = buildConfig({ shards: 1, dataDir: tempDir(), shard: { crossing: 'unbatched' } });
    const engine = await Engine.start(config);
    try {
      await engine.execute(setStock('HOT', 'w', 100));
      const before = (await engine.stats())[0]!;
      await Promise.all(Array.from({ length: 50 }, () => engine.execute(reserve('HOT', 1))));
      const after = (await engine.stats())[0]!;
      // One message, hence one batch, per command (the shard may still merge batches into turns).
      expect(after.batches - before.batches).toBe(50);
    } finally {
      await engine.stop();
    }
  });

  it('answers a command that names no SKU without reaching a shard', async () => {
    const engine = await Engine.start(buildConfig({ shards: 1, dataDir: tempDir() }));
    try {
      const reply = await engine.execute({ type: 'release', reservationId: 'nonsense' } as Command);
      expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_RESERVATION_ID' } });
    } finally {
      await engine.stop();
    }
  });

  it('refuses OVERLOADED once a shard mailbox is full, and changes nothing for those', async () => {
    const engine = await Engine.start(buildConfig({ shards: 1, dataDir: tempDir(), shard: { mailboxCommandsMax: 10 } }));
    try {
      await engine.execute(setStock('S', 'w', 100));
      const replies = await Promise.all(Array.from({ length: 25 }, () => engine.execute(reserve('S', 1))));
      const codes = replies.map((r) => (r.ok ? 'ok' : r.error.code));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
      expect(codes.filter((c) => c === 'OVERLOADED')).toHaveLength(15);
      const view = await engine.execute({ type: 'getSku', sku: 'S' });
      expect((view as { value: SkuView }).value.reserved).toBe(10);
    } finally {
      await engine.stop();
    }
  });

  it('keeps state across a clean stop and start (checkpoint on stop)', async () => {
    const dataDir = tempDir();
    let engine = await Engine.start(buildConfig({ shards: 2, dataDir }));
    await engine.execute(setStock('KEEP', 'w', 9));
    const r = await engine.execute(reserve('KEEP', 4));
    await engine.stop();
    engine = await Engine.start(buildConfig({ shards: 2, dataDir }));
    try {
      expect(engine.recovery().reduce((n, s) => n + s!.records, 0)).toBe(0);
      const view = await engine.execute({ type: 'getSku', sku: 'KEEP' });
      expect((view as { value: SkuView }).value).toMatchObject({ onHand: 9, reserved: 4 });
      const again = await engine.execute({ type: 'getReservation', reservationId: (r as { value: ReservationView }).value.reservationId });
      expect(again).toMatchObject({ ok: true, value: { state: 'ACTIVE' } });
    } finally {
      await engine.stop();
    }
  });

  it('restarts a shard worker that dies, and gives up after shard.restartsMax, saying why', async () => {
    const dataDir = tempDir();
    const config = buildConfig({ shards: 1, dataDir, shard: { restartsMax: 2 } });
    // A WAL record after the checkpoint drops on-hand below what is reserved: the shard's
    // recovery finds the broken invariant and dies.
    await breakRecoveryOfShard0(config);

    const errors: { msg: string; obj: Record<string, unknown> }[] = [];
    const log = { info() {}, error: (obj: object, msg: string) => void errors.push({ obj: obj as Record<string, unknown>, msg }) };
    await expect(Engine.start(config, log)).rejects.toThrow(/shard 0 failed: worker exited with code 1/);
    // The first start and both restarts each died of the invariant, and then the engine stopped trying.
    expect(errors.map((e) => e.msg)).toEqual([
      'shard failed',
      'shard died; restarting',
      'shard failed',
      'shard died; restarting',
      'shard failed',
      'shard failed too often; not restarting',
    ]);
    for (const failed of errors.filter((e) => e.msg === 'shard failed')) expect(failed.obj.reason).toMatch(/reserved .*S/);
    expect(errors.filter((e) => e.msg === 'shard died; restarting').map((e) => e.obj.restart)).toEqual([1, 2]);
  });

  it('refuses to start when the data directory has less free space than shard.dataDirFreeMbMin, writing nothing', async () => {
    const dataDir = join(tempDir(), 'data');
    // More than any disk has: the check must refuse.
    const config = buildConfig({ shards: 1, dataDir, shard: { dataDirFreeMbMin: 2 ** 40 } });
    await expect(Engine.start(config)).rejects.toThrow(EngineStartError);
    await expect(Engine.start(config)).rejects.toThrow(/MiB free, below shard\.dataDirFreeMbMin \(1099511627776 MiB\)/);
    expect(readdirSync(dataDir)).toEqual([]);
    expect(() => buildConfig({ shard: { dataDirFreeMbMin: -1 } })).toThrow(/\/shard\/dataDirFreeMbMin/);
    // 0 turns the check off.
    const engine = await Engine.start(buildConfig({ shards: 1, dataDir, shard: { dataDirFreeMbMin: 0 } }));
    await engine.stop();
  });

  it('refuses a second engine on a data directory in use, naming the holder, until the first stops', async () => {
    const dataDir = tempDir();
    const config = buildConfig({ shards: 1, dataDir });
    const first = await Engine.start(config);
    try {
      await expect(Engine.start(config)).rejects.toThrow(EngineStartError);
      // Its pid is this process's: both engines are in it here.
      await expect(Engine.start(buildConfig({ shards: 1, dataDir: `${dataDir}/.` }))).rejects.toThrow(
        new RegExp(`data directory ${dataDir} is in use by another Stockade process \\(pid ${process.pid}\\)`),
      );
      expect((await first.execute(setStock('S', 'w', 1))).ok).toBe(true);
    } finally {
      await first.stop();
    }
    const second = await Engine.start(config);
    expect((await second.execute({ type: 'getSku', sku: 'S' })).ok).toBe(true);
    await second.stop();
  });

  it('refuses to start on data written with another shard count', async () => {
    const dataDir = tempDir();
    const engine = await Engine.start(buildConfig({ shards: 2, dataDir }));
    await engine.stop();
    await expect(Engine.start(buildConfig({ shards: 3, dataDir }))).rejects.toThrow(EngineStartError);
    await expect(Engine.start(buildConfig({ shards: 3, dataDir }))).rejects.toThrow(/holds 2 shards but the configuration asks for 3/);
  });
});
