// Demand events cross from a shard worker in columns (src/actors/demand-crossing.ts): every event
// must arrive as it left, optional fields present exactly where they were and keys in the order
// the shard gives them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demandFromCrossing, demandToCrossing, NO_DEMAND } from '../src/actors/demand-crossing.js';
import type { DemandEvent } from '../src/actors/messages.js';

function across(events: DemandEvent[]): DemandEvent[] {
  return demandFromCrossing(structuredClone(demandToCrossing(events)));
}

describe('demand crossing', () => {
  it('gives back the events a shard turn records, in its key order', () => {
    const events: DemandEvent[] = [
      { sku: 'SKU-1', kind: 'attempt', quantity: 3, count: 2, available: 40, leadTimeDays: null, at: 1_796_400_000_000 },
      { sku: 'SKU-2', kind: 'sale', quantity: 1, count: 1, available: 0, leadTimeDays: 14, at: 1_796_400_000_001 },
    ];
    const arrived = across(events);
    expect(arrived).toEqual(events);
    expect(JSON.stringify(arrived)).toBe(JSON.stringify(events));
  });

  it('keeps absent optional fields absent and null lead times null', () => {
    const events: DemandEvent[] = [
      { sku: 'A', kind: 'sale', quantity: 2, available: 5, at: 1 },
      { sku: 'B', kind: 'attempt', quantity: 1, available: 5, leadTimeDays: null, at: 2 },
      { sku: 'C', kind: 'attempt', quantity: 1, count: 4, available: 5, at: 3 },
      { sku: 'D', kind: 'sale', quantity: 1, available: 5, leadTimeDays: 0, at: 4 },
    ];
    const arrived = across(events);
    expect(arrived).toEqual(events);
    expect(arrived.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
  });

  it('sends nothing for a turn without demand', () => {
    expect(demandToCrossing([])).toBe(NO_DEMAND);
    expect(across([])).toEqual([]);
  });

  it('round-trips any event exactly (fast-check)', () => {
    const number = fc.oneof(fc.integer(), fc.double(), fc.constant(-0));
    const event = fc
      .record(
        {
          sku: fc.string(),
          kind: fc.constantFrom<DemandEvent['kind']>('sale', 'attempt'),
          quantity: number,
          count: number,
          available: number,
          leadTimeDays: fc.option(number, { nil: null }),
          at: number,
        },
        { requiredKeys: ['sku', 'kind', 'quantity', 'available', 'at'] },
      )
      // The shard's key order, whichever optional keys an event has.
      .map((e) => {
        const ordered = { sku: e.sku, kind: e.kind, quantity: e.quantity } as DemandEvent;
        if ('count' in e) ordered.count = e.count;
        ordered.available = e.available;
        if ('leadTimeDays' in e) ordered.leadTimeDays = e.leadTimeDays;
        ordered.at = e.at;
        return ordered;
      });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), (events) => {
        const arrived = across(events);
        expect(arrived).toEqual(events);
        expect(arrived.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
        // toEqual treats -0 and 0 as equal: Object.is does not.
        arrived.forEach((e, i) => {
          for (const key of ['quantity', 'count', 'available', 'leadTimeDays', 'at'] as const) expect(Object.is(e[key], events[i][key])).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });
});
