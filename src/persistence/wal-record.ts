// A WAL record in Stockade's own byte layout (binary-block.ts), written event by event as a turn
// decides them and read straight back into the events replay applies.
//
// Why not msgpackr, as before: a turn turned each reserve into a 19-field tuple and an
// allocations array for msgpackr to walk, and recovery built the reservation back from the tuple
// msgpackr made. Written field by field, a turn of 64 reserves encodes 2.6× faster into a record
// half the size, and the in-process shard answered 15–22 % more reserves per second
// (docs/benchmarks.md, "WAL records in Stockade's own layout"). Recovery reads each reservation
// straight into its final object, and a SKU, channel or location named again in the same record
// is the string already read; it was not faster for it, within this machine's spread: each
// string costs a native call here, where msgpackr extracts a value's strings in one.
//
// Layout, version 1 — the on-disk format: a new field means a new version, read alongside this one.
//   marker 0xC1 (a byte msgpack never starts a value with, so records written before this layout,
//   one msgpackr value each, are told apart by their first byte), version, seq, at, event count
//   (4 bytes, little-endian: filled in when the record is finished), then per event:
//     kind
//     kind 0 (any other event): the event as one msgpackr value (RecordCodec), length first
//     else: sku (name), at (relative to the record's at: binary-block.ts), idempotency key
//       placed:     the reservation: id, orderId, customerId, idempotencyKey (strings), channel
//                   (name), state, allowPartial (0/1), requested, quantity, priority, arrival,
//                   holdTtlMs, createdAt, activatedAt, expiresAt, endedAt (times relative to
//                   the record's at), allocations (count, then location name and quantity each),
//                   restricted locations (0 for none, else count + 1, then names), endReason:
//                   a snapshot block's reservation without its WAL position
//                   (reservation-block.ts, writeReservation)
//       activated:  reservationId, allocations, expiresAt, prevSeq, prevIndex
//       released:   reservationId, reason (nullable), prevSeq, prevIndex
//       committed, expired: reservationId, prevSeq, prevIndex
//   The idempotency key: 0 none, 1 the placed reservation's own key, 2 a string follows.
//   prevSeq, prevIndex: where the reservation's previous event is (codec.ts PrevLink; 0: none).
// A name is a NameTable index (binary-block.ts): SKUs, channels and locations share one table
// per record.

import type { ReservationPlaced, SkuEvent } from '../actors/types.js';
import { BlockReader, BlockWriter, NameTable, readName } from './binary-block.js';
import { readAllocations, readReservation, writeAllocations, writeReservation } from './reservation-block.js';

/** The first byte of every record in this layout. */
export const WAL_RECORD_MARKER = 0xc1;
const VERSION = 1;

const OTHER = 0;
const PLACED = 1;
const ACTIVATED = 2;
const RELEASED = 3;
const COMMITTED = 4;
const EXPIRED = 5;

const IDEM_NONE = 0;
const IDEM_OWN = 1;
const IDEM_STRING = 2;

/** Room to start a record with, per event: a reserve with short ids takes ~80 bytes. */
const EXPECTED_BYTES_PER_EVENT = 128;

/** An event as a record holds it, the link to the reservation's previous event included. */
type LinkedEvent = SkuEvent & { prevSeq?: number; prevIndex?: number };

export interface DecodedWalRecord {
  seq: number;
  at: number;
  /** Events as the domain knows them; reservation changes carry `prevSeq` and `prevIndex`. */
  events: SkuEvent[];
}

/**
 * Writes one record at a time (a shard turn's), each event as it is decided: a placed
 * reservation's values are taken then, before the SKU's state starts changing it.
 */
export class WalRecordWriter {
  private readonly writer = new BlockWriter();
  private readonly names = new NameTable();
  private at = 0;
  /** Where the event count goes, once known. */
  private countAt = 0;
  /** Events in the record being written. */
  count = 0;

  /** `packOther`: the msgpackr encoding of an event this layout has no kind for. */
  constructor(private readonly packOther: (event: SkuEvent) => Uint8Array) {}

  begin(seq: number, at: number, expectedEvents = 1): void {
    this.writer.reset(expectedEvents * EXPECTED_BYTES_PER_EVENT + 32);
    this.names.clear();
    this.at = at;
    this.count = 0;
    this.writer.byte(WAL_RECORD_MARKER);
    this.writer.number(VERSION);
    this.writer.number(seq);
    this.writer.number(at);
    this.countAt = this.writer.placeholder32();
  }

