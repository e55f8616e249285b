// A SKU's open reservations: one kept as its sole hold, two or more in Maps (open-holds.ts).
// Whatever the order of holds placed and ended, lookups, counts and per-customer counts must
// match a plain list of the open ones, and the state must always have one of the two forms.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addOpen, customerHolds, openCount, openReservation, openReservations, removeOpen } from '../src/actors/open-holds.js';
import { emptySku, type SkuState } from '../src/actors/sku.js';
import type { Reservation } from '../src/actors/types.js';
import { reservationIdOf } from '../src/actors/reservation-id.js';
import { heldReservation } from './fixtures/held-reservation.js';

function hold(no: number, customerId: string): Reservation {
  return heldReservation('S', no, 0, { customerId });
}

function expectForm(state: SkuState): void {
  if (state.open === null) {
    expect(state.customers).toBeNull();
  } else {
    expect(state.sole).toBeNull();
    expect(state.open.size).toBeGreaterThanOrEqual(2);
    expect(state.customers).not.toBeNull();
  }
}

describe('open holds', () => {
  it('answer as a list of the open reservations would, through any places and ends (model)', () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ place: fc.constantFrom('c-1', 'c-2', 'c-3') }), weight: 3 },
      { arbitrary: fc.record({ end: fc.nat(20) }), weight: 2 },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
        const state = emptySku('S');
        const model: Reservation[] = [];
        let next = 1;
        for (const o of ops) {
          if ('place' in o) {
            const r = hold(next++, o.place);
            addOpen(state, r);
            model.push(r);
          } else if (model.length > 0) {
            const [r] = model.splice(o.end % model.length, 1);
            removeOpen(state, r);
          }
          expectForm(state);
          expect(openCount(state)).toBe(model.length);
          expect([...openReservations(state)].sort((a, b) => a.arrival - b.arrival)).toEqual(model);
          for (const customer of ['c-1', 'c-2', 'c-3', 'c-4']) expect(customerHolds(state, customer)).toBe(model.filter((r) => r.customerId === customer).length);
          for (let no = 1; no < next; no++) expect(openReservation(state, reservationIdOf('S', no))).toBe(model.find((r) => r.arrival === no));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a reservation placed twice and the end of one that is not open, as the sole hold and in the Maps', () => {
    const state = emptySku('S');
    const first = hold(1, 'c-1');
    expect(() => removeOpen(state, first)).toThrow(/S:1 is not open/);
    addOpen(state, first);
    expect(() => addOpen(state, first)).toThrow(/S:1 placed twice/);
    expect(() => removeOpen(state, hold(2, 'c-1'))).toThrow(/S:2 is not open/);
    addOpen(state, hold(2, 'c-2'));
    expect(() => addOpen(state, hold(2, 'c-2'))).toThrow(/S:2 placed twice/);
    // An object with an open id that is not the open reservation itself is refused too.
    expect(() => removeOpen(state, hold(1, 'c-1'))).toThrow(/S:1 is not open/);
    expect(openCount(state)).toBe(2);
  });
});
