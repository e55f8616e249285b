// Allocation lists shared between reservations (shared-allocations.ts): one list per location and
// small quantity, never changed in place, bounded whatever names callers send; reservations,
// their answers and their recovery from WAL records and snapshot blocks all use them.

import { describe, expect, it } from 'vitest';
import {
  assertSharedAllocationsIntact,
  NO_ALLOCATIONS,
  SHARED_LOCATIONS_MAX,
  SHARED_QUANTITY_MAX,
  sharedLocationCount,
  singleAllocation,
} from '../src/actors/shared-allocations.js';
import { decide, emptySku, evolve, type SkuState } from '../src/actors/sku.js';
import type { Allocation, Reservation, ReservationView, SkuEvent } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { RecordCodec } from '../src/persistence/codec.js';
import { openTestShard, removeTempDirs, reserve, setStock } from './helpers.js';

const limits = buildConfig({}).limits;

/** Decide and apply one command on a bare SKU state; the placed reservation, if any. */
function run(state: SkuState, command: Parameters<typeof decide>[1], now = 1_000): Reservation | null {
  const decision = decide(state, command, now, limits);
  if (!decision.ok) throw new Error(`refused: ${decision.error.code}`);
  if (!('events' in decision)) throw new Error('expected events');
  let placed: Reservation | null = null;
  for (const event of decision.events as SkuEvent[]) {
    if (event.type === 'ReservationPlaced') placed = event.reservation;
    evolve(state, event, limits);
  }
  return placed;
}

