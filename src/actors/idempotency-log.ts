// Idempotency keys recovery has read back but not yet indexed (see SkuState.idemLog).
//
// Columns rather than a record per key: recovery appends one key per replayed reserve, release
// and commit, and a per-key tuple or Map entry is an object for the young generation to copy.
// For the same reason a key is kept as bytes in the thread's key arena (key-arena.ts), and a
// reservation id as its number (reservation-id.ts): a replayed key or id is a fresh string per
// event, and a log of a sale's keys held ~2M of each.

import type { IdempotencyRecord, IdempotentKind } from './sku.js';
import { currentKeyArena, type KeyArena } from './key-arena.js';
import { reservationIdOf, reservationNoIn } from './reservation-id.js';

const KINDS: readonly IdempotentKind[] = ['reserve', 'release', 'commit'];

/** Where a checkpoint writes keys to (idempotency-block.ts). */
export interface KeyWriter {
  key(key: string, kind: IdempotentKind, reservationId: string, at: number): void;
  /** A key held as UTF-8 bytes, `bytes[start..end)`: written without making it a string. */
  keyBytes(bytes: Uint8Array, start: number, end: number, kind: IdempotentKind, reservationId: string, at: number): void;
}

export class IdempotencyLog {
  /** Where the key is in the arena, or the key itself when the arena did not take it. */
  private keys: (number | string)[] = [];
  /** The arena this log's keys are in: the thread's when the log was made. */
  private readonly arena: KeyArena = currentKeyArena();
  private kinds: number[] = [];
  /** The reservation's number when its id is `reservationIdOf(sku, number)`, the id itself otherwise. */
  private reservations: (number | string)[] = [];
  /** Only numbers, so V8 keeps them unboxed (double elements). */
  private ats: number[] = [];

  constructor(private readonly sku: string) {}

  get length(): number {
    return this.keys.length;
  }

  push(key: string, kind: IdempotentKind, reservationId: string, at: number): void {
    const offset = this.arena.add(key);
    this.keys.push(offset < 0 ? key : offset);
    const no = reservationNoIn(this.sku, reservationId);
    this.pushRest(kind, no < 0 ? reservationId : no, at);
  }

  /**
   * `push` as a snapshot restore has it: the key as its UTF-8 bytes, `source[start, end)`, and
   * the reservation as its number in this SKU's ids (`reservationNoIn`) or, failing that, the id.
   */
  pushBytes(source: Uint8Array, start: number, end: number, kind: IdempotentKind, reservation: number | string, at: number): void {
    const offset = this.arena.addBytes(source, start, end);
    this.keys.push(offset < 0 ? Buffer.from(source.buffer, source.byteOffset + start, end - start).toString('utf8') : offset);
    this.pushRest(kind, reservation, at);
  }

  private pushRest(kind: IdempotentKind, reservation: number | string, at: number): void {
    this.kinds.push(KINDS.indexOf(kind));
    this.reservations.push(reservation);
    this.ats.push(at);
  }

  static of(sku: string, records: IdempotencyRecord[]): IdempotencyLog {
    const log = new IdempotencyLog(sku);
    for (const [key, kind, reservationId, at] of records) log.push(key, kind, reservationId, at);
    return log;
  }

  /** Forget the `count` oldest keys. */
  dropOldest(count: number): void {
    this.keys.splice(0, count);
    this.kinds.splice(0, count);
    this.reservations.splice(0, count);
    this.ats.splice(0, count);
  }

  /** How many of the oldest keys were remembered before `time`. */
  countBefore(time: number): number {
    let n = 0;
    while (n < this.ats.length && this.ats[n] < time) n++;
    return n;
  }

  forEach(from: number, visit: (key: string, kind: IdempotentKind, reservationId: string, at: number) => void): void {
    for (let i = from; i < this.keys.length; i++) visit(this.key(i), KINDS[this.kinds[i]], this.reservationId(i), this.ats[i]);
  }

  /**
   * Every key, oldest first, to `write`: those in the arena as their bytes. The checkpoint after a
   * long recovery writes millions of keys, and making each a string again was a sizeable part of
   * that turn (docs/benchmarks.md, "The first checkpoint after recovery").
   */
  writeEach(write: KeyWriter): void {
    const arena = this.arena;
    for (let i = 0; i < this.keys.length; i++) {
      const stored = this.keys[i];
      const kind = KINDS[this.kinds[i]];
      if (typeof stored === 'number') write.keyBytes(arena.bytesView, arena.keyStart(stored), arena.keyEnd(stored), kind, this.reservationId(i), this.ats[i]);
      else write.key(stored, kind, this.reservationId(i), this.ats[i]);
    }
  }

  private key(i: number): string {
    const stored = this.keys[i];
    return typeof stored === 'number' ? this.arena.key(stored) : stored;
  }

  private reservationId(i: number): string {
    const stored = this.reservations[i];
    return typeof stored === 'number' ? reservationIdOf(this.sku, stored) : stored;
  }
}
