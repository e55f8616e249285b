// A SKU's open reservations as a snapshot stores them: one byte block (binary-block.ts), not a
// tuple per reservation.
//
// A checkpoint writes every open reservation of every SKU that changed, in one turn of its shard.
// With a tuple per reservation, a hot SKU's 150,000 holds stalled that turn for most of a second,
// mostly in building the tuples and in the collections their allocation set off
// (docs/benchmarks.md, "A hot SKU's checkpoint").
//
// Layout, version 3 — the on-disk format: a new field means a new version, read alongside this one.
//   version, count, then (when count > 0) the time base: the first reservation's createdAt
//   per reservation:
//     id, orderId, customerId, idempotencyKey                       strings; the id is empty when
//                                                                   it is the SKU's own for the
//                                                                   reservation's number (arrival)
//     channel                                                       name reference
//     state code, allowPartial (0/1), requested, quantity, priority, arrival, holdTtlMs,
//     createdAt, activatedAt, expiresAt, endedAt, walSeq, walIndex  numbers, the times relative to
//                                                                   the time base
//     allocation count, then per allocation: location, quantity     name reference, number
//     restricted locations: 0 for none, else count + 1, then names  strings
//     endReason                                                     nullable string
// A name reference is the index of a channel or location named earlier in the block; the index
// one past the last named is a new name, and its string follows. Channels and locations repeat
// across a SKU's holds, so each is written once.
// Version 1 (read only) had no time base, wrote every time whole and every id in full. Version 3
// spares what a hot SKU's checkpoint wrote for each hold to no purpose: its id, which the SKU and
// its number spell, and four ~41-bit times, which took the varint's slow path (docs/benchmarks.md,
// "Snapshot blocks without what the SKU already says"). Version 2 is not a layout: see IN_PAGES_BLOCK.

import type { Allocation, Reservation, ReservationState } from '../actors/types.js';
import { NO_ALLOCATIONS, singleAllocation } from '../actors/shared-allocations.js';
import { reservationIdOf, reservationNoIn } from '../actors/reservation-id.js';
import { BlockReader, BlockWriter, NameTable, readName } from './binary-block.js';

const VERSION = 3;
/** Times written whole, ids in full. */
const VERSION_WHOLE = 1;
/** The marker IN_PAGES_BLOCK is (below). */
const VERSION_IN_PAGES = 2;
/** A reservation's state as one number; the WAL's own records (wal-record.ts) use the same codes. */
export const STATES: readonly ReservationState[] = ['PENDING', 'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'];
export const STATE_CODES = new Map(STATES.map((state, code) => [state, code]));

// One writer per thread: its memory is reused by every snapshot the thread writes.
const writer = new BlockWriter();
/** Room to start a block with, per reservation: ~92 bytes were measured with short ids. */
const EXPECTED_BYTES_PER_RESERVATION = 128;

/** `sku`: the SKU whose holds `open` are (the ids it spells are left out). */
export function reservationBlock(sku: string, open: Iterable<Reservation>, count: number): Buffer {
  writer.reset(count * EXPECTED_BYTES_PER_RESERVATION);
  writer.number(VERSION);
  writer.number(count);
  const channels = new NameTable();
  const locations = new NameTable();
  let written = 0;
  let timeBase = 0;
  for (const r of open) {
    if (written === count) throw new Error(`more than the ${count} reservations announced`);
    if (written === 0) writer.number((timeBase = r.createdAt));
    writeReservation(writer, r, channels, locations, timeBase, true, sku);
    written++;
  }
  if (written !== count) throw new Error(`${written} reservations where ${count} were announced`);
  return writer.finish();
}

/**
 * What a SKU checkpointed in pages (snapshot-pages.ts) has where its block would be: the bare
 * version number 2 (the pages' own blocks are version 1). This version reads the pages instead;
 * a version before pages would read this and restore the SKU without its holds, so it is given a
 * version it does not know, and refuses to start rather than lose them.
 */
export const IN_PAGES_BLOCK: Buffer = (() => {
  const marker = new BlockWriter();
  marker.reset(8);
  marker.number(VERSION_IN_PAGES);
  return Buffer.from(marker.finish());
})();

/** The reservations of a stored block, in the order they were written. A damaged block throws. */
export function reservationsOfBlock(block: Buffer, sku: string): Reservation[] {
  // Which reservation is being read, for the message: the labels passed down are constants, so
  // reading builds no string unless the block is damaged.
  let current = -1;
  const reader = new BlockReader(block, (what) => new Error(`snapshot of SKU ${sku}: reservation block damaged (${current < 0 ? what : `${what} of reservation ${current}`})`));
  const version = reader.number();
  if (version !== VERSION && version !== VERSION_WHOLE) throw new Error(`snapshot of SKU ${sku}: reservation block version ${version} is not known to this version of Stockade`);
  // Every reservation takes at least a byte: a count beyond the block's size is damage.
  const count = reader.index(block.length, 'count');
  const whole = version === VERSION_WHOLE;
  const timeBase = whole || count === 0 ? null : reader.number();
  const idsOf = whole ? null : sku;
  const channels: string[] = [];
  const locations: string[] = [];
  const reservations: Reservation[] = [];
  for (current = 0; current < count; current++) reservations.push(readReservation(reader, sku, channels, locations, timeBase, true, idsOf));
  if (!reader.done) throw new Error(`snapshot of SKU ${sku}: reservation block damaged (bytes left over after ${count} reservations)`);
  return reservations;
}

