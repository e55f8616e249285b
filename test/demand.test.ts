// Demand windows in virtual time (RxJS TestScheduler, run mode): velocities per window, windows
// sliding at their bucket boundaries, the high-demand signal and its hysteresis, time to stock-out
// against the lead time, eviction at skusTrackedMax, and invalid configuration refused by name.

import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { DemandEvent } from '../src/actors/messages.js';
import { validateCommand } from '../src/actors/validate.js';
import { ConfigError } from '../src/config.js';
import {
  buildDemandConfig,
  DEFAULT_DEMAND_CONFIG,
  demandSignalCommand,
  DemandWindows,
  type DemandSignalChange,
  type DemandSnapshot,
  type DemandStatus,
} from '../src/streams/demand.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const sale = (sku: string, quantity: number, available: number): DemandEvent => ({ sku, kind: 'sale', quantity, available, at: 0 });
const attempt = (sku: string, quantity: number, available: number): DemandEvent => ({ sku, kind: 'attempt', quantity, available, at: 0 });
/** The shard reads the SKU's lead time in the same turn and sends it along. */
const carrying = (event: DemandEvent, leadTimeDays: number | null): DemandEvent => ({ ...event, leadTimeDays }) as DemandEvent;

interface Script {
  windows: DemandWindows;
  /** Run `fn` at virtual time `ms`. */
  at(ms: number, fn: () => void): void;
  /** The engine reports these demand events at virtual time `ms`. */
  report(ms: number, ...events: DemandEvent[]): void;
  /** Take a snapshot at virtual time `ms`, kept under `label`. */
  snap(ms: number, label: string, sku: string): void;
}

interface Outcome {
  changes: DemandSignalChange[];
  snaps: Map<string, DemandSnapshot>;
  status: DemandStatus;
}

/** Play a script in virtual time until `endMs`, then stop the windows (which ends the interval). */
function play(overrides: unknown, leadTimeDaysOf: ((sku: string) => number | null) | undefined, endMs: number, script: (s: Script) => void): Outcome {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const changes: DemandSignalChange[] = [];
  const snaps = new Map<string, DemandSnapshot>();
  let windows!: DemandWindows;
  scheduler.run(() => {
    windows = new DemandWindows(buildDemandConfig(overrides), { leadTimeDaysOf, scheduler });
    const demand = new Subject<DemandEvent[]>();
    windows.signals$.subscribe((c) => changes.push(c));
    windows.start(demand);
    const at = (ms: number, fn: () => void) => void scheduler.schedule(fn, ms);
    script({
      windows,
      at,
      report: (ms, ...events) => at(ms, () => demand.next(events)),
      snap: (ms, label, sku) => at(ms, () => snaps.set(label, windows.snapshot(sku))),
    });
    at(endMs, () => windows.stop());
  });
  return { changes, snaps, status: windows.status() };
}

const noLeadTime = () => null;

