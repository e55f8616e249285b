// The demand windows wired to a real engine: sales reported after durable turns become signals,
// and each signal change a durable alert episode in the SKU's shard (high demand, lead-time
// exhaustion), with the lead time read from the SKU's thresholds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type EngineLogger } from '../src/actors/engine.js';
import type { Alert } from '../src/alerts/alert.js';
import type { ReservationView } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { buildDemandConfig } from '../src/streams/demand.js';
import { DemandService } from '../src/streams/demand-service.js';
import { removeTempDirs, tempDir } from './helpers.js';

const quiet: EngineLogger = { info() {}, error() {} };
let engine: Engine;
let demand: DemandService;
const notices: Alert[] = [];
const waiters: { match: (a: Alert) => boolean; resolve: (a: Alert) => void }[] = [];

/** Resolves with the first notice (already seen or still to come) that matches. */
function notice(match: (a: Alert) => boolean): Promise<Alert> {
  const seen = notices.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ match, resolve }));
}

beforeAll(async () => {
  engine = await Engine.start(buildConfig({ shards: 2, dataDir: tempDir() }), quiet);
  engine.observe({
    alerts: (_shard, list) => {
      for (const a of list) {
        notices.push(a);
        for (const w of waiters.splice(0)) if (w.match(a)) w.resolve(a);
        else waiters.push(w);
      }
    },
  });
  demand = new DemandService(engine, buildDemandConfig({ highDemand: { onAtLeast: 3, offBelow: 2 } }), quiet);
  demand.start();
});
afterAll(async () => {
  demand.stop();
  await engine.stop();
  removeTempDirs();
});

let n = 0;
async function sell(sku: string, quantity: number): Promise<void> {
  n++;
  const placed = await engine.execute({ type: 'reserve', sku, idempotencyKey: `demand-svc-${n}-key`, orderId: `o${n}`, customerId: `c${n}`, channel: 'web', quantity });
  if (!placed.ok) throw new Error(JSON.stringify(placed.error));
  const shipped = await engine.execute({ type: 'commit', reservationId: (placed.value as ReservationView).reservationId });
  if (!shipped.ok) throw new Error(JSON.stringify(shipped.error));
}

describe('demand service', () => {
  it('raises high demand once the weekly sales reach the threshold, and shows the figures', async () => {
    await engine.execute({ type: 'setStock', sku: 'HOT-1', location: 'dc', onHand: 100, eventId: 'e1' });
    await sell('HOT-1', 1);
    await sell('HOT-1', 1);
    expect(demand.snapshot('HOT-1')).toMatchObject({ tracked: true, highDemand: false });
    await sell('HOT-1', 1);
    const alert = await notice((a) => a.sku === 'HOT-1' && a.type === 'high_demand');
    expect(alert).toMatchObject({ status: 'firing', severity: 'info', threshold: { name: 'salesPerWeek', value: 3, observed: 3 } });
    expect(demand.snapshot('HOT-1')).toMatchObject({ highDemand: true, windows: { week: { sales: 3, saleUnits: 3 } } });
    expect(notices.filter((a) => a.sku === 'HOT-1' && a.type === 'high_demand')).toHaveLength(1);
  });

  it('raises lead-time exhaustion when the stock left lasts less than the supplier lead time', async () => {
    await engine.execute({ type: 'setStock', sku: 'SLOW-1', location: 'dc', onHand: 10, eventId: 'e1' });
    await engine.execute({ type: 'setThresholds', sku: 'SLOW-1', thresholds: { leadTimeDays: 30 } });
    // 5 units a week is 0.71 a day: the 5 left last 7 days, well short of 30.
    await sell('SLOW-1', 5);
    const alert = await notice((a) => a.sku === 'SLOW-1' && a.type === 'lead_time_exhaustion');
    expect(alert.status).toBe('firing');
    expect(alert.threshold.value).toBe(30);
    expect(alert.threshold.observed).toBeCloseTo(7);
    const snapshot = demand.snapshot('SLOW-1');
    expect(snapshot).toMatchObject({ leadTimeDays: 30, leadTimeExhausted: true });
    expect(snapshot.timeToStockOutDays).toBeCloseTo(7);
  });
});
