// Alert triggers in the SKU actor: one firing notice per episode, one resolved notice when it
// ends, hysteresis against flapping, ids deterministic per episode and kept across restarts, and
// every notice in the outbox (same transaction as its cause) until the publisher confirms it.

import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import type { StockSeriesView } from '../src/actors/stock-series.js';
import type { ReservationView, SkuView } from '../src/actors/types.js';
import { openTestShard, removeTempDirs, reserve, setStock, type TestShard } from './helpers.js';

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const alertSchema = ajv.compile(JSON.parse(readFileSync(new URL('../docs/schemas/alert.schema.json', import.meta.url), 'utf8')));
/** Every notice any test here decides is checked against the published schema. */
const seen: Alert[] = [];

afterAll(() => {
  removeTempDirs();
  expect(seen.length).toBeGreaterThan(20);
  for (const notice of seen) {
    const id = notice.noticeId;
    if (!alertSchema(notice)) throw new Error(`${id} breaks docs/schemas/alert.schema.json: ${ajv.errorsText(alertSchema.errors)}`);
  }
});

/** A shard whose durable reports are collected: the notices each turn put in the outbox. */
function rig(overrides: Record<string, unknown> = {}) {
  const t = openTestShard(overrides);
  const notices: Alert[] = [];
  const listen = (shard: TestShard['shard']) => {
    shard.onDurable = (report) => {
      notices.push(...report.alerts);
      seen.push(...report.alerts);
    };
  };
  listen(t.shard);
  const reopen = async (options?: { clean?: boolean }) => {
    await t.reopen(options);
    listen(t.shard);
  };
  /** The notices decided since the last call, as `status type location` lines. */
  const take = () => notices.splice(0).map((n) => `${n.status} ${n.type} ${n.location ?? '*'}`);
  return { t, notices, take, reopen };
}

describe('zero stock', () => {
  it('fires once when the last unit is reserved, resolves once when units return, and numbers episodes', async () => {
    const { t, take, notices } = rig();
    await t.ok(setStock('Z1', 'dc', 3));
    expect(take()).toEqual([]);
    const r = await t.ok<ReservationView>(reserve('Z1', 3));
    const fired = [...notices];
    expect(take()).toEqual(['firing zero_stock *']);
    expect(fired[0]).toMatchObject({
      id: 'Z1/zero_stock/*/1',
      noticeId: 'Z1/zero_stock/*/1',
      severity: 'critical',
      sku: 'Z1',
      levels: { onHand: 3, reserved: 3, available: 0 },
      resolvedAt: null,
    });
    // Still at zero: no second notice for the same episode.
    expect(await t.code(reserve('Z1', 1))).toBe('INSUFFICIENT_STOCK');
    await t.ok(setStock('Z1', 'dc', 3));
    expect(take()).toEqual([]);
    await t.ok({ type: 'release', reservationId: r.reservationId });
    const resolved = [...notices];
    expect(take()).toEqual(['resolved zero_stock *']);
    expect(resolved[0]).toMatchObject({ id: 'Z1/zero_stock/*/1', noticeId: 'Z1/zero_stock/*/1/resolved', status: 'resolved' });
    expect(resolved[0].resolvedAt).not.toBeNull();
    await t.ok(reserve('Z1', 3));
    expect(notices.map((n) => n.id)).toEqual(['Z1/zero_stock/*/2']);
  });

  it('shows open episodes in the SKU view', async () => {
    const { t } = rig();
    await t.ok(setStock('Z2', 'dc', 0));
    const view = await t.ok<SkuView>({ type: 'getSku', sku: 'Z2' });
    expect(view.alerts.map((a) => a.id)).toEqual(['Z2/zero_stock/*/1']);
  });
});