/**
 * A reservation's fields, in the order both of its byte forms share: a snapshot block's (above)
 * and a WAL record's placed event (wal-record.ts). `timeBase` null writes times as they are (the
 * block); a number writes them relative to it (the record: BlockWriter.relative). With
 * `withWalPosition` the reservation's latest WAL event follows its times (the block); a WAL event
 * is that event itself, so the record leaves it out. `channels` and `locations` may be one table.
 * `idsOf`: a SKU whose own ids (reservationIdOf the SKU and the reservation's number) are written
 * empty (the block); null writes every id (the record).
 */
export function writeReservation(w: BlockWriter, r: Reservation, channels: NameTable, locations: NameTable, timeBase: number | null, withWalPosition: boolean, idsOf: string | null): void {
  // Parsing the id allocates nothing; an id is never empty, so empty can stand for "the SKU's own".
  w.string(idsOf !== null && reservationNoIn(idsOf, r.id) === r.arrival ? '' : r.id);
  w.string(r.orderId);
  w.string(r.customerId);
  w.string(r.idempotencyKey);
  channels.write(w, r.channel);
  w.number(STATE_CODES.get(r.state)!);
  w.number(r.allowPartial ? 1 : 0);
  w.number(r.requested);
  w.number(r.quantity);
  w.number(r.priority);
  w.number(r.arrival);
  w.number(r.holdTtlMs);
  writeTime(w, r.createdAt, timeBase);
  writeTime(w, r.activatedAt, timeBase);
  writeTime(w, r.expiresAt, timeBase);
  writeTime(w, r.endedAt, timeBase);
  if (withWalPosition) {
    w.number(r.walSeq);
    w.number(r.walIndex);
  }
  writeAllocations(w, r.allocations, locations);
  if (r.locations === null) w.number(0);
  else {
    w.number(r.locations.length + 1);
    for (const name of r.locations) w.string(name);
  }
  w.nullableString(r.endReason);
}

/** What `writeReservation` wrote, with the same `timeBase`, `withWalPosition` and `idsOf`; `sku` is not in the bytes. */
export function readReservation(reader: BlockReader, sku: string, channels: string[], locations: string[], timeBase: number | null, withWalPosition: boolean, idsOf: string | null): Reservation {
  let id = reader.string();
  const orderId = reader.string();
  const customerId = reader.string();
  const idempotencyKey = reader.string();
  const channel = readName(reader, channels, 'channel');
  const state = STATES[reader.index(STATES.length - 1, 'state')];
  const allowPartial = reader.index(1, 'allowPartial') === 1;
  const requested = reader.number();
  const quantity = reader.number();
  const priority = reader.number();
  const arrival = reader.number();
  const holdTtlMs = reader.number();
  const createdAt = readTime(reader, timeBase);
  const activatedAt = readTime(reader, timeBase);
  const expiresAt = readTime(reader, timeBase);
  const endedAt = readTime(reader, timeBase);
  const walSeq = withWalPosition ? reader.number() : 0;
  const walIndex = withWalPosition ? reader.number() : 0;
  const allocations = readAllocations(reader, locations);
  // Each name takes at least a byte: a count beyond the bytes is damage.
  const restricted = reader.index(reader.source.length, 'restricted locations');
  let only: string[] | null = null;
  if (restricted > 0) {
    only = new Array(restricted - 1);
    for (let k = 0; k < only.length; k++) only[k] = reader.string();
  }
  const endReason = reader.nullableString();
  if (id === '' && idsOf !== null) id = reservationIdOf(idsOf, arrival);
  // The same fields in the same order as every other reservation the shard makes (sku.ts), so
  // V8 gives restored, replayed and live reservations one shape.
  return {
    id,
    sku,
    orderId,
    customerId,
    channel,
    idempotencyKey,
    requested,
    quantity,
    allocations,
    priority,
    arrival,
    allowPartial,
    locations: only,
    holdTtlMs,
    state,
    createdAt,
    activatedAt,
    expiresAt,
    endedAt,
    endReason,
    walSeq,
    walIndex,
  };
}

/** Allocations: their count, then each location's name and its quantity. */
export function writeAllocations(w: BlockWriter, allocations: readonly Allocation[], locations: NameTable): void {
  w.number(allocations.length);
  for (let i = 0; i < allocations.length; i++) {
    const a = allocations[i];
    locations.write(w, a.location);
    w.number(a.quantity);
  }
}

export function readAllocations(reader: BlockReader, locations: string[]): readonly Allocation[] {
  // Each allocation takes at least two bytes: a count beyond the bytes is damage.
  const count = reader.index(reader.source.length, 'allocations');
  // The common lists are shared (shared-allocations.ts): a replayed hold then owns no list.
  if (count === 0) return NO_ALLOCATIONS;
  if (count === 1) return singleAllocation(readName(reader, locations, 'allocation location'), reader.number());
  const allocations: Allocation[] = new Array(count);
  for (let k = 0; k < count; k++) {
    allocations[k] = { location: readName(reader, locations, 'allocation location'), quantity: reader.number() };
  }
  return allocations;
}

function writeTime(w: BlockWriter, time: number, base: number | null): void {
  if (base === null) w.number(time);
  else w.relative(time, base);
}

function readTime(reader: BlockReader, base: number | null): number {
  return base === null ? reader.number() : reader.relative(base);
}
