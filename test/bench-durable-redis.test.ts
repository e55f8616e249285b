// The load benchmark's durable Redis (bench/load/durable-redis.ts): a real redis-server with the
// append-only file fsynced before every reply, started on a free port and removed without trace.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startDurableRedis } from '../bench/load/durable-redis.js';

async function connect(port: number): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

/** The durable Redis's data directories in the temporary directory now. */
function benchRedisDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('stockade-bench-redis-')));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the load benchmark’s durable Redis', () => {
  it('answers with appendfsync always, has the write in its append-only file, and leaves nothing behind', async () => {
    const server = await startDurableRedis();
    try {
      const redis = await connect(server.port);
      try {
        expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
        expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
        expect(await redis.config('GET', 'dir')).toEqual(['dir', server.dataDir]);
        await redis.set('durable-probe', 'forty-two');
        // The answer came after the write reached the append-only file (Redis 7 keeps it in a directory).
        const aofDir = join(server.dataDir, 'appendonlydir');
        const incr = readdirSync(aofDir).find((f) => f.endsWith('.incr.aof'));
        expect(incr).toBeDefined();
        expect(statSync(join(aofDir, incr!)).size).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    } finally {
      await server.stop();
    }
    expect(processAlive(server.pid)).toBe(false);
    expect(existsSync(server.dataDir)).toBe(false);
    await server.stop(); // a second stop is harmless
  });

  it('rejects with the server’s own words when redis-server refuses its arguments, and removes the directory', async () => {
    const before = benchRedisDirs();
    // A binary that is not redis-server: `node` exits at once on redis-server's flags.
    const failed = await startDurableRedis(process.execPath).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(failed!.message).toMatch(/exited before it was ready \(code [1-9]/);
    expect([...benchRedisDirs()].filter((f) => !before.has(f))).toEqual([]);
  });

  it('rejects when the binary does not exist, and removes the directory', async () => {
    const before = benchRedisDirs();
    await expect(startDurableRedis('/nonexistent/redis-server')).rejects.toThrow(/ENOENT/);
    expect([...benchRedisDirs()].filter((f) => !before.has(f))).toEqual([]);
  });
});
