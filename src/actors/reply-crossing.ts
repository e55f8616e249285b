// Replies cross from a shard's worker thread to the engine by structured clone, which writes and
// reads every object's keys as strings. A reservation answer (14 fields and an allocations array
// of objects) is the common reply and cost 2-5 µs per reply to clone; as a flat array of its
// values it costs about 0.7 µs including the rebuild (docs/benchmarks.md). Only reservation
// answers are flattened; every other reply crosses as it is.

import { singleAllocation } from './shared-allocations.js';
import type { Allocation, Command, Reply, ReservationView } from './types.js';

/** The reservation view's values in its key order; allocations as [location, quantity, …]. */
type FlatView = (string | number | null | (string | number)[])[];

/** A reply as it crosses: a flattened reservation answer carries `flat` instead of `value`. */
export type CrossingReply = Reply | { ok: true; flat: FlatView; replayed?: true };

/** Commands whose successful answer is a reservation view. */
const ANSWERED_WITH_A_RESERVATION = new Set<Command['type']>(['reserve', 'release', 'commit', 'getReservation']);

function flatten(view: ReservationView): FlatView {
  const allocations: (string | number)[] = [];
  const list = view.allocations;
  for (let i = 0; i < list.length; i++) allocations.push(list[i].location, list[i].quantity);
  return [view.reservationId, view.sku, view.state, view.orderId, view.customerId, view.channel, view.requested, view.quantity, allocations, view.priority, view.createdAt, view.expiresAt, view.endedAt, view.endReason];
}

// Typed as ReservationView, this literal stops compiling when the view gains a field: flatten()
// must then carry it too. Key order is reservationView()'s, so JSON answers read the same.
function rebuild(flat: FlatView): ReservationView {
  const pairs = flat[8] as (string | number)[];
  let allocations: ReservationView['allocations'];
  if (pairs.length === 2) allocations = singleAllocation(pairs[0] as string, pairs[1] as number);
  else {
    const several: Allocation[] = [];
    for (let i = 0; i < pairs.length; i += 2) several.push({ location: pairs[i] as string, quantity: pairs[i + 1] as number });
    allocations = several;
  }
  return {
    reservationId: flat[0] as string,
    sku: flat[1] as string,
    state: flat[2] as ReservationView['state'],
    orderId: flat[3] as string,
    customerId: flat[4] as string,
    channel: flat[5] as string,
    requested: flat[6] as number,
    quantity: flat[7] as number,
    allocations,
    priority: flat[9] as number,
    createdAt: flat[10] as number,
    expiresAt: flat[11] as number,
    endedAt: flat[12] as number,
    endReason: flat[13] as string | null,
  };
}

function isReservationView(value: unknown): value is ReservationView {
  const v = value as Partial<ReservationView> | null;
  return typeof v === 'object' && v !== null && typeof v.reservationId === 'string' && Array.isArray(v.allocations);
}

/** In the worker: the replies of one batch, reservation answers flattened. */
export function toCrossing(commands: readonly Command[], replies: Reply[]): CrossingReply[] {
  const out: CrossingReply[] = new Array(replies.length);
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i];
    if (reply.ok && ANSWERED_WITH_A_RESERVATION.has(commands[i].type) && isReservationView(reply.value)) {
      out[i] = reply.replayed ? { ok: true, flat: flatten(reply.value), replayed: true } : { ok: true, flat: flatten(reply.value) };
    } else out[i] = reply;
  }
  return out;
}

/** In the engine: the reply as the shard gave it. */
export function fromCrossing(reply: CrossingReply): Reply {
  if (!('flat' in reply)) return reply;
  return reply.replayed ? { ok: true, value: rebuild(reply.flat), replayed: true } : { ok: true, value: rebuild(reply.flat) };
}