describe('demand windows: velocities', () => {
  it('counts sales and attempts, units and events, per minute, hour, day and week', () => {
    const { snaps, status } = play({}, noLeadTime, 9 * DAY, ({ report, snap }) => {
      report(0, attempt('V', 3, 10), sale('V', 3, 7), attempt('V', 2, 7), sale('V', 1, 6));
      snap(SECOND, 'now', 'V');
      snap(2 * MINUTE, 'after a minute', 'V');
      snap(2 * HOUR, 'after an hour', 'V');
      snap(2 * DAY, 'after a day', 'V');
      snap(8 * DAY, 'after a week', 'V');
    });
    const all = { sales: 2, saleUnits: 4, attempts: 2, attemptUnits: 5 };
    const none = { sales: 0, saleUnits: 0, attempts: 0, attemptUnits: 0 };
    expect(snaps.get('now')).toEqual({
      sku: 'V',
      tracked: true,
      at: SECOND,
      windows: { minute: all, hour: all, day: all, week: all },
      available: 6,
      salesVelocityPerDay: 4 / 7,
      timeToStockOutDays: 6 / (4 / 7),
      leadTimeDays: null,
      highDemand: false,
      leadTimeExhausted: false,
    });
    expect(snaps.get('after a minute')!.windows).toEqual({ minute: none, hour: all, day: all, week: all });
    expect(snaps.get('after an hour')!.windows).toEqual({ minute: none, hour: none, day: all, week: all });
    expect(snaps.get('after a day')!.windows).toEqual({ minute: none, hour: none, day: none, week: all });
    // A week without demand: the SKU is no longer tracked and costs no memory.
    expect(snaps.get('after a week')).toMatchObject({ tracked: false, windows: { minute: none, hour: none, day: none, week: none }, available: null, timeToStockOutDays: null });
    expect(status).toMatchObject({ skusTracked: 0, idleDropped: 1, eventsRecorded: 4 });
  });

  it('lets a sale leave each window exactly at the bucket boundary a window later', () => {
    // A sale at 30 s sits in buckets minute#6 (5 s), hour#0 (1 min), day#0 (15 min), week#0 (1 h).
    const edges: [string, number][] = [
      ['minute', 90 * SECOND],
      ['hour', HOUR],
      ['day', DAY],
      ['week', 7 * DAY],
    ];
    const { snaps } = play({}, noLeadTime, 8 * DAY, ({ report, snap }) => {
      report(30 * SECOND, sale('S', 5, 100));
      for (const [name, edge] of edges) {
        snap(edge - 1, `${name} before`, 'S');
        snap(edge, `${name} after`, 'S');
      }
    });
    for (const [name] of edges) {
      const window = name as 'minute' | 'hour' | 'day' | 'week';
      expect(snaps.get(`${name} before`)!.windows[window], `${name} window just before its edge`).toEqual({ sales: 1, saleUnits: 5, attempts: 0, attemptUnits: 0 });
      expect(snaps.get(`${name} after`)!.windows[window], `${name} window at its edge`).toEqual({ sales: 0, saleUnits: 0, attempts: 0, attemptUnits: 0 });
    }
  });

  it('keeps bucketed counts as the rings fill and wrap (a sale every 5 s for two hours)', () => {
    const { snaps } = play({}, noLeadTime, 3 * HOUR, ({ report, snap }) => {
      for (let t = 0; t < 2 * HOUR; t += 5 * SECOND) report(t, sale('HOT', 2, 1000));
      snap(2 * HOUR - 1, 'end', 'HOT');
    });
    // Just before two hours: the last minute holds 12 sales, the last hour 720, the day and week all 1440.
    expect(snaps.get('end')!.windows).toEqual({
      minute: { sales: 12, saleUnits: 24, attempts: 0, attemptUnits: 0 },
      hour: { sales: 720, saleUnits: 1440, attempts: 0, attemptUnits: 0 },
      day: { sales: 1440, saleUnits: 2880, attempts: 0, attemptUnits: 0 },
      week: { sales: 1440, saleUnits: 2880, attempts: 0, attemptUnits: 0 },
    });
  });
});

describe('demand windows: high demand', () => {
  it('turns on at 3 sales in a week and off when they slide out below 2 (marbles)', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      const windows = new DemandWindows(buildDemandConfig(), { leadTimeDaysOf: noLeadTime, scheduler });
      // Sales at 0, 1 day + 1 ms and 2 days + 2 ms (each marble character takes one frame).
      const demand = hot<DemandEvent[]>('a 1440m b 1440m c', {
        a: [sale('HD', 1, 50)],
        b: [sale('HD', 1, 49)],
        c: [sale('HD', 1, 48)],
      });
      windows.start(demand);
      scheduler.schedule(() => windows.stop(), 10 * DAY);
      // On with the third sale; the first leaves at 7 days (2 left: still on), the second at
      // 8 days (1 left: off). Stopping completes the stream at 10 days.
      const onAt = 2 * DAY + 2;
      const offAt = 8 * DAY;
      expectObservable(windows.signals$).toBe(`${onAt}ms n ${offAt - onAt - 1}ms f ${10 * DAY - offAt - 1}ms |`, {
        n: { sku: 'HD', signal: 'high_demand', on: true, observed: 3, threshold: 3, at: onAt, cause: 'crossed' },
        f: { sku: 'HD', signal: 'high_demand', on: false, observed: 1, threshold: 2, at: offAt, cause: 'crossed' },
      });
    });
  });

  it('does not flap while sales wobble between the two levels, and starts a new episode after', () => {
    const { changes } = play({}, noLeadTime, 17 * DAY, ({ report }) => {
      for (const day of [0, 1, 2]) report(day * DAY, sale('W', 1, 100)); // 3 in the week: on
      // d7: 2 left · d7.5: 3 · d8: 2 · d8.5: 3 · d9: 2 — never below 2, so no change.
      report(7.5 * DAY, sale('W', 1, 100));
      report(8.5 * DAY, sale('W', 1, 100));
      // d14.5: the d7.5 sale leaves, 1 left: off. d15.5: none left. d16: three more, on again.
      report(16 * DAY, sale('W', 1, 100), sale('W', 1, 100), sale('W', 1, 100));
    });
    expect(changes).toEqual([
      { sku: 'W', signal: 'high_demand', on: true, observed: 3, threshold: 3, at: 2 * DAY, cause: 'crossed' },
      { sku: 'W', signal: 'high_demand', on: false, observed: 1, threshold: 2, at: 14.5 * DAY, cause: 'crossed' },
      { sku: 'W', signal: 'high_demand', on: true, observed: 3, threshold: 3, at: 16 * DAY, cause: 'crossed' },
    ]);
  });

  it('measures units instead of sales when configured, over the configured window', () => {
    const { changes } = play({ highDemand: { window: 'hour', measure: 'units', onAtLeast: 10, offBelow: 5 } }, noLeadTime, 3 * HOUR, ({ report }) => {
      report(0, sale('U', 9, 100));
      report(MINUTE, sale('U', 1, 99)); // 10 units in the hour: on
    });
    expect(changes).toEqual([
      { sku: 'U', signal: 'high_demand', on: true, observed: 10, threshold: 10, at: MINUTE, cause: 'crossed' },
      // At one hour the first sale leaves: 1 unit is under 5.
      { sku: 'U', signal: 'high_demand', on: false, observed: 1, threshold: 5, at: HOUR, cause: 'crossed' },
    ]);
  });
});

