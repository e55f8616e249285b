// A SKU's remembered idempotency keys as a snapshot stores them: one byte block (binary-block.ts),
// read straight back into the log recovery keeps them in (IdempotencyLog), with no tuple per key
// on either side. A hot SKU remembers a key per reserve, as many as it has holds and more.
//
// Layout, version 1 — the on-disk format: a new field means a new version, read alongside this one.
//   version, count
//   per key, oldest first: key (string), kind (number, KINDS), reservationId (string), at (number)

import type { IdempotentKind } from '../actors/sku.js';
import { IdempotencyLog, KIND_CODE, KINDS, type KeyWriter } from '../actors/idempotency-log.js';
import { reservationIdOf, reservationNoInBytes } from '../actors/reservation-id.js';
import { BlockReader, BlockWriter } from './binary-block.js';

const VERSION = 1;

// One writer per thread: its memory is reused by every snapshot the thread writes.
const writer = new BlockWriter();
/** Room to start a block with, per key: ~40 bytes were measured with short keys. */
const EXPECTED_BYTES_PER_KEY = 48;

/** Keys written into the block being made, checked against the count it announces. */
let written = 0;
const keyWriter: KeyWriter = {
  key(key, kind, reservationId, at) {
    writer.string(key);
    rest(kind, reservationId, at);
  },
  keyBytes(bytes, start, end, kind, reservationId, at) {
    writer.utf8(bytes, start, end);
    rest(kind, reservationId, at);
  },
};

/** What follows a key. */
function rest(kind: IdempotentKind, reservationId: string, at: number): void {
  writer.number(KIND_CODE[kind]);
  writer.string(reservationId);
  writer.number(at);
  written++;
}

/** `each` hands `write` every key, oldest first, `count` in all. */
export function idempotencyBlock(count: number, each: (write: KeyWriter) => void): Buffer {
  writer.reset(count * EXPECTED_BYTES_PER_KEY);
  writer.number(VERSION);
  writer.number(count);
  written = 0;
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
  if (version !== VERSION) throw new Error(`snapshot of SKU ${sku}: idempotency block version ${version} is not known to this version of Stockade`);
  const count = reader.index(block.length, 'count');
  if (count === 0 && reader.done) return into;
  const log = into ?? new IdempotencyLog(sku);
  const source = reader.source;
  for (let i = 0; i < count; i++) {
    // The key goes into the log's arena as the bytes it is here, and the reservation id becomes
    // its number straight from its bytes: neither is made a string (a hot SKU has millions).
    const keyAsBytes = reader.utf8Span();
    const { spanStart: keyStart, spanEnd: keyEnd } = reader;
    const key = keyAsBytes ? null : reader.string();
    const kind = KINDS[reader.index(KINDS.length - 1, `kind of key ${i}`)];
    let reservation: number | string = reader.utf8Span() ? reservationNoInBytes(sku, source, reader.spanStart, reader.spanEnd) : reader.string();
    if (reservation === -1) reservation = source.toString('utf8', reader.spanStart, reader.spanEnd);
    const at = reader.number();
    if (key === null) log.pushBytes(source, keyStart, keyEnd, kind, reservation, at);
    else log.push(key, kind, typeof reservation === 'number' ? reservationIdOf(sku, reservation) : reservation, at);
  }
  if (!reader.done) throw new Error(`snapshot of SKU ${sku}: idempotency block damaged (bytes left over after ${count} keys)`);
  return log;
}