describe('below minimum', () => {
  it('uses hysteresis: fires below the minimum, ends only at minimum + hysteresisUnits', async () => {
    const { t, take } = rig();
    await t.ok(setStock('M1', 'dc', 20));
    await t.ok({ type: 'setThresholds', sku: 'M1', thresholds: { minAvailable: 10, hysteresisUnits: 3 } });
    expect(take()).toEqual([]);
    await t.ok(setStock('M1', 'dc', 9));
    expect(take()).toEqual(['firing below_minimum *']);
    await t.ok(setStock('M1', 'dc', 11));
    await t.ok(setStock('M1', 'dc', 9));
    await t.ok(setStock('M1', 'dc', 12));
    expect(take()).toEqual([]);
    await t.ok(setStock('M1', 'dc', 13));
    expect(take()).toEqual(['resolved below_minimum *']);
  });

  it('raises the minimum in a time-of-day window, checked by the scheduled batch check without any command', async () => {
    const { t, take } = rig();
    t.clock.now = Date.UTC(2026, 10, 23, 12, 0, 0);
    await t.ok(setStock('T1', 'dc', 10));
    await t.ok({
      type: 'setThresholds',
      sku: 'T1',
      thresholds: { minAvailable: 5, minAvailableByTimeOfDay: [{ from: '18:00', to: '22:00', minAvailable: 20 }], timeZone: 'UTC' },
    });
    expect(take()).toEqual([]);
    t.clock.now = Date.UTC(2026, 10, 23, 18, 30, 0);
    await t.shard.checkThresholds();
    expect(take()).toEqual(['firing below_minimum *']);
    t.clock.now = Date.UTC(2026, 10, 23, 22, 5, 0);
    await t.shard.checkThresholds();
    expect(take()).toEqual(['resolved below_minimum *']);
  });

  it('applies the time-of-day window in the configured time zone', async () => {
    const { t, take } = rig();
    // 17:30 UTC is 18:30 in Rome (CET, UTC+1) on this date.
    t.clock.now = Date.UTC(2026, 10, 23, 17, 30, 0);
    await t.ok(setStock('T2', 'dc', 10));
    await t.ok({
      type: 'setThresholds',
      sku: 'T2',
      thresholds: { minAvailableByTimeOfDay: [{ from: '18:00', to: '22:00', minAvailable: 20 }], timeZone: 'Europe/Rome' },
    });
    expect(take()).toEqual(['firing below_minimum *']);
  });

  it('keeps per-location and per-region minimums apart, with the region on the alert', async () => {
    const { t, take, notices } = rig();
    await t.ok(setStock('L1', 'milan', 3));
    await t.ok(setStock('L1', 'rome', 30));
    await t.ok(setStock('L1', 'paris', 30));
    await t.ok({
      type: 'setThresholds',
      sku: 'L1',
      thresholds: {
        minAvailableByLocation: { milan: 5 },
        regionByLocation: { milan: 'north', rome: 'south', paris: 'fr' },
        minAvailableByRegion: { south: 40 },
      },
    });
    const fired = [...notices];
    expect(take().sort()).toEqual(['firing below_minimum milan', 'firing below_minimum rome']);
    expect(fired.find((n) => n.location === 'rome')).toMatchObject({ region: 'south', threshold: { name: 'minAvailableByLocation', value: 40, observed: 30 } });
    expect(fired.find((n) => n.location === 'milan')!.levels).toMatchObject({ onHand: 3, available: 3 });
  });
});

