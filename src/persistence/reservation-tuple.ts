// A reservation as the WAL stores it: a fixed-order array instead of a 20-field record.
//
// A reserve's WAL event is mostly its reservation. msgpackr writes a record by walking its keys
// through a structure table; an array of the same values packs in about half the time
// (`npm run bench:micro`, "record encoding").
//
// The order below is the on-disk format: append new fields at the end, never reorder. `sku` is
// left out (the event around the tuple carries it). A WAL event writes the first 19 fields: where
// the reservation is in the WAL is where the event itself is. Snapshots written before blocks
// (reservation-block.ts) hold tuples too, with `walSeq` and `walIndex` appended: the
// reservation's latest event; they are still read. Records written before tuples (plain
// reservation objects) are read as well: `isReservationTuple` tells them apart.

import type { Allocation, Reservation, ReservationState } from '../actors/types.js';

export type ReservationTuple = [
  id: string,
  orderId: string,
  customerId: string,
  channel: string,
  idempotencyKey: string,
  requested: number,
  quantity: number,
  /** Allocations flattened: location, quantity, location, quantity, … */
  allocations: (string | number)[],
  priority: number,
  arrival: number,
  allowPartial: boolean,
  locations: string[] | null,
  holdTtlMs: number,
  state: ReservationState,
  createdAt: number,
  activatedAt: number,
  expiresAt: number,
  endedAt: number,
  endReason: string | null,
  /** Snapshots written before blocks only; absent in WAL events and in snapshots before them. */
  walSeq?: number,
  walIndex?: number,
];

/** The fields every stored tuple has: a shorter one is damage. */
const TUPLE_LENGTH = 19;

export function reservationTuple(r: Reservation): ReservationTuple {
  const a = r.allocations;
  const flat: (string | number)[] = new Array(a.length * 2);
  for (let i = 0; i < a.length; i++) {
    flat[2 * i] = a[i].location;
    flat[2 * i + 1] = a[i].quantity;
  }
  return [
    r.id,
    r.orderId,
    r.customerId,
    r.channel,
    r.idempotencyKey,
    r.requested,
    r.quantity,
    flat,
    r.priority,
    r.arrival,
    r.allowPartial,
    r.locations,
    r.holdTtlMs,
    r.state,
    r.createdAt,
    r.activatedAt,
    r.expiresAt,
    r.endedAt,
    r.endReason,
  ];
}

export function isReservationTuple(stored: ReservationTuple | Reservation): stored is ReservationTuple {
  return Array.isArray(stored);
}

/**
 * The reservation a tuple stores. A shorter tuple is damage, not a format: refuse it. A longer one
 * comes from a version that appended fields; the fields this version knows still read.
 */
export function reservationOfTuple(t: ReservationTuple, sku: string): Reservation {
  if (t.length < TUPLE_LENGTH) throw new Error(`stored reservation of SKU ${sku} has ${t.length} fields, expected ${TUPLE_LENGTH}`);
  const flat = t[7];
  const allocations: Allocation[] = new Array(flat.length >> 1);
  for (let i = 0; i < allocations.length; i++) allocations[i] = { location: flat[2 * i] as string, quantity: flat[2 * i + 1] as number };
  return {
    id: t[0],
    sku,
    orderId: t[1],
    customerId: t[2],
    channel: t[3],
    idempotencyKey: t[4],
    requested: t[5],
    quantity: t[6],
    allocations,
    priority: t[8],
    arrival: t[9],
    allowPartial: t[10],
    locations: t[11],
    holdTtlMs: t[12],
    state: t[13],
    createdAt: t[14],
    activatedAt: t[15],
    expiresAt: t[16],
    endedAt: t[17],
    endReason: t[18],
    // Read within bounds only: a load past an array's end takes V8's slow path.
    walSeq: t.length > 19 ? t[19]! : 0,
    walIndex: t.length > 20 ? t[20]! : 0,
  };
}

/** Either stored form, as a reservation. */
export function storedReservation(stored: ReservationTuple | Reservation, sku: string): Reservation {
  if (isReservationTuple(stored)) return reservationOfTuple(stored, sku);
  // Objects were stored before the WAL position was kept.
  stored.walSeq ??= 0;
  stored.walIndex ??= 0;
  return stored;
}
