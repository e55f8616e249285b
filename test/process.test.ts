// The Stockade process as an operator runs it: configuration errors, logs, clean shutdown.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, startStockade, TEST_KEYS } from './process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'stockade-process-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the stockade process', () => {
  it('never writes an API key to its logs, even at trace level', async () => {
    const proc = await startStockade({ STOCKADE_DATA_DIR: dataDir, STOCKADE_SHARDS: '1', STOCKADE_LOG_LEVEL: 'trace' });
    await call(proc.baseUrl, 'PUT', '/v1/skus/LOGS/locations/dc/stock', { onHand: 3, eventId: 'e-logs' }, TEST_KEYS.admin);
    await call(proc.baseUrl, 'POST', '/v1/reservations', { sku: 'LOGS', quantity: 1, idempotencyKey: 'logs-key-0001', orderId: 'o', customerId: 'c' }, TEST_KEYS.web);
    await call(proc.baseUrl, 'GET', '/v1/skus/LOGS', undefined, 'a-wrong-key-value');
    expect(await proc.stop()).toBe(0);
    const logs = proc.stdout() + proc.stderr();
    expect(logs).toContain('gateway listening');
    for (const key of [...Object.values(TEST_KEYS), 'a-wrong-key-value']) expect(logs).not.toContain(key);
  });

  it('refuses to start on an invalid configuration, naming the key, with exit code 78', async () => {
    await expect(startStockade({ STOCKADE_DATA_DIR: dataDir, STOCKADE_SHARDS: 'two' })).rejects.toThrow(/exited with 78.*STOCKADE_SHARDS must be a whole number/s);
  });
});