describe('demand windows: time to stock-out and lead-time exhaustion', () => {
  it('turns on at or under the lead time and off above lead time × offAboveRatio', () => {
    const { changes, snaps } = play({}, (sku) => (sku === 'LT' ? 10 : null), 2 * DAY, ({ windows, report, at, snap }) => {
      report(0, sale('LT', 7, 15)); // 1 unit a day: 15 days left, lead time 10: fine
      snap(MINUTE, 'fine', 'LT');
      report(HOUR, sale('LT', 1, 8)); // 8 units a week: 7 days left: exhausted
      at(2 * HOUR, () => windows.availableChanged('LT', 13)); // 11.375 days: inside the hysteresis, still on
      snap(2 * HOUR, 'hysteresis', 'LT');
      at(3 * HOUR, () => windows.availableChanged('LT', 16)); // 14 days > 12.5: off
    });
    expect(snaps.get('fine')).toMatchObject({ salesVelocityPerDay: 1, timeToStockOutDays: 15, leadTimeDays: 10, leadTimeExhausted: false });
    expect(snaps.get('hysteresis')).toMatchObject({ available: 13, timeToStockOutDays: 11.375, leadTimeExhausted: true });
    expect(changes).toEqual([
      { sku: 'LT', signal: 'lead_time_exhaustion', on: true, observed: 7, threshold: 10, at: HOUR, cause: 'crossed' },
      { sku: 'LT', signal: 'lead_time_exhaustion', on: false, observed: 14, threshold: 12.5, at: 3 * HOUR, cause: 'crossed' },
    ]);
  });

  it('turns off when the sales leave the velocity window (nothing sells: no stock-out)', () => {
    const { changes } = play({}, () => 3, 8 * DAY, ({ report }) => {
      report(0, sale('FADE', 7, 1)); // 1 unit a day, 1 left: 1 day ≤ 3
    });
    expect(changes).toEqual([
      { sku: 'FADE', signal: 'lead_time_exhaustion', on: true, observed: 1, threshold: 3, at: 0, cause: 'crossed' },
      { sku: 'FADE', signal: 'lead_time_exhaustion', on: false, observed: null, threshold: 3.75, at: 7 * DAY, cause: 'crossed' },
    ]);
  });

  it('needs a lead time: none gives no signal, and losing it ends an episode', () => {
    const leadTimes = new Map<string, number | null>([['GONE', 5]]);
    const { changes, snaps } = play({}, (sku) => leadTimes.get(sku) ?? null, HOUR, ({ report, at, snap }) => {
      report(0, sale('NOLT', 1, 0), sale('GONE', 1, 0));
      snap(SECOND, 'no lead time', 'NOLT');
      at(10 * SECOND, () => leadTimes.set('GONE', null)); // thresholds changed; the next evaluation sees it
    });
    expect(snaps.get('no lead time')).toMatchObject({ timeToStockOutDays: 0, leadTimeDays: null, leadTimeExhausted: false });
    expect(changes).toEqual([
      { sku: 'GONE', signal: 'lead_time_exhaustion', on: true, observed: 0, threshold: 5, at: 0, cause: 'crossed' },
      { sku: 'GONE', signal: 'lead_time_exhaustion', on: false, observed: 0, threshold: null, at: MINUTE, cause: 'lead_time_unknown' },
    ]);
  });

  it('takes the lead time carried by the demand events over the callback, which serves the rest', () => {
    const { changes, snaps, status } = play({}, () => 100, MINUTE + SECOND, ({ report, snap }) => {
      report(0, carrying(sale('CARRY', 7, 1), 3), sale('ASK', 7, 1));
      snap(SECOND, 'carried', 'CARRY');
      report(MINUTE / 2, carrying(attempt('CARRY', 1, 1), null)); // thresholds cleared: the episode ends
      report(MINUTE / 2, carrying(sale('BAD', 7, 1), -2));
    });
    expect(snaps.get('carried')).toMatchObject({ leadTimeDays: 3, timeToStockOutDays: 1, leadTimeExhausted: true });
    expect(changes).toEqual([
      { sku: 'CARRY', signal: 'lead_time_exhaustion', on: true, observed: 1, threshold: 3, at: 0, cause: 'crossed' },
      { sku: 'ASK', signal: 'lead_time_exhaustion', on: true, observed: 1, threshold: 100, at: 0, cause: 'crossed' },
      { sku: 'CARRY', signal: 'lead_time_exhaustion', on: false, observed: 1, threshold: null, at: MINUTE / 2, cause: 'lead_time_unknown' },
    ]);
    expect(status.leadTimeLookupFailures).toBe(2); // BAD's -2, at its report and at the minute's evaluation
  });

  it('has no lead time without a callback or a carried one', () => {
    const { changes, snaps } = play({}, undefined, MINUTE / 2, ({ report, snap }) => {
      report(0, sale('NONE', 7, 0));
      snap(SECOND, 'none', 'NONE');
    });
    expect(changes).toEqual([]);
    expect(snaps.get('none')).toMatchObject({ leadTimeDays: null, timeToStockOutDays: 0 });
  });

  it('treats a lead-time callback that throws or answers nonsense as no lead time, and counts it', () => {
    const answers: Record<string, () => number | null> = {
      THROWS: () => {
        throw new Error('thresholds unavailable');
      },
      NAN: () => Number.NaN,
      NEGATIVE: () => -1,
    };
    const { changes, snaps, status } = play({}, (sku) => answers[sku](), 30 * SECOND, ({ report, snap }) => {
      report(0, sale('THROWS', 1, 0), sale('NAN', 1, 0), sale('NEGATIVE', 1, 0));
      snap(SECOND, 'nan', 'NAN');
    });
    expect(changes).toEqual([]);
    expect(snaps.get('nan')).toMatchObject({ leadTimeDays: null, leadTimeExhausted: false });
    expect(status.leadTimeLookupFailures).toBe(4);
  });
});