describe('other triggers', () => {
  it('depletion: below lowPercent of the reference level, ends hysteresisPercent above it', async () => {
    const { t, take } = rig();
    await t.ok(setStock('D1', 'dc', 100));
    await t.ok({ type: 'setThresholds', sku: 'D1', thresholds: { lowPercent: 20, referenceLevel: 100 } });
    await t.ok(setStock('D1', 'dc', 19));
    expect(take()).toEqual(['firing depletion *']);
    await t.ok(setStock('D1', 'dc', 24));
    expect(take()).toEqual([]);
    await t.ok(setStock('D1', 'dc', 25));
    expect(take()).toEqual(['resolved depletion *']);
  });

  it('manual out-of-stock flag: critical while flagged, resolved when unflagged', async () => {
    const { t, take, notices } = rig();
    await t.ok(setStock('F1', 'dc', 10));
    await t.ok({ type: 'flagOutOfStock', sku: 'F1', reason: 'shelf empty', flaggedBy: 'alice' });
    expect(notices[0]).toMatchObject({ type: 'manual_out_of_stock', severity: 'critical' });
    expect(take()).toEqual(['firing manual_out_of_stock *']);
    await t.ok({ type: 'unflagOutOfStock', sku: 'F1', unflaggedBy: 'alice' });
    expect(take()).toEqual(['resolved manual_out_of_stock *']);
  });

  it('reserved stock sold elsewhere: fires when a warehouse count falls below reserved, ends when the bumped holds are served', async () => {
    const { t, take } = rig();
    await t.ok(setStock('R1', 'dc', 10));
    await t.ok(reserve('R1', 8));
    await t.ok(setStock('R1', 'dc', 5));
    // The hold of 8 went back to waiting; the 5 left on the shelf stay available.
    expect(take()).toEqual(['firing reserved_threatened dc']);
    await t.ok(setStock('R1', 'dc', 6));
    expect(take()).toEqual([]);
    await t.ok(setStock('R1', 'dc', 20));
    expect(take()).toEqual(['resolved reserved_threatened dc']);
  });

  it('a failed fulfilment fires, and the next shipment of the SKU ends it', async () => {
    const { t, take } = rig();
    await t.ok(setStock('FF', 'dc', 10));
    const r = await t.ok<ReservationView>(reserve('FF', 1));
    await t.ok({ type: 'reportFulfilmentFailure', sku: 'FF', location: 'dc', orderId: 'o-1', reason: 'carrier refused' });
    expect(take()).toEqual(['firing fulfilment_failed dc']);
    await t.ok({ type: 'reportFulfilmentFailure', sku: 'FF', location: 'dc', orderId: 'o-2', reason: 'again' });
    expect(take()).toEqual([]);
    await t.ok({ type: 'commit', reservationId: r.reservationId });
    expect(take()).toEqual(['resolved fulfilment_failed dc']);
  });

  it('demand signals open and close their episodes', async () => {
    const { t, take, notices } = rig();
    await t.ok(setStock('H1', 'dc', 10));
    await t.ok({ type: 'demandSignal', sku: 'H1', signal: 'high_demand', on: true, observed: 5, threshold: 3 });
    expect(notices[0]).toMatchObject({ type: 'high_demand', severity: 'info', threshold: { name: 'salesPerWeek', value: 3, observed: 5 } });
    expect(take()).toEqual(['firing high_demand *']);
    await t.ok({ type: 'demandSignal', sku: 'H1', signal: 'high_demand', on: true, observed: 6, threshold: 3 });
    expect(take()).toEqual([]);
    await t.ok({ type: 'demandSignal', sku: 'H1', signal: 'lead_time_exhaustion', on: true, observed: 4, threshold: 10 });
    expect(take()).toEqual(['firing lead_time_exhaustion *']);
    await t.ok({ type: 'demandSignal', sku: 'H1', signal: 'high_demand', on: false, observed: 1, threshold: 3 });
    expect(take()).toEqual(['resolved high_demand *']);
  });
});

describe('invalid alert input', () => {
  it('answers its own code and decides nothing', async () => {
    const { t, take } = rig();
    await t.ok(setStock('V1', 'dc', 10));
    expect(await t.code({ type: 'demandSignal', sku: 'NOPE', signal: 'high_demand', on: true, observed: 1, threshold: 1 })).toBe('SKU_NOT_FOUND');
    expect(await t.code({ type: 'demandSignal', sku: 'V1', signal: 'sunny', on: true, observed: 1, threshold: 1 } as never)).toBe('VALIDATION_FAILED');
    expect(await t.code({ type: 'reportFulfilmentFailure', sku: 'V1', location: 'mars', orderId: 'o', reason: 'r' })).toBe('UNKNOWN_LOCATION');
    expect(await t.code({ type: 'setThresholds', sku: 'V1', thresholds: { minAvailabel: 3 } as never })).toBe('VALIDATION_FAILED');
    expect(await t.code({ type: 'setThresholds', sku: 'V1', thresholds: { hysteresisUnits: -1 } })).toBe('VALIDATION_FAILED');
    // The runtime's own commands are not accepted from callers.
    expect(await t.code({ type: 'evaluateAlerts', sku: 'V1' } as never)).toBe('VALIDATION_FAILED');
    expect(await t.code({ type: 'expire', reservationId: 'V1:1' } as never)).toBe('VALIDATION_FAILED');
    expect(take()).toEqual([]);
  });
});

