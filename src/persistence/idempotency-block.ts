// A SKU's remembered idempotency keys as a snapshot stores them: one byte block (binary-block.ts),
// read straight back into the log recovery keeps them in (IdempotencyLog), with no tuple per key
// on either side. A hot SKU remembers a key per reserve, as many as it has holds and more.
//
// Layout, version 2 — the on-disk format: a new field means a new version, read alongside this one.
//   version, count, then (when count > 0) the time base: the oldest key's time
//   per key, oldest first: key (string), kind (number, KINDS), reservation (number: the SKU's
//   reservation number + 1 for the SKU's own id, else 0 and the id as a string), at (number,
//   relative to the time base)
// Version 1 (read only) wrote every reservation id in full and every time whole: a hot SKU's
// checkpoint wrote both for each of its keys, one per reserve.

import type { IdempotentKind } from '../actors/sku.js';
import { IdempotencyLog, KIND_CODE, KINDS, type KeyWriter } from '../actors/idempotency-log.js';
import { reservationIdOf, reservationNoIn, reservationNoInBytes } from '../actors/reservation-id.js';
import { BlockReader, BlockWriter } from './binary-block.js';

const VERSION = 2;
/** Ids in full, times whole. */
const VERSION_WHOLE = 1;
/** Past the largest reservation number an id holds exactly (reservation-id.ts: 36^10 < 2^53), + 1. */
const RESERVATION_MARK_MAX = Number.MAX_SAFE_INTEGER;

// One writer per thread: its memory is reused by every snapshot the thread writes.
const writer = new BlockWriter();
/** Room to start a block with, per key: ~40 bytes were measured with short keys. */
const EXPECTED_BYTES_PER_KEY = 48;

/** Keys written into the block being made, checked against the count it announces. */
let written = 0;
/** The SKU whose keys are being written, and the block's time base. */
let blockSku = '';
let timeBase = 0;
const keyWriter: KeyWriter = {
  key(key, kind, reservation, at) {
    if (written === 0) writer.number((timeBase = at));
    writer.string(key);
    rest(kind, reservation, at);
  },
  keyBytes(bytes, start, end, kind, reservation, at) {
    if (written === 0) writer.number((timeBase = at));
    writer.utf8(bytes, start, end);
    rest(kind, reservation, at);
  },
};

/** What follows a key. */
function rest(kind: IdempotentKind, reservation: string | number, at: number): void {
  writer.number(KIND_CODE[kind]);
  // Parsing the id allocates nothing; only an id the SKU did not make is written in full.
  const no = typeof reservation === 'number' ? reservation : reservationNoIn(blockSku, reservation);
  if (no >= 0) writer.number(no + 1);
  else {
    writer.number(0);
    writer.string(reservation as string);
  }
  writer.relative(at, timeBase);
  written++;
}

/** `each` hands `write` every key of SKU `sku`, oldest first, `count` in all. */
export function idempotencyBlock(sku: string, count: number, each: (write: KeyWriter) => void): Buffer {
  writer.reset(count * EXPECTED_BYTES_PER_KEY);
  writer.number(VERSION);
  writer.number(count);
  written = 0;
  blockSku = sku;
  each(keyWriter);
  if (written !== count) throw new Error(`${written} idempotency keys where ${count} were announced`);
  return writer.finish();
}

/**
 * The keys of a stored block as a log, oldest first; null when there are none. A damaged block
 * throws. `into`: a log to append them to (a paged snapshot's pages, in order), returned.
 */
export function idempotencyLogOfBlock(block: Buffer, sku: string, into: IdempotencyLog | null = null): IdempotencyLog | null {
  const reader = new BlockReader(block, (what) => new Error(`snapshot of SKU ${sku}: idempotency block damaged (${what})`));
  const version = reader.number();
  if (version !== VERSION && version !== VERSION_WHOLE) throw new Error(`snapshot of SKU ${sku}: idempotency block version ${version} is not known to this version of Stockade`);
  const count = reader.index(block.length, 'count');
  if (count === 0 && reader.done) return into;
  const whole = version === VERSION_WHOLE;
  const timeBase = whole || count === 0 ? 0 : reader.number();
  const log = into ?? new IdempotencyLog(sku);
  const source = reader.source;
  for (let i = 0; i < count; i++) {
    // The key goes into the log's arena as the bytes it is here, and the reservation id is kept as
    // its number: neither is made a string (a hot SKU has millions).
    const keyAsBytes = reader.utf8Span();
    const { spanStart: keyStart, spanEnd: keyEnd } = reader;
    const key = keyAsBytes ? null : reader.string();
    const kind = KINDS[reader.index(KINDS.length - 1, `kind of key ${i}`)];
    let reservation: number | string;
    if (whole) {
      reservation = reader.utf8Span() ? reservationNoInBytes(sku, source, reader.spanStart, reader.spanEnd) : reader.string();
      if (reservation === -1) reservation = source.toString('utf8', reader.spanStart, reader.spanEnd);
    } else {
      const mark = reader.index(RESERVATION_MARK_MAX, `reservation of key ${i}`);
      reservation = mark > 0 ? mark - 1 : reader.string();
    }
    const at = whole ? reader.number() : reader.relative(timeBase);
    if (key === null) log.pushBytes(source, keyStart, keyEnd, kind, reservation, at);
    else log.push(key, kind, typeof reservation === 'number' ? reservationIdOf(sku, reservation) : reservation, at);
  }
  if (!reader.done) throw new Error(`snapshot of SKU ${sku}: idempotency block damaged (bytes left over after ${count} keys)`);
  return log;
}