  /** Append an event; `prevSeq`/`prevIndex`: where its reservation's previous event is (changes only). */
  add(event: SkuEvent, prevSeq: number, prevIndex: number): void {
    const w = this.writer;
    switch (event.type) {
      case 'ReservationPlaced': {
        const r = event.reservation;
        this.common(PLACED, event, event.idem === undefined ? IDEM_NONE : event.idem === r.idempotencyKey ? IDEM_OWN : IDEM_STRING);
        writeReservation(w, r, this.names, this.names, this.at, false, null);
        break;
      }
      case 'ReservationActivated':
        this.common(ACTIVATED, event, event.idem === undefined ? IDEM_NONE : IDEM_STRING);
        w.string(event.reservationId);
        writeAllocations(w, event.allocations, this.names);
        w.relative(event.expiresAt, this.at);
        this.link(prevSeq, prevIndex);
        break;
      case 'ReservationReleased':
        this.common(RELEASED, event, event.idem === undefined ? IDEM_NONE : IDEM_STRING);
        w.string(event.reservationId);
        w.nullableString(event.reason ?? null);
        this.link(prevSeq, prevIndex);
        break;
      case 'ReservationCommitted':
      case 'ReservationExpired':
        this.common(event.type === 'ReservationCommitted' ? COMMITTED : EXPIRED, event, event.idem === undefined ? IDEM_NONE : IDEM_STRING);
        w.string(event.reservationId);
        this.link(prevSeq, prevIndex);
        break;
      default: {
        w.number(OTHER);
        // Bumped is the one other reservation change: its link rides in the msgpackr value.
        const other = event.type === 'ReservationBumped' ? { ...event, prevSeq, prevIndex } : event;
        w.byteString(this.packOther(other));
      }
    }
    this.count++;
  }

  /** The record written since `begin`: a view the writer never touches again (LMDB reads it at commit). */
  finish(): Buffer {
    this.writer.fill32(this.countAt, this.count);
    return this.writer.finish();
  }

  private common(kind: number, event: SkuEvent, idem: number): void {
    const w = this.writer;
    w.number(kind);
    this.names.write(w, event.sku);
    w.relative(event.at, this.at);
    w.number(idem);
    if (idem === IDEM_STRING) w.string(event.idem!);
  }

  private link(prevSeq: number, prevIndex: number): void {
    this.writer.number(prevSeq);
    this.writer.number(prevIndex);
  }
}

export function isWalRecordLayout(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === WAL_RECORD_MARKER;
}

/**
 * The events of a record in this layout, ready to apply: each placed reservation is a fresh
 * object the caller may keep. A damaged record throws, naming what is wrong.
 */
export function decodeWalRecord(bytes: Buffer, unpackOther: (bytes: Buffer) => SkuEvent): DecodedWalRecord {
  // Which event is being read, for the message: the labels passed down are constants, so reading
  // builds no string unless the record is damaged.
  let current = -1;
  const reader = new BlockReader(bytes, (what) => new Error(`WAL record damaged (${current < 0 ? what : `event ${current}: ${what}`})`));
  if (reader.byte() !== WAL_RECORD_MARKER) throw new Error('WAL record damaged (not in the record layout)');
  const version = reader.number();
  if (version !== VERSION) throw new Error(`WAL record format version ${version} is not known to this version of Stockade`);
  const seq = reader.index(Number.MAX_SAFE_INTEGER, 'seq');
  const at = reader.number();
  const count = reader.uint32();
  const names: string[] = [];
  const events: SkuEvent[] = [];
  for (current = 0; current < count; current++) {
    const kind = reader.index(EXPIRED, 'kind');
    if (kind === OTHER) {
      events.push(unpackOther(reader.byteString()));
      continue;
    }
    const sku = readName(reader, names, 'SKU');
    const eventAt = reader.relative(at);
    const idemCode = reader.index(IDEM_STRING, 'idempotency key');
    if (idemCode === IDEM_OWN && kind !== PLACED) throw reader.damage('idempotency key');
    const idem = idemCode === IDEM_STRING ? reader.string() : undefined;
    events.push(kind === PLACED ? placedOf(reader, names, sku, eventAt, idemCode, idem, at) : changeOf(reader, names, kind, sku, eventAt, idem, at));
  }
  current = -1;
  if (!reader.done) throw new Error(`WAL record damaged (bytes left over after ${count} events)`);
  return { seq, at, events };
}

function placedOf(reader: BlockReader, names: string[], sku: string, eventAt: number, idemCode: number, idem: string | undefined, at: number): ReservationPlaced {
  const reservation = readReservation(reader, sku, names, names, at, false, null);
  const event: ReservationPlaced = { type: 'ReservationPlaced', sku, at: eventAt, reservation };
  if (idemCode !== IDEM_NONE) event.idem = idemCode === IDEM_OWN ? reservation.idempotencyKey : idem;
  return event;
}

function changeOf(reader: BlockReader, names: string[], kind: number, sku: string, at: number, idem: string | undefined, recordAt: number): LinkedEvent {
  const reservationId = reader.string();
  let event: LinkedEvent;
  if (kind === ACTIVATED) {
    const allocations = readAllocations(reader, names);
    event = { type: 'ReservationActivated', sku, at, reservationId, allocations, expiresAt: reader.relative(recordAt) };
  } else if (kind === RELEASED) {
    const reason = reader.nullableString();
    event = { type: 'ReservationReleased', sku, at, reservationId };
    if (reason !== null) event.reason = reason;
  } else {
    event = { type: kind === COMMITTED ? 'ReservationCommitted' : 'ReservationExpired', sku, at, reservationId };
  }
  if (idem !== undefined) event.idem = idem;
  event.prevSeq = reader.index(Number.MAX_SAFE_INTEGER, 'link');
  event.prevIndex = reader.index(Number.MAX_SAFE_INTEGER, 'link');
  return event;
}