describe('shared allocation lists', () => {
  it('are one list per location and quantity, up to the quantity limit', () => {
    const a = singleAllocation('WH-SHARED-1', 3);
    expect(a).toEqual([{ location: 'WH-SHARED-1', quantity: 3 }]);
    expect(singleAllocation('WH-SHARED-1', 3)).toBe(a);
    expect(singleAllocation('WH-SHARED-1', 4)).not.toBe(a);
    expect(singleAllocation('WH-SHARED-2', 3)).not.toBe(a);
    expect(singleAllocation('WH-SHARED-1', SHARED_QUANTITY_MAX)).toBe(singleAllocation('WH-SHARED-1', SHARED_QUANTITY_MAX));
  });

  it('are made fresh for quantities they do not cover', () => {
    for (const quantity of [SHARED_QUANTITY_MAX + 1, 1_000_000, 0, -1, 1.5, Number.NaN]) {
      const first = singleAllocation('WH-FRESH', quantity);
      expect(first).toEqual([{ location: 'WH-FRESH', quantity }]);
      expect(singleAllocation('WH-FRESH', quantity), `quantity ${quantity}`).not.toBe(first);
    }
  });

  it('are checked: a list changed in place stops the check', () => {
    assertSharedAllocationsIntact();
    const list = singleAllocation('WH-CHANGED', 2) as Allocation[];
    const was = list[0];
    list[0] = { location: 'WH-CHANGED', quantity: 3 };
    expect(() => assertSharedAllocationsIntact()).toThrow(/shared allocation list for 2 at WH-CHANGED was changed/);
    list[0] = was;
    (NO_ALLOCATIONS as Allocation[]).push({ location: 'X', quantity: 1 });
    expect(() => assertSharedAllocationsIntact()).toThrow(/shared empty allocation list was changed/);
    (NO_ALLOCATIONS as Allocation[]).pop();
    assertSharedAllocationsIntact();
  });

  it('are what a one-location hold gets; a hold over two locations and a waiting one do not share a list of units', () => {
    const state = emptySku('S-SHARE');
    run(state, { type: 'setStock', sku: 'S-SHARE', location: 'A', onHand: 3, eventId: 'e-1' } as never);
    run(state, { type: 'setStock', sku: 'S-SHARE', location: 'B', onHand: 5, eventId: 'e-2' } as never);
    const first = run(state, reserve('S-SHARE', 1))!;
    const second = run(state, reserve('S-SHARE', 1))!;
    expect(first.allocations).toBe(second.allocations);
    expect(first.allocations).toBe(singleAllocation('A', 1));
    // One unit left at A: a reserve of 3 takes it and 2 at B, in a list of its own.
    const spanning = run(state, reserve('S-SHARE', 3))!;
    expect(spanning.allocations).toEqual([
      { location: 'A', quantity: 1 },
      { location: 'B', quantity: 2 },
    ]);
    const waiting = run(state, reserve('S-SHARE', 9, { queueIfShort: true }))!;
    expect(waiting.state).toBe('PENDING');
    expect(waiting.allocations).toBe(NO_ALLOCATIONS);
    // Ending one sharer leaves the other's allocation as it was.
    const released = evolve(state, { type: 'ReservationReleased', sku: 'S-SHARE', at: 2_000, reservationId: first.id }, limits) as ReservationView;
    expect(released.state).toBe('RELEASED');
    expect(second.allocations).toEqual([{ location: 'A', quantity: 1 }]);
    assertSharedAllocationsIntact();
  });

  it('come back shared from a WAL record: two replayed holds of one unit at one place share one list', () => {
    const codec = new RecordCodec(undefined, () => {});
    const state = emptySku('S-WAL');
    run(state, { type: 'setStock', sku: 'S-WAL', location: 'A', onHand: 10, eventId: 'e-3' } as never);
    const events: SkuEvent[] = [];
    for (let i = 0; i < 2; i++) {
      const decision = decide(state, reserve('S-WAL', 1), 1_000, limits);
      if (!decision.ok || !('events' in decision)) throw new Error('expected a placed reservation');
      for (const event of decision.events as SkuEvent[]) {
        events.push(event);
        evolve(state, event, limits);
      }
    }
    const decoded = codec.decodeRecord(codec.encodeRecord({ seq: 1, at: 1_000, events }));
    const [a, b] = decoded.events.map((e) => (e as Extract<SkuEvent, { type: 'ReservationPlaced' }>).reservation);
    expect(a.allocations).toEqual([{ location: 'A', quantity: 1 }]);
    expect(a.allocations).toBe(b.allocations);
  });

  it('survive a shard that recovers holds from its snapshot and its WAL, and its answers carry them', async () => {
    const t = openTestShard();
    try {
      await t.ok(setStock('S-REC', 'A', 10));
      const first = await t.ok<ReservationView>(reserve('S-REC', 2));
      await t.reopen({ clean: true });
      const second = await t.ok<ReservationView>(reserve('S-REC', 2));
      await t.reopen();
      const both = await Promise.all([first, second].map((r) => t.ok<ReservationView>({ type: 'getReservation', reservationId: r.reservationId })));
      for (const r of both) expect(r.allocations).toEqual([{ location: 'A', quantity: 2 }]);
      // One restored from the snapshot, one replayed from the WAL: both on the shared list.
      expect(both[0].allocations).toBe(both[1].allocations);
      expect(await t.ok({ type: 'getSku', sku: 'S-REC' })).toMatchObject({ reserved: 4, available: 6 });
      assertSharedAllocationsIntact();
    } finally {
      await t.shard.close();
      removeTempDirs();
    }
  });

  // Last: it fills this file's table (module state), so tests after it would find no room.
  it('stop at SHARED_LOCATIONS_MAX names: later names get lists of their own, and the table grows no more', () => {
    for (let i = 0; sharedLocationCount() < SHARED_LOCATIONS_MAX; i++) singleAllocation(`filler-${i}`, 1);
    expect(sharedLocationCount()).toBe(SHARED_LOCATIONS_MAX);
    const late = singleAllocation('one-name-too-many', 1);
    expect(late).toEqual([{ location: 'one-name-too-many', quantity: 1 }]);
    expect(singleAllocation('one-name-too-many', 1)).not.toBe(late);
    expect(sharedLocationCount()).toBe(SHARED_LOCATIONS_MAX);
    // Names already in the table still share.
    expect(singleAllocation('filler-0', 1)).toBe(singleAllocation('filler-0', 1));
  });
});
