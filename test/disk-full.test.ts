// A full disk. A shard whose WAL commit fails stops rather than answer for a change it could not
// write; the engine restarts it up to shard.restartsMax and then answers SHARD_UNAVAILABLE, the
// process goes on, and /health/ready, the operators' feed and the dashboard say the shard failed.
// Every acknowledged reservation is there when the same data starts again on a disk with room. A
// dying shard ends even though lmdb-js never settles `flushed` after a failed commit
// (whenWritesSettled's bound).
//
// A full disk needs a small filesystem: a tmpfs mounted for these tests, which takes root (the
// CI machine runs them as root). Elsewhere they are skipped, and say why.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/actors/engine.js';
import type { ReservationView, SkuView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { startGateway } from '../src/gateway/server.js';
import { removeTempDirs, reserve, setStock, tempDir, tsWorker } from './helpers.js';
import { call, TEST_KEYS } from './process.js';
import { TestClient } from './ws-client.js';

const SMALL_DISK = '4m';
const mounts: string[] = [];

/**
 * A fresh small filesystem, or null when mounting is not allowed. One per test: opening a new
 * LMDB environment on a disk that is already full crashes the process inside lmdb-js (SIGBUS on
 * tmpfs, SIGSEGV on ext4 — seen while writing these tests), so no test starts on another's full disk.
 */
function smallDisk(): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = tempDir('stockade-full-disk-', false);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SMALL_DISK}`, 'stockade-test-full', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounts.push(dir);
  return dir;
}

const mountable = (() => {
  const probe = smallDisk();
  if (probe === null) console.warn(`disk-full tests skipped: mounting a ${SMALL_DISK} tmpfs needs root`);
  return probe !== null;
})();

afterAll(() => {
  // Lazy: a failed test may leave a store open on its disk; the mount goes once that closes.
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
  removeTempDirs();
});

describe.runIf(mountable)('a full disk', () => {
  it('stops the shard instead of acknowledging, keeps the process up, and loses no acknowledged reservation', async () => {
    const dataDir = join(smallDisk()!, 'engine');
    const errors: string[] = [];
    const reasons: unknown[] = [];
    const log = {
      info() {},
      error: (obj: object, msg: string) => {
        errors.push(msg);
        if (msg === 'shard failed') reasons.push((obj as { reason: unknown }).reason);
      },
    };
    // The start check would refuse a 4 MiB disk: this test is about filling it while serving.
    const apiKeys = [{ id: 'reader', sha256: createHash('sha256').update(TEST_KEYS.reader).digest('hex'), channel: null, scopes: ['read'] }];
    const config = buildConfig({ shards: 1, dataDir, http: { port: 0 }, apiKeys, shard: { restartsMax: 1, dataDirFreeMbMin: 0 } });
    const engine = await Engine.start(config, log);
    expect((await engine.execute(setStock('S', 'w', 1_000_000))).ok).toBe(true);

    const acknowledged: string[] = [];
    let unavailable = 0;
    const gaveUp = () => errors.includes('shard failed too often; not restarting');
    try {
      // A failed commit kills the shard; the restarted one may still write small turns into pages
      // LMDB freed, until a commit fails again. The bound only stops a disk that never fills.
      for (let round = 0; round < 2_000 && !gaveUp(); round++) {
        const replies = await Promise.all(Array.from({ length: 200 }, () => engine.execute(reserve('S', 1))));
        for (const reply of replies) {
          if (reply.ok) acknowledged.push((reply.value as ReservationView).reservationId);
          else if (reply.error.code === 'SHARD_UNAVAILABLE') unavailable++;
          else throw new Error(`unexpected ${reply.error.code}`);
        }
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(unavailable).toBeGreaterThan(0);
      expect(errors.filter((msg) => msg === 'shard died; restarting')).toHaveLength(1);
      // Each death names the disk's error, not only lmdb-js's "Commit failed".
      expect(reasons).toHaveLength(2);
      for (const reason of reasons) expect(reason).toMatch(/^WAL commit failed: (Input\/output error|No space left on device)/);
      expect(gaveUp()).toBe(true);
      expect(await engine.execute(reserve('S', 1))).toMatchObject({ ok: false, error: { code: 'SHARD_UNAVAILABLE' } });
      expect(engine.failedShards).toEqual([0]);
      const gateway = await startGateway(engine, config);
      try {
        const health = await call(`http://127.0.0.1:${gateway.port}`, 'GET', '/health/ready', undefined, null);
        expect(health).toMatchObject({ status: 503, body: { status: 'failed', failedShards: [0] } });
        // The operators' feed (the dashboard's header) says so too.
        const ops = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, { key: TEST_KEYS.reader });
        expect(await ops.send('watchOps')).toMatchObject({ ok: true });
        const [summary] = await ops.pushesReceived(1);
        expect(summary).toMatchObject({ push: 'ops', shards: { ready: false, failed: [0] } });
        await ops.close();
        // And the dashboard's header shows it in red, by name.
        const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
        try {
          const page = await browser.newPage();
          await page.goto(`http://127.0.0.1:${gateway.port}/`);
          await page.getByLabel('API key').fill(TEST_KEYS.reader);
          await page.getByRole('button', { name: 'Open' }).click();
          const badge = page.getByTestId('shards');
          await badge.filter({ hasText: /^1 shard failed: #0 · 0 queued$/ }).waitFor({ timeout: 10_000 });
          expect(await badge.getAttribute('class')).toBe('badge bad');
        } finally {
          await browser.close();
        }
      } finally {
        gateway.close();
      }
    } finally {
      await engine.stop();
    }

    // The same data on a disk with room: every acknowledged reservation is there, active.
    const roomy = tempDir();
    cpSync(dataDir, roomy, { recursive: true, filter: (source) => !source.endsWith('lock.mdb') });
    const again = await Engine.start(buildConfig({ shards: 1, dataDir: roomy }));
    try {
      const view = (await again.execute({ type: 'getSku', sku: 'S' })) as { ok: true; value: SkuView };
      // In flight when the shard died: those may or may not have been written (SHARD_UNAVAILABLE says so).
      expect(view.value.reserved).toBeGreaterThanOrEqual(acknowledged.length);
      expect(view.value.reserved).toBeLessThanOrEqual(acknowledged.length + unavailable);
      const reads = await Promise.all(acknowledged.map((reservationId) => again.execute({ type: 'getReservation', reservationId })));
      expect(reads.filter((r) => !r.ok || (r.value as ReservationView).state !== 'ACTIVE')).toEqual([]);
      expect((await again.execute(reserve('S', 1))).ok).toBe(true);
    } finally {
      await again.stop();
    }
  });

  it('refuses to start on a full disk with a clear error instead of opening LMDB there', async () => {
    const full = smallDisk()!;
    let filler = 0;
    try {
      for (;;) writeFileSync(join(full, `filler-${filler++}`), Buffer.alloc(256 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const dataDir = join(full, 'data');
    await expect(Engine.start(buildConfig({ shards: 1, dataDir }))).rejects.toThrow(/has [0-9.]+ MiB free, below shard\.dataDirFreeMbMin \(16 MiB\)/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('lets a dying thread end although its failed commit never settles', async () => {
    const dir = join(smallDisk()!, 'store');
    mkdirSync(dir);
    const worker = tsWorker(new URL('./fixtures/fill-disk-worker.ts', import.meta.url), { dir, waitMsMax: 300 });
    const report = await new Promise<{ failedCommits: number; flushedSettled: boolean }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(report.failedCommits).toBeGreaterThan(0);
    // lmdb-js left `flushed` pending after the failed commit: the bound is what ended the wait.
    expect(report.flushedSettled).toBe(false);
    expect(code).toBe(1);
  });
});
