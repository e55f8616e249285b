// Idempotency keys recovery has read back but not yet indexed (see SkuState.idemLog).
//
// Each key is an entry in the thread's key arena (key-arena.ts), chained to the SKU's next one:
// no JavaScript value per key. Recovery appends a key per replayed reserve, release and commit;
// kept as four growing arrays per SKU (the layout before), the arrays' backing stores outlived
// one or two scavenges each and were promoted, and the log was a third of a recovery's time and
// most of its collection work (docs/benchmarks.md, "Idempotency logs outside the heap").
//
// Entry layout, at offset e (in memory only, never stored: native byte order for the floats; the
// bytes are at `e & SLAB_MASK` in the arena's slab for `e`):
//   e+0   the log's next entry: 1 + its offset, 0 after the newest (uint32)
//   e+4   kind code (bits 0-1), KEY_ASIDE, RESERVATION_ASIDE (uint8)
//   e+5   at (float64)
//   e+13  the reservation's number in this SKU's ids (reservation-id.ts), 0 when aside (float64)
//   e+21  the key's length in bytes (uint16), 0 when aside
//   e+23  the key, UTF-8
// A key longer than KEY_BYTES_MAX, and a reservation id not of the form `reservationIdOf(sku, n)`
// (neither happens with validated input), are kept aside as strings.

import type { IdempotencyRecord, IdempotentKind } from './sku.js';
import { currentKeyArena, SLAB_MASK, type KeyArena } from './key-arena.js';
import { reservationIdOf, reservationNoIn } from './reservation-id.js';

/** Idempotent calls by code, and back. Snapshots store these codes (idempotency-block.ts): never reorder. */
export const KINDS: readonly IdempotentKind[] = ['reserve', 'release', 'commit'];
export const KIND_CODE: Record<IdempotentKind, number> = { reserve: 0, release: 1, commit: 2 };
const KIND_BITS = 0x03;
const KEY_ASIDE = 0x04;
const RESERVATION_ASIDE = 0x08;

const FLAGS_AT = 4;
const TIME_AT = 5;
const RESERVATION_AT = 13;
const KEY_LENGTH_AT = 21;
const HEADER_BYTES = 23;
const KEY_BYTES_MAX = 0xffff;
/** No entry. An entry's offset + 1 is stored in 32 bits: the arena stays below 4 GiB. */
const NONE = -1;

/**
 * Where a checkpoint writes keys to (idempotency-block.ts). `reservation`: the reservation's id, or
 * as a number the SKU's own reservation of that number (reservationIdOf), which needs no string.
 */
export interface KeyWriter {
  key(key: string, kind: IdempotentKind, reservation: string | number, at: number): void;
  /** A key held as UTF-8 bytes, `bytes[start..end)`: written without making it a string. */
  keyBytes(bytes: Uint8Array, start: number, end: number, kind: IdempotentKind, reservation: string | number, at: number): void;
}

export class IdempotencyLog {
  /** The arena this log's entries are in: the thread's when the log was made. */
  private readonly arena: KeyArena = currentKeyArena();
  private head = NONE;
  private tail = NONE;
  private count = 0;
  /** Keys (at 2e) and reservation ids (at 2e + 1) of entries that keep them aside; rare. */
  private aside: Map<number, string> | null = null;

  constructor(private readonly sku: string) {}

  get length(): number {
    return this.count;
  }

  push(key: string, kind: IdempotentKind, reservationId: string, at: number): void {
    // UTF-8 needs at most three bytes per UTF-16 unit.
    const inArena = key.length * 3 <= KEY_BYTES_MAX;
    const slab = this.arena.room(HEADER_BYTES + (inArena ? key.length * 3 : 0));
    const e = this.arena.size;
    const keyLength = inArena ? writeKey(slab, (e & SLAB_MASK) + HEADER_BYTES, key) : 0;
    const no = reservationNoIn(this.sku, reservationId);
    this.append(slab, e, kind, no < 0 ? reservationId : no, at, keyLength, inArena ? null : key);
  }

  /**
   * `push` as a snapshot restore has it: the key as its UTF-8 bytes, `source[start, end)`, and
   * the reservation as its number in this SKU's ids (`reservationNoIn`) or, failing that, the id.
   */
  pushBytes(source: Uint8Array, start: number, end: number, kind: IdempotentKind, reservation: number | string, at: number): void {
    const length = end - start;
    const inArena = length <= KEY_BYTES_MAX;
    const slab = this.arena.room(HEADER_BYTES + (inArena ? length : 0));
    const e = this.arena.size;
    // Keys are short (at most 128 bytes when validated): a loop beats a native copy's call.
    if (inArena) for (let i = 0, to = (e & SLAB_MASK) + HEADER_BYTES; i < length; i++) slab[to + i] = source[start + i];
    const aside = inArena ? null : Buffer.from(source.buffer, source.byteOffset + start, length).toString('utf8');
    this.append(slab, e, kind, reservation, at, inArena ? length : 0, aside);
  }

