// A thread that ends while its LMDB writes are still in flight can hang or crash the whole
// process (process.exit under LMDB's write thread). A dying shard worker therefore exits only
// once whenWritesSettled resolves; here a worker does exactly that, several times over, and the
// process goes on with every record on disk.

import { afterAll, describe, expect, it } from 'vitest';
import { ShardStore } from '../src/persistence/shard-store.js';
import { removeTempDirs, tempDir, tsWorker } from './helpers.js';

afterAll(() => removeTempDirs());

describe('a worker that exits right after queuing writes', () => {
  it('ends with its code, leaves the process running and every record on disk', async () => {
    const dir = tempDir();
    const rounds = 5;
    const records = 2_000;
    for (let round = 0; round < rounds; round++) {
      const worker = tsWorker(new URL('./fixtures/exit-after-writes-worker.ts', import.meta.url), { dir, firstSeq: round * records + 1, records });
      const code = await new Promise<number>((resolve, reject) => {
        worker.once('exit', resolve);
        worker.once('error', reject);
      });
      expect(code).toBe(1);
    }
    const store = ShardStore.open(dir);
    let seen = 0;
    for (const record of store.recordsAfter(0)) {
      seen++;
      expect(record.seq).toBe(seen);
    }
    expect(seen).toBe(rounds * records);
    await store.close();
  });
});
