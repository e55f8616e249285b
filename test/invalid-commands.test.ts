// Every invalid command answers its own stable code and leaves no state behind; a broken
// invariant stops the shard instead of carrying on.

import { afterEach, describe, expect, it } from 'vitest';
import { customersOf } from '../src/actors/open-holds.js';
import { assertInvariantsFull } from '../src/actors/sku.js';
import type { Command, SkuView } from '../src/actors/types.js';
import { buildConfig, ConfigError } from '../src/config.js';
import { openTestShard, removeTempDirs, reserve, setStock } from './helpers.js';

afterEach(() => removeTempDirs());

const cases: [name: string, command: Command, code: string][] = [
  ['zero quantity', reserve('S', 0), 'INVALID_QUANTITY'],
  ['negative quantity', reserve('S', -2), 'INVALID_QUANTITY'],
  ['fractional quantity', reserve('S', 1.5), 'INVALID_QUANTITY'],
  ['quantity above quantityMax', reserve('S', 2_000_000), 'INVALID_QUANTITY'],
  ['unknown SKU', reserve('NO-SUCH-SKU', 1), 'SKU_NOT_FOUND'],
  ['malformed SKU', reserve('bad sku!', 1), 'INVALID_SKU'],
  ['idempotency key too short', reserve('S', 1, { idempotencyKey: 'short' }), 'INVALID_IDEMPOTENCY_KEY'],
  ['idempotency key with spaces', reserve('S', 1, { idempotencyKey: 'has spaces in it' }), 'INVALID_IDEMPOTENCY_KEY'],
  ['missing idempotency key', { ...reserve('S', 1), idempotencyKey: undefined } as unknown as Command, 'VALIDATION_FAILED'],
  ['unknown field', { ...reserve('S', 1), price: 3 } as unknown as Command, 'VALIDATION_FAILED'],
  ['unknown command type', { type: 'explode', sku: 'S' } as unknown as Command, 'VALIDATION_FAILED'],
  ['unknown reservation', { type: 'release', reservationId: 'S:zz' }, 'RESERVATION_NOT_FOUND'],
  ['reservation of an unknown SKU', { type: 'commit', reservationId: 'NOPE:1' }, 'RESERVATION_NOT_FOUND'],
  ['malformed reservation id', { type: 'release', reservationId: 'not an id' }, 'INVALID_RESERVATION_ID'],
  ['negative stock count', setStock('S', 'w', -1), 'INVALID_QUANTITY'],
  ['zero stock delta', { type: 'adjustStock', sku: 'S', location: 'w', delta: 0, eventId: 'e-zero' }, 'INVALID_QUANTITY'],
  ['hold beyond holdTtlMsMax', reserve('S', 1, { holdTtlMs: 10 * 24 * 60 * 60_000 }), 'VALIDATION_FAILED'],
  ['priority out of range', reserve('S', 1, { priority: 99 }), 'VALIDATION_FAILED'],
  ['thresholds with a bad time of day', { type: 'setThresholds', sku: 'S', thresholds: { minAvailableByTimeOfDay: [{ from: '25:00', to: '26:00', minAvailable: 1 }] } }, 'VALIDATION_FAILED'],
  ['thresholds for an unknown SKU', { type: 'setThresholds', sku: 'NOPE', thresholds: { minAvailable: 1 } }, 'SKU_NOT_FOUND'],
  ['flag for an unknown SKU', { type: 'flagOutOfStock', sku: 'NOPE', reason: 'x', flaggedBy: 'y' }, 'SKU_NOT_FOUND'],
];

describe('invalid commands', () => {
  it.each(cases)('%s → %s, and nothing changes', async (_name, command, code) => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    await t.ok(reserve('S', 1));
    const before = await t.ok<SkuView>({ type: 'getSku', sku: 'S' });
    const walBefore = t.shard.stats().walSeq;
    expect(await t.code(command)).toBe(code);
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toEqual(before);
    expect(t.shard.stats().walSeq).toBe(walBefore);
  });

  it('refuses an oversize batch whole (BATCH_TOO_LARGE) and applies none of it', async () => {
    const t = openTestShard({ shard: { batchCommandsMax: 3 } });
    await t.ok(setStock('S', 'w', 10));
    const replies = await t.shard.execute([reserve('S', 1), reserve('S', 1), reserve('S', 1), reserve('S', 1)]);
    expect(replies.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['BATCH_TOO_LARGE', 'BATCH_TOO_LARGE', 'BATCH_TOO_LARGE', 'BATCH_TOO_LARGE']);
    expect((await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).reserved).toBe(0);
  });

  it('answers each command of a mixed batch on its own', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 2));
    const replies = await t.shard.execute([reserve('S', 1), reserve('S', 0), reserve('S', 5), reserve('S', 1)]);
    expect(replies.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'INVALID_QUANTITY', 'INSUFFICIENT_STOCK', 'ok']);
  });
});