describe('demand windows: to the engine', () => {
  it('maps a change to a valid demandSignal command, 0 standing in for a figure an off lacks', () => {
    const on: DemandSignalChange = { sku: 'CMD', signal: 'lead_time_exhaustion', on: true, observed: 7, threshold: 10, at: 0, cause: 'crossed' };
    const off: DemandSignalChange = { sku: 'CMD', signal: 'lead_time_exhaustion', on: false, observed: null, threshold: null, at: 5, cause: 'lead_time_unknown' };
    expect(demandSignalCommand(on)).toEqual({ type: 'demandSignal', sku: 'CMD', signal: 'lead_time_exhaustion', on: true, observed: 7, threshold: 10 });
    expect(demandSignalCommand(off)).toEqual({ type: 'demandSignal', sku: 'CMD', signal: 'lead_time_exhaustion', on: false, observed: 0, threshold: 0 });
    expect(validateCommand(demandSignalCommand(on))).toBeNull();
    expect(validateCommand(demandSignalCommand(off))).toBeNull();
  });
});

describe('demand windows: bounds', () => {
  it('evicts the least recently active SKU at skusTrackedMax, ending its signals', () => {
    const config = { skusTrackedMax: 2, highDemand: { onAtLeast: 1, offBelow: 1 } };
    const { changes, snaps, status } = play(config, noLeadTime, MINUTE / 2, ({ report, snap }) => {
      report(0, sale('A', 1, 10));
      report(SECOND, sale('B', 1, 10));
      report(2 * SECOND, attempt('A', 1, 10)); // A is now more recent than B
      report(3 * SECOND, sale('C', 1, 10)); // no room: B goes
      for (const sku of ['A', 'B', 'C']) snap(4 * SECOND, sku, sku);
    });
    expect(changes.map((c) => [c.sku, c.on, c.at, c.cause])).toEqual([
      ['A', true, 0, 'crossed'],
      ['B', true, SECOND, 'crossed'],
      ['B', false, 3 * SECOND, 'evicted'],
      ['C', true, 3 * SECOND, 'crossed'],
    ]);
    expect([snaps.get('A')!.tracked, snaps.get('B')!.tracked, snaps.get('C')!.tracked]).toEqual([true, false, true]);
    expect(snaps.get('A')!.windows.minute).toEqual({ sales: 1, saleUnits: 1, attempts: 1, attemptUnits: 1 });
    expect(status).toMatchObject({ skusTracked: 2, skusTrackedMax: 2, evicted: 1, highDemandOn: 2 });
  });

  it('stays within skusTrackedMax when one report brings more new SKUs than it holds', () => {
    const config = { skusTrackedMax: 2, highDemand: { onAtLeast: 1, offBelow: 1 } };
    const { changes, status } = play(config, noLeadTime, MINUTE / 2, ({ report }) => {
      report(0, sale('X1', 1, 10), sale('X2', 1, 10), sale('X3', 1, 10));
    });
    // X1 made room for X3 before the report was evaluated: it never turned on, so nothing ends.
    expect(changes.map((c) => [c.sku, c.on])).toEqual([
      ['X2', true],
      ['X3', true],
    ]);
    expect(status).toMatchObject({ skusTracked: 2, evicted: 1, highDemandOn: 2, eventsRecorded: 3 });
  });

  it('refuses to start twice', () => {
    const windows = new DemandWindows(buildDemandConfig(), { leadTimeDaysOf: noLeadTime, scheduler: new TestScheduler(() => undefined) });
    windows.start(new Subject<DemandEvent[]>());
    expect(() => windows.start(new Subject<DemandEvent[]>())).toThrow(/already started/);
    windows.stop();
  });
});

