// Allocation lists shared between reservations. A reservation's allocations are never changed in
// place (a transition replaces the whole list), so every hold of a few units at one location can
// point at the same list instead of owning an array and an object that live as long as it does.
// In a flash sale that is nearly every hold: a hot SKU with 400,000 open holds kept 800,000 such
// objects, each promoted and marked by every collection (docs/benchmarks.md, "What an open hold
// costs": a hold's heap 817 -> 586 bytes, reserves +12-15 %).
//
// Each thread has its own lists (module state is per worker). The lists are not frozen: a frozen
// array and object have shapes of their own, which made the code that reads allocations
// polymorphic, and reserve+commit ran slower than with no sharing at all (same doc section).
// `readonly` in the types keeps changes in place out of the code; assertSharedAllocationsIntact
// checks the lists at recovery and in the model test.

import assert from 'node:assert/strict';
import type { Allocation } from './types.js';

/** Quantities with a shared list: reserves of a few units are the common case. */
export const SHARED_QUANTITY_MAX = 16;
/**
 * Location names with shared lists. Names come from callers, so the table is bounded: beyond this
 * many distinct names a list is made for its reservation, as before.
 */
export const SHARED_LOCATIONS_MAX = 4096;

/** The list of a PENDING (or bumped) reservation, which holds nothing. */
export const NO_ALLOCATIONS: readonly Allocation[] = [];

const listsByLocation = new Map<string, (readonly Allocation[])[]>();

/** `[{ location, quantity }]`, shared when the quantity is small and the table has room. */
export function singleAllocation(location: string, quantity: number): readonly Allocation[] {
  if (!(quantity >= 1 && quantity <= SHARED_QUANTITY_MAX && Number.isInteger(quantity))) return [{ location, quantity }];
  let lists = listsByLocation.get(location);
  if (lists === undefined) {
    if (listsByLocation.size >= SHARED_LOCATIONS_MAX) return [{ location, quantity }];
    lists = [];
    listsByLocation.set(location, lists);
  }
  return (lists[quantity] ??= [{ location, quantity }]);
}

/** How many location names have shared lists (tests). */
export function sharedLocationCount(): number {
  return listsByLocation.size;
}

/** Every shared list still says what its place in the table says: one allocation of that quantity there. */
export function assertSharedAllocationsIntact(): void {
  if (NO_ALLOCATIONS.length !== 0) assert.fail('the shared empty allocation list was changed');
  for (const [location, lists] of listsByLocation) {
    for (let quantity = 1; quantity < lists.length; quantity++) {
      const list = lists[quantity];
      if (list === undefined) continue;
      if (list.length !== 1 || list[0].location !== location || list[0].quantity !== quantity) {
        assert.fail(`the shared allocation list for ${quantity} at ${location} was changed`);
      }
    }
  }
}