describe('outbox and restarts', () => {
  it('keeps every notice in the outbox until confirmed, and after a crash', async () => {
    const { t, reopen } = rig();
    await t.ok(setStock('O1', 'dc', 1));
    await t.ok(reserve('O1', 1));
    await t.ok(setStock('O2', 'dc', 0));
    expect(t.shard.unconfirmedAlerts().map((n) => n.noticeId).sort()).toEqual(['O1/zero_stock/*/1', 'O2/zero_stock/*/1']);
    t.shard.alertsPublished(['O2/zero_stock/*/1']);
    // A crash (no clean close): the unconfirmed notice is still there for the publisher.
    await t.ok(setStock('O3', 'dc', 5));
    await reopen();
    expect(t.shard.unconfirmedAlerts().map((n) => n.noticeId)).toEqual(['O1/zero_stock/*/1']);
  });

  it('keeps episode numbers across a restart, from the WAL and from a checkpoint', async () => {
    for (const clean of [false, true]) {
      const { t, notices, reopen } = rig();
      await t.ok(setStock('E1', 'dc', 1));
      const held = await t.ok<ReservationView>(reserve('E1', 1));
      await reopen({ clean });
      // The open episode survived: releasing resolves it rather than opening a new one.
      await t.ok({ type: 'release', reservationId: held.reservationId });
      await t.ok(reserve('E1', 1));
      expect(notices.map((n) => n.noticeId)).toEqual(['E1/zero_stock/*/1', 'E1/zero_stock/*/1/resolved', 'E1/zero_stock/*/2']);
      const view = await t.ok<SkuView>({ type: 'getSku', sku: 'E1' });
      expect(view.alerts.map((a) => a.id)).toEqual(['E1/zero_stock/*/2']);
    }
  });
});

describe('depletion by speed', () => {
  it('fires when available falls dropPercent % from its peak within the window, and ends with hysteresis', async () => {
    const { t, take, notices } = rig();
    await t.ok(setStock('S1', 'dc', 100));
    await t.ok({ type: 'setThresholds', sku: 'S1', thresholds: { dropPercent: 50, dropWindowMs: 10 * 60_000, hysteresisPercent: 10 } });
    t.clock.advance(30_000);
    await t.ok(reserve('S1', 30));
    expect(take()).toEqual([]);
    t.clock.advance(30_000);
    await t.ok(reserve('S1', 30));
    expect(notices[0]).toMatchObject({ type: 'depletion', threshold: { name: 'dropPercent', value: 50, observed: 60 } });
    expect(take()).toEqual(['firing depletion *']);
    // Back to 55 available: down 45 %, inside the hysteresis band (> 40 %): still open.
    t.clock.advance(30_000);
    await t.ok(setStock('S1', 'dc', 115));
    expect(take()).toEqual([]);
    // 65 available: down 35 % from the peak of 100: ended.
    t.clock.advance(30_000);
    await t.ok(setStock('S1', 'dc', 125));
    expect(take()).toEqual(['resolved depletion *']);
  });

  it('measures from what the stock series holds: a SKU it forgot starts its window again at its next change', async () => {
    const { t, take } = rig({ shard: { stockSeriesSkusMax: 1 } });
    await t.ok(setStock('S3', 'dc', 100));
    await t.ok({ type: 'setThresholds', sku: 'S3', thresholds: { dropPercent: 50, dropWindowMs: 10 * 60_000 } });
    t.clock.advance(30_000);
    await t.ok(setStock('OTHER', 'dc', 5)); // the series keeps one SKU: S3's peak of 100 is forgotten
    expect((await t.ok<StockSeriesView>({ type: 'getStockSeries', sku: 'S3' })).points).toEqual([]);
    t.clock.advance(30_000);
    await t.ok(reserve('S3', 60)); // 40 left: down 60 % from a peak the series no longer has
    expect(take()).toEqual([]);
    t.clock.advance(30_000);
    await t.ok(reserve('S3', 25)); // 15 left: down 62.5 % from 40, its first point since
    expect(take()).toEqual(['firing depletion *']);
  });

  it('needs its window', async () => {
    const { t } = rig();
    await t.ok(setStock('S2', 'dc', 10));
    expect(await t.code({ type: 'setThresholds', sku: 'S2', thresholds: { dropPercent: 50 } })).toBe('VALIDATION_FAILED');
  });
});