describe('broken invariants', () => {
  it('stop the shard: the failing turn is not written and the shard answers nothing more', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    await t.ok(reserve('S', 2));
    const walBefore = t.shard.stats().walSeq;
    // Corrupt memory behind the actor's back, as a bug would.
    t.shard.skus.get('S')!.locations[0].reserved = 7;
    expect(() => t.shard.execute([reserve('S', 1)])).toThrow(/reserved total differs|reserved at S\/w/);
    await expect(t.shard.execute([{ type: 'getSku', sku: 'S' }])).rejects.toThrow();
    expect(t.shard.stats().walSeq).toBe(walBefore);
    // Recovery rebuilds from the WAL, which never saw the corruption.
    await t.reopen({ clean: false });
    expect(await t.ok<SkuView>({ type: 'getSku', sku: 'S' })).toMatchObject({ reserved: 2, available: 8 });
  });
});

describe('the full invariant check', () => {
  /** Two holds of c-1 and a third refused: with a limit of 2 that refusal counted the customers. */
  async function stateWithHolds() {
    const t = openTestShard({ limits: { reservationsPerCustomerMax: 2 } });
    await t.ok(setStock('S', 'w', 10));
    await t.ok(setStock('S', 'w2', 10));
    await t.ok(reserve('S', 2, { customerId: 'c-1' }));
    await t.ok(reserve('S', 1, { customerId: 'c-1' }));
    expect(await t.code(reserve('S', 1, { customerId: 'c-1' }))).toBe('CUSTOMER_RESERVATION_LIMIT');
    return t.shard.skus.get('S')!;
  }

  it('finds per-customer counts out of step with the open reservations', async () => {
    const state = await stateWithHolds();
    expect(() => assertInvariantsFull(state)).not.toThrow();
    state.customers!.set('c-1', 1);
    expect(() => assertInvariantsFull(state)).toThrow(/open reservations of customer c-1 on S out of step/);
    state.customers!.set('c-1', 2);
    state.customers!.set('c-2', 1);
    expect(() => assertInvariantsFull(state)).toThrow(/customers with open reservations of S out of step/);
  });

  it('finds a unit moved between locations, which keeps the totals right and only the allocations show', async () => {
    const state = await stateWithHolds();
    const [w, w2] = state.locations;
    expect([w.location, w.reserved, w2.location, w2.reserved]).toEqual(['w', 3, 'w2', 0]);
    w.reserved -= 1;
    w2.reserved += 1;
    expect(() => assertInvariantsFull(state)).toThrow(/reserved at S\/w differs from ACTIVE allocations/);
  });

  it('finds customers counted where no two holds are open', async () => {
    const t = openTestShard();
    await t.ok(setStock('S', 'w', 10));
    await t.ok(reserve('S', 1, { customerId: 'c-1' }));
    const state = t.shard.skus.get('S')!;
    expect(() => assertInvariantsFull(state)).not.toThrow();
    state.customers = customersOf([state.sole!]);
    expect(() => assertInvariantsFull(state)).toThrow(/open reservations of S not kept as one sole hold or two or more by number/);
  });
});

describe('configuration', () => {
  it('rejects an unknown key by name', () => {
    expect(() => buildConfig({ shard: { flushEveryMs: 2 } })).toThrow(ConfigError);
    expect(() => buildConfig({ shard: { flushEveryMs: 2 } })).toThrow(/unknown key "flushEveryMs"/);
  });

  it('rejects a limit of the wrong type and says where', () => {
    expect(() => buildConfig({ limits: { quantityMax: 'lots' } })).toThrow(/\/limits\/quantityMax/);
  });

  it('takes a shard worker young generation between 8 and 1024 MiB, and names it otherwise', () => {
    for (const bad of [7, 1025, 96.5, '96']) expect(() => buildConfig({ shard: { youngGenerationMb: bad } })).toThrow(/\/shard\/youngGenerationMb/);
    expect(buildConfig({ shard: { youngGenerationMb: 8 } }).shard.youngGenerationMb).toBe(8);
    expect(buildConfig().shard.youngGenerationMb).toBe(48);
  });

  it('refuses a WAL retention shorter than the idempotency TTL (retries read first answers from the WAL)', () => {
    expect(() => buildConfig({ shard: { walRetentionMs: 1000 }, limits: { idempotencyTtlMs: 60_000 } })).toThrow(/walRetentionMs/);
    expect(() => buildConfig({ shard: { walRetentionMs: 60_000 }, limits: { idempotencyTtlMs: 60_000 } })).not.toThrow();
  });

  it('refuses a bound on the stock series points of a shard below the points of one SKU', () => {
    expect(() => buildConfig({ shard: { stockSeriesPointsMax: 360, stockSeriesPointsTotalMax: 359 } })).toThrow(/stockSeriesPointsTotalMax is below stockSeriesPointsMax/);
    expect(() => buildConfig({ shard: { stockSeriesPointsTotalMax: 0 } })).toThrow(/\/shard\/stockSeriesPointsTotalMax/);
    expect(buildConfig({ shard: { stockSeriesPointsMax: 360, stockSeriesPointsTotalMax: 360 } }).shard.stockSeriesPointsTotalMax).toBe(360);
  });

  it('is frozen', () => {
    const config = buildConfig({});
    expect(Object.isFrozen(config) && Object.isFrozen(config.limits)).toBe(true);
  });
});
