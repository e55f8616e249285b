// A SKU's open reservations as a snapshot stores them: one byte block (binary-block.ts), not a
// tuple per reservation.
//
// A checkpoint writes every open reservation of every SKU that changed, in one turn of its shard.
// With a tuple per reservation, a hot SKU's 150,000 holds stalled that turn for most of a second,
// mostly in building the tuples and in the collections their allocation set off
// (docs/benchmarks.md, "A hot SKU's checkpoint").
//
// Layout, version 1 — the on-disk format: a new field means a new version, read alongside this one.
//   version, count
//   per reservation:
//     id, orderId, customerId, idempotencyKey                       strings
//     channel                                                       name reference
//     state code, allowPartial (0/1), requested, quantity, priority, arrival, holdTtlMs,
//     createdAt, activatedAt, expiresAt, endedAt, walSeq, walIndex  numbers
//     allocation count, then per allocation: location, quantity     name reference, number
//     restricted locations: 0 for none, else count + 1, then names  strings
//     endReason                                                     nullable string
// A name reference is the index of a channel or location named earlier in the block; the index
// one past the last named is a new name, and its string follows. Channels and locations repeat
// across a SKU's holds, so each is written once.

import type { Allocation, Reservation, ReservationState } from '../actors/types.js';
import { BlockReader, BlockWriter, NameTable, readName } from './binary-block.js';

const VERSION = 1;
/** A reservation's state as one number; the WAL's own records (wal-record.ts) use the same codes. */
export const STATES: readonly ReservationState[] = ['PENDING', 'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'];
export const STATE_CODES = new Map(STATES.map((state, code) => [state, code]));

// One writer per thread: its memory is reused by every snapshot the thread writes.
const writer = new BlockWriter();
/** Room to start a block with, per reservation: ~92 bytes were measured with short ids. */
const EXPECTED_BYTES_PER_RESERVATION = 128;

export function reservationBlock(open: Iterable<Reservation>, count: number): Buffer {
  writer.reset(count * EXPECTED_BYTES_PER_RESERVATION);
  writer.number(VERSION);
  writer.number(count);
  const channels = new NameTable();
  const locations = new NameTable();
  let written = 0;
  for (const r of open) {
    if (written === count) throw new Error(`more than the ${count} reservations announced`);
    writer.string(r.id);
    writer.string(r.orderId);
    writer.string(r.customerId);
    writer.string(r.idempotencyKey);
    channels.write(writer, r.channel);
    writer.number(STATE_CODES.get(r.state)!);
    writer.number(r.allowPartial ? 1 : 0);
    writer.number(r.requested);
    writer.number(r.quantity);
    writer.number(r.priority);
    writer.number(r.arrival);
    writer.number(r.holdTtlMs);
    writer.number(r.createdAt);
    writer.number(r.activatedAt);
    writer.number(r.expiresAt);
    writer.number(r.endedAt);
    writer.number(r.walSeq);
    writer.number(r.walIndex);
    writer.number(r.allocations.length);
    for (const a of r.allocations) {
      locations.write(writer, a.location);
      writer.number(a.quantity);
    }
    if (r.locations === null) writer.number(0);
    else {
      writer.number(r.locations.length + 1);
      for (const name of r.locations) writer.string(name);
    }
    writer.nullableString(r.endReason);
    written++;
  }
  if (written !== count) throw new Error(`${written} reservations where ${count} were announced`);
  return writer.finish();
}

/** The reservations of a stored block, in the order they were written. A damaged block throws. */
export function reservationsOfBlock(block: Buffer, sku: string): Reservation[] {
  // Which reservation is being read, for the message: the labels passed down are constants, so
  // reading builds no string unless the block is damaged.
  let current = -1;
  const reader = new BlockReader(block, (what) => new Error(`snapshot of SKU ${sku}: reservation block damaged (${current < 0 ? what : `${what} of reservation ${current}`})`));
  const version = reader.number();
  if (version !== VERSION) throw new Error(`snapshot of SKU ${sku}: reservation block version ${version} is not known to this version of Stockade`);
  // Every reservation takes at least a byte: a count beyond the block's size is damage.
  const count = reader.index(block.length, 'count');
  const channels: string[] = [];
  const locations: string[] = [];
  const reservations: Reservation[] = [];
  for (current = 0; current < count; current++) {
    const id = reader.string();
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
    const createdAt = reader.number();
    const activatedAt = reader.number();
    const expiresAt = reader.number();
    const endedAt = reader.number();
    const walSeq = reader.number();
    const walIndex = reader.number();
    const allocations: Allocation[] = new Array(reader.index(block.length, 'allocations'));
    for (let k = 0; k < allocations.length; k++) {
      allocations[k] = { location: readName(reader, locations, 'allocation location'), quantity: reader.number() };
    }
    const restricted = reader.index(block.length, 'restricted locations');
    let only: string[] | null = null;
    if (restricted > 0) {
      only = new Array(restricted - 1);
      for (let k = 0; k < only.length; k++) only[k] = reader.string();
    }
    const endReason = reader.nullableString();
    reservations.push({
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
    });
  }
  if (!reader.done) throw new Error(`snapshot of SKU ${sku}: reservation block damaged (bytes left over after ${count} reservations)`);
  return reservations;
}
