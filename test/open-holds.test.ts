// A SKU's open reservations: one kept as its sole hold, two or more in chunks by number and
// customer counts (open-holds.ts, holds-by-number.ts, customer-counts.ts). Whatever the order of
// holds placed and ended, and however far apart their numbers, lookups, counts and per-customer
// counts must match a plain list of the open ones, and the state must always have one of the two
// forms.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addOpen, assertOpenFiled, customerAtLimit, openCount, openHoldsOf, openReservation, openReservations, removeOpen } from '../src/actors/open-holds.js';
import { emptySku, type SkuState } from '../src/actors/sku.js';
import type { Reservation } from '../src/actors/types.js';
import { reservationIdOf } from '../src/actors/reservation-id.js';
import { heldReservation } from './fixtures/held-reservation.js';

function hold(no: number, customerId: string): Reservation {
  return heldReservation('S', no, 0, { customerId });
}

const CUSTOMERS = ['c-1', 'c-2', 'c-3', 'c-4'];

/** Customers are counted only beside `open`, and once counted, every open hold is. */
function expectForm(state: SkuState, model: Reservation[]): void {
  if (state.open === null) {
    expect(state.customers).toBeNull();
  } else {
    expect(state.sole).toBeNull();
    expect(state.open.size).toBeGreaterThanOrEqual(2);
  }
  if (state.customers !== null) {
    for (const customer of CUSTOMERS) expect(state.customers.get(customer) ?? 0).toBe(model.filter((r) => r.customerId === customer).length);
  }
}

describe('open holds', () => {
  it('answer as a list of the open reservations would, through any places and ends (model)', () => {
    // Numbers are issued in order; `skip` jumps ahead, as when other holds came and went, so
    // holds land in chunks (of 32 numbers) far apart, and chunks are emptied and dropped.
    // `limit`: the anti-hoarding question for a limit of 1–4, which counts the customers the first
    // time it can be yes; after that the counts must follow every place and end.
    const op = fc.oneof(
      { arbitrary: fc.record({ place: fc.constantFrom('c-1', 'c-2', 'c-3'), skip: fc.oneof(fc.constant(0), fc.nat(100)) }), weight: 3 },
      { arbitrary: fc.record({ end: fc.nat(20) }), weight: 2 },
      { arbitrary: fc.record({ limit: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
        const state = emptySku('S');
        const model: Reservation[] = [];
        const placed: number[] = [];
        let next = 1;
        for (const o of ops) {
          if ('place' in o) {
            next += o.skip;
            placed.push(next);
            const r = hold(next++, o.place);
            addOpen(state, r);
            model.push(r);
          } else if ('end' in o) {
            if (model.length > 0) removeOpen(state, model.splice(o.end % model.length, 1)[0]);
          } else {
            for (const customer of CUSTOMERS) expect(customerAtLimit(state, customer, o.limit)).toBe(model.filter((r) => r.customerId === customer).length >= o.limit);
          }
          expectForm(state, model);
          assertOpenFiled(state);
          expect(openCount(state)).toBe(model.length);
          // In number order, as they were placed: listings and snapshots keep that order.
          expect([...openReservations(state)]).toEqual(model);
          // Every number placed so far (open or ended), and the next, not yet issued.
          for (const no of [...placed, next]) expect(openReservation(state, reservationIdOf('S', no))).toBe(model.find((r) => r.arrival === no));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds a hold only by its own id: not by another spelling of its number, nor under another SKU', () => {
    const state = emptySku('S');
    addOpen(state, hold(1, 'c-1'));
    const second = hold(37, 'c-2');
    addOpen(state, second);
    expect(openReservation(state, 'S:11')).toBe(second); // 37 in base 36
    for (const other of ['S:011', 'S:1B', 'T:11', 'S11', 'S:', ':11', 'S:11:', 'S:zzzzzzzzzzz']) expect(openReservation(state, other)).toBeUndefined();
  });

  it('files holds with the largest numbers an id spells exactly, beyond small integers', () => {
    const top = 36 ** 10 - 1; // "zzzzzzzzzz", the longest number part reservationNoIn reads
    const state = emptySku('S');
    const holds = [top - 40, top - 1, top].map((no) => hold(no, `c-${no}`));
    for (const r of holds) addOpen(state, r);
    assertOpenFiled(state);
    for (const r of holds) expect(openReservation(state, r.id)).toBe(r);
    expect(openReservation(state, reservationIdOf('S', top - 2))).toBeUndefined();
    removeOpen(state, holds[1]);
    expect([...openReservations(state)]).toEqual([holds[0], holds[2]]);
  });

  it('restores holds from a snapshot in their order, and refuses a number restored twice', () => {
    const holds = [hold(3, 'c-1'), hold(40, 'c-2'), hold(41, 'c-1')];
    const restored = { ...emptySku('S'), ...openHoldsOf(holds) };
    assertOpenFiled(restored);
    expect([...openReservations(restored)]).toEqual(holds);
    // Customers are counted when the anti-hoarding limit is first asked about, not on restore.
    expect(restored.customers).toBeNull();
    expect([customerAtLimit(restored, 'c-1', 2), customerAtLimit(restored, 'c-2', 2), customerAtLimit(restored, 'c-1', 3)]).toEqual([true, false, false]);
    expect([...restored.customers!]).toEqual([['c-1', 2], ['c-2', 1]]);
    expect(() => openHoldsOf([hold(3, 'c-1'), hold(3, 'c-2')])).toThrow(/S:3 restored twice/);
  });

  it('stops on a hold filed under a number that is not its own', () => {
    const state = emptySku('S');
    addOpen(state, hold(1, 'c-1'));
    addOpen(state, { ...hold(2, 'c-2'), id: reservationIdOf('S', 5) });
    expect(() => assertOpenFiled(state)).toThrow(/S:5 filed as number 2 of S/);
    const lone = emptySku('S');
    addOpen(lone, { ...hold(2, 'c-2'), id: 'S:x-2' });
    expect(() => assertOpenFiled(lone)).toThrow(/S:x-2 is not number 2 of S/);
    // A damaged snapshot's number below zero is refused by the check, not by a crash on the way.
    const restored = { ...emptySku('S'), ...openHoldsOf([{ ...hold(1, 'c-1'), arrival: -1 }, hold(2, 'c-2')]) };
    expect(openReservation(restored, 'S:1')).toBeUndefined();
    expect(() => assertOpenFiled(restored)).toThrow(/S:1 filed as number -1 of S/);
  });

  it('refuses a reservation placed twice and the end of one that is not open, as the sole hold and in the chunks', () => {
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