  /** Write entry `e`'s header (in `slab`) after its key, chain it on, and take its bytes. */
  private append(slab: Buffer, e: number, kind: IdempotentKind, reservation: number | string, at: number, keyLength: number, keyAside: string | null): void {
    const p = e & SLAB_MASK;
    const reservationAside = typeof reservation === 'string';
    writeUint32(slab, p, 0);
    slab[p + FLAGS_AT] = KIND_CODE[kind] | (keyAside === null ? 0 : KEY_ASIDE) | (reservationAside ? RESERVATION_ASIDE : 0);
    writeFloat64(slab, p + TIME_AT, at);
    writeFloat64(slab, p + RESERVATION_AT, reservationAside ? 0 : reservation);
    slab[p + KEY_LENGTH_AT] = keyLength & 0xff;
    slab[p + KEY_LENGTH_AT + 1] = keyLength >>> 8;
    // The previous entry may be in an earlier slab.
    if (this.tail === NONE) this.head = e;
    else writeUint32(this.arena.slab(this.tail), this.tail & SLAB_MASK, e + 1);
    this.tail = e;
    this.count++;
    this.arena.take(HEADER_BYTES + keyLength);
    if (keyAside !== null) (this.aside ??= new Map()).set(2 * e, keyAside);
    if (reservationAside) (this.aside ??= new Map()).set(2 * e + 1, reservation);
  }

  static of(sku: string, records: IdempotencyRecord[]): IdempotencyLog {
    const log = new IdempotencyLog(sku);
    for (const [key, kind, reservationId, at] of records) log.push(key, kind, reservationId, at);
    return log;
  }

  /** Forget the `count` oldest keys. */
  dropOldest(count: number): void {
    if (count <= 0) return;
    if (count >= this.count) {
      this.head = this.tail = NONE;
      this.count = 0;
      this.aside = null;
      return;
    }
    let e = this.head;
    for (let i = 0; i < count; i++) {
      this.aside?.delete(2 * e);
      this.aside?.delete(2 * e + 1);
      e = this.next(e);
    }
    this.head = e;
    this.count -= count;
  }

  /** How many of the oldest keys were remembered before `time`. */
  countBefore(time: number): number {
    let n = 0;
    for (let e = this.head; n < this.count && readFloat64(this.arena.slab(e), (e & SLAB_MASK) + TIME_AT) < time; e = this.next(e)) n++;
    return n;
  }

  forEach(from: number, visit: (key: string, kind: IdempotentKind, reservationId: string, at: number) => void): void {
    let i = 0;
    for (let e = this.head; i < this.count; e = this.next(e), i++) {
      if (i < from) continue;
      const slab = this.arena.slab(e);
      const p = e & SLAB_MASK;
      visit(this.key(slab, e), KINDS[slab[p + FLAGS_AT] & KIND_BITS], this.reservationId(slab, e), readFloat64(slab, p + TIME_AT));
    }
  }

  /**
   * Every key, oldest first, to `write`: those in the arena as their bytes. The checkpoint after a
   * long recovery writes millions of keys, and making each a string again was a sizeable part of
   * that turn (docs/benchmarks.md, "The first checkpoint after recovery"). `from`, `to`: only the
   * keys at those places, oldest 0 (a page of them: checkpoint-pages.ts).
   */
  writeEach(write: KeyWriter, from = 0, to = this.count): void {
    let i = 0;
    for (let e = this.head; i < to; e = this.next(e), i++) {
      if (i < from) continue;
      const slab = this.arena.slab(e);
      const p = e & SLAB_MASK;
      const flags = slab[p + FLAGS_AT];
      const kind = KINDS[flags & KIND_BITS];
      // The SKU's own reservations as their numbers: no id string is made for the block.
      const reservation = this.reservation(slab, e);
      const at = readFloat64(slab, p + TIME_AT);
      if (flags & KEY_ASIDE) write.key(this.aside!.get(2 * e)!, kind, reservation, at);
      else write.keyBytes(slab, p + HEADER_BYTES, p + HEADER_BYTES + keyLengthOf(slab, p), kind, reservation, at);
    }
  }

  /** The entry after `e` in this log (NONE after the newest). */
  private next(e: number): number {
    return readUint32(this.arena.slab(e), e & SLAB_MASK) - 1;
  }

  private key(slab: Buffer, e: number): string {
    const p = e & SLAB_MASK;
    if (slab[p + FLAGS_AT] & KEY_ASIDE) return this.aside!.get(2 * e)!;
    return slab.toString('utf8', p + HEADER_BYTES, p + HEADER_BYTES + keyLengthOf(slab, p));
  }

  private reservationId(slab: Buffer, e: number): string {
    const reservation = this.reservation(slab, e);
    return typeof reservation === 'number' ? reservationIdOf(this.sku, reservation) : reservation;
  }

  /** Entry `e`'s reservation as kept: the id set aside, or the number of the SKU's own. */
  private reservation(slab: Buffer, e: number): string | number {
    const p = e & SLAB_MASK;
    return slab[p + FLAGS_AT] & RESERVATION_ASIDE ? this.aside!.get(2 * e + 1)! : readFloat64(slab, p + RESERVATION_AT);
  }
}

/** Write `key` as UTF-8 at `to` (room for three bytes per unit is there); returns its length. */
function writeKey(bytes: Buffer, to: number, key: string): number {
  // ASCII, which validated keys are, is copied char by char: Buffer#write's argument checks and
  // native call cost more than the copy for keys this short.
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code >= 0x80) return bytes.write(key, to, 'utf8');
    bytes[to + i] = code;
  }
  return key.length;
}

/** The key length of the entry at position `p` of its slab. */
function keyLengthOf(slab: Buffer, p: number): number {
  return slab[p + KEY_LENGTH_AT] | (slab[p + KEY_LENGTH_AT + 1] << 8);
}

function writeUint32(bytes: Buffer, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
}

function readUint32(bytes: Buffer, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

// Floats go through one scratch double: a byte copy, with none of Buffer#writeDoubleLE's checks.
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

function writeFloat64(bytes: Buffer, at: number, value: number): void {
  scratch[0] = value;
  for (let i = 0; i < 8; i++) bytes[at + i] = scratchBytes[i];
}

function readFloat64(bytes: Buffer, at: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = bytes[at + i];
  return scratch[0];
}
