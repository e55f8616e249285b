// A reservation as msgpackr WAL records stored it: a fixed-order array instead of a 20-field
// record. Nothing writes tuples any more — WAL records have their own layout (wal-record.ts),
// snapshots blocks (reservation-block.ts) — but data written by earlier versions holds them, so
// they are still read.
//
// The order below is that on-disk format. `sku` is left out (the event around the tuple carries
// it). A WAL event held the first 19 fields: where the reservation is in the WAL is where the
// event itself is. Snapshots written before blocks hold tuples too, with `walSeq` and `walIndex`
// appended: the reservation's latest event. Records written before tuples (plain reservation
// objects) are read as well: `isReservationTuple` tells them apart.

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
