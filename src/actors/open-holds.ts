// A SKU's open (PENDING and ACTIVE) reservations, and how many of them each customer has.
//
// Most SKUs hold at most one reservation at a time: in a sale over many SKUs each gets a hold now
// and then, and it ends before the next. That one is kept in `state.sole`, with no Map; a second
// one moves both into `state.open` (by number, holds-by-number.ts), and when one is left it goes
// back to `sole`. Making the structures for a SKU's first hold and dropping them with its last
// was ~22 % of what a recovery allocated (docs/benchmarks.md, "A SKU's only hold without a Map");
// deleting their last entry instead makes V8 shrink the Map into a new table.
//
// The per-customer counts (`state.customers`, customer-counts.ts) serve only the anti-hoarding
// check, whose answer can be yes only once the SKU has as many open holds as one customer may
// have. So they are made then, from the open holds (`customerAtLimit`), and kept from then on
// until one hold is left: a SKU with a handful of holds, as in a sale over many SKUs, never counts,
// where counting cost a Map per SKU and two lookups per reserve (docs/benchmarks.md, "Customers
// counted only where the limit can bite").
//
// At most one of `sole` and `open` is set; `open`, when set, holds two or more; `customers` is
// set only with `open`, and then counts every open hold. Every open reservation's id is its SKU's
// id for its number (`assertOpenFiled`), so a lookup by id is a lookup by the number in it.

import assert from 'node:assert/strict';
import { CustomerCounts } from './customer-counts.js';
import { HoldsByNumber } from './holds-by-number.js';
import { reservationNoAtEnd, reservationNoIn } from './reservation-id.js';
import type { SkuState } from './sku.js';
import type { Reservation } from './types.js';

export function openCount(state: SkuState): number {
  return state.open !== null ? state.open.size : state.sole !== null ? 1 : 0;
}

/** The open reservation with this id, or undefined. */
export function openReservation(state: SkuState | undefined, reservationId: string): Reservation | undefined {
  if (!state) return undefined;
  if (state.open === null) return state.sole !== null && state.sole.id === reservationId ? state.sole : undefined;
  // The hold under the id's number is the one asked for only if it has that very id: another
  // SKU's id, or another spelling of the number, names no open hold of this SKU.
  const no = reservationNoAtEnd(reservationId);
  const r = no < 0 ? undefined : state.open.get(no);
  return r !== undefined && r.id === reservationId ? r : undefined;
}

export function openReservations(state: SkuState): Iterable<Reservation> {
  return state.open !== null ? state.open.values() : state.sole !== null ? [state.sole] : [];
}

/**
 * Whether `customerId` already has `max` open reservations on this SKU (anti-hoarding). With
 * fewer than `max` holds open nobody has; otherwise the counts are made now if they are not kept
 * yet, and kept from then on (addOpen, removeOpen).
 */
export function customerAtLimit(state: SkuState, customerId: string, max: number): boolean {
  if (openCount(state) < max) return false;
  const open = state.open;
  // One hold open and a limit of one: the only customer who has reached it is the sole hold's.
  if (open === null) return state.sole!.customerId === customerId;
  const customers = (state.customers ??= customersOf(open.values()));
  return (customers.get(customerId) ?? 0) >= max;
}

export function addOpen(state: SkuState, r: Reservation): void {
  if (state.open === null && state.sole === null) {
    state.sole = r;
    return;
  }
  if (state.open === null) {
    const sole = state.sole!;
    const open = new HoldsByNumber();
    open.add(sole);
    if (!open.add(r)) assert.fail(`reservation ${r.id} placed twice`);
    state.open = open;
    state.sole = null;
    return;
  }
  if (!state.open.add(r)) assert.fail(`reservation ${r.id} placed twice`);
  state.customers?.increment(r.customerId);
}

export function removeOpen(state: SkuState, r: Reservation): void {
  if (state.open === null) {
    if (state.sole !== r) assert.fail(`reservation ${r.id} is not open`);
    state.sole = null;
    return;
  }
  const open = state.open;
  if (open.get(r.arrival) !== r) assert.fail(`reservation ${r.id} is not open`);
  if (open.size === 2) {
    // Back to one: the other becomes the sole hold, and the holds by number and any customer counts go.
    for (const other of open.values()) if (other !== r) state.sole = other;
    state.open = null;
    state.customers = null;
    return;
  }
  open.delete(r);
  state.customers?.decrement(r.customerId);
}

/** The open-reservation fields of a state holding `reservations` (a snapshot's, restored; counted when first needed). */
export function openHoldsOf(reservations: Reservation[]): Pick<SkuState, 'sole' | 'open' | 'customers'> {
  if (reservations.length <= 1) return { sole: reservations[0] ?? null, open: null, customers: null };
  const open = new HoldsByNumber();
  for (const r of reservations) if (!open.add(r)) throw new Error(`reservation ${r.id} restored twice`);
  return { sole: null, open, customers: null };
}

/**
 * Each open reservation's id is its SKU's id for its number, and `open` files it under that
 * number: what `openReservation` relies on to find a hold by the number in an id.
 */
export function assertOpenFiled(state: SkuState): void {
  const { sole, open } = state;
  if (sole !== null && reservationNoIn(state.sku, sole.id) !== sole.arrival) assert.fail(`reservation ${sole.id} is not number ${sole.arrival} of ${state.sku}`);
  if (open === null) return;
  if (!open.countsAgree()) assert.fail(`open holds of ${state.sku} miscounted`);
  for (const [no, r] of open.entries()) {
    if (r.arrival !== no || reservationNoIn(state.sku, r.id) !== no) assert.fail(`reservation ${r.id} filed as number ${no} of ${state.sku}`);
  }
}

/** Open reservations per customer, counted from the reservations themselves. */
export function customersOf(open: Iterable<Reservation>): CustomerCounts {
  const customers = new CustomerCounts();
  for (const r of open) customers.increment(r.customerId);
  return customers;
}