describe('demand configuration', () => {
  it('defaults to 3+ sales a week, off below 2, and freezes what it builds', () => {
    const config = buildDemandConfig();
    expect(config).toEqual(DEFAULT_DEMAND_CONFIG);
    expect(config.highDemand).toEqual({ window: 'week', measure: 'sales', onAtLeast: 3, offBelow: 2 });
    expect(Object.isFrozen(config) && Object.isFrozen(config.highDemand) && Object.isFrozen(config.leadTimeExhaustion)).toBe(true);
    expect(buildDemandConfig({ highDemand: { onAtLeast: 5 } }).highDemand).toEqual({ window: 'week', measure: 'sales', onAtLeast: 5, offBelow: 2 });
  });

  it.each([
    ['an unknown key, by name', { colour: 'red' }, '/demand: unknown key "colour"'],
    ['an unknown nested key, by name', { highDemand: { level: 3 } }, '/demand/highDemand: unknown key "level"'],
    ['no SKUs tracked', { skusTrackedMax: 0 }, '/demand/skusTrackedMax: must be >= 1'],
    ['a fractional limit', { skusTrackedMax: 1.5 }, '/demand/skusTrackedMax: must be integer'],
    ['an evaluation interval under a second', { evaluateIntervalMs: 10 }, '/demand/evaluateIntervalMs: must be >= 1000'],
    ['an unknown window', { highDemand: { window: 'fortnight' } }, '/demand/highDemand/window: must be equal to one of the allowed values'],
    ['an off level above the on level', { highDemand: { onAtLeast: 2, offBelow: 3 } }, '/demand/highDemand: offBelow exceeds onAtLeast'],
    ['an off level of zero (it could never turn off)', { highDemand: { offBelow: 0 } }, '/demand/highDemand/offBelow: must be >= 1'],
    ['a ratio under 1', { leadTimeExhaustion: { offAboveRatio: 0.5 } }, '/demand/leadTimeExhaustion/offAboveRatio: must be >= 1'],
    ['not an object', 'fast', '/demand: must be object'],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => buildDemandConfig(overrides)).toThrow(ConfigError);
    expect(() => buildDemandConfig(overrides)).toThrow(message);
  });
});
