// Idempotency keys recovery has read back but not yet indexed (see SkuState.idemLog).
//
// Columns rather than a record per key: recovery appends one key per replayed reserve, release
// and commit, and a per-key tuple or Map entry is an object for the young generation to copy.

import type { IdempotencyRecord, IdempotentKind } from './sku.js';

const KINDS: readonly IdempotentKind[] = ['reserve', 'release', 'commit'];

export class IdempotencyLog {
  private keys: string[] = [];
  private kinds: number[] = [];
  private reservationIds: string[] = [];
  /** Only numbers, so V8 keeps them unboxed (double elements). */
  private ats: number[] = [];

  get length(): number {
    return this.keys.length;
  }

  push(key: string, kind: IdempotentKind, reservationId: string, at: number): void {
    this.keys.push(key);
    this.kinds.push(KINDS.indexOf(kind));
    this.reservationIds.push(reservationId);
    this.ats.push(at);
  }

  static of(records: IdempotencyRecord[]): IdempotencyLog {
    const log = new IdempotencyLog();
    for (const [key, kind, reservationId, at] of records) log.push(key, kind, reservationId, at);
    return log;
  }

  /** Forget the `count` oldest keys. */
  dropOldest(count: number): void {
    this.keys.splice(0, count);
    this.kinds.splice(0, count);
    this.reservationIds.splice(0, count);
    this.ats.splice(0, count);
  }

  /** How many of the oldest keys were remembered before `time`. */
  countBefore(time: number): number {
    let n = 0;
    while (n < this.ats.length && this.ats[n] < time) n++;
    return n;
  }

  forEach(from: number, visit: (key: string, kind: IdempotentKind, reservationId: string, at: number) => void): void {
    for (let i = from; i < this.keys.length; i++) visit(this.keys[i], KINDS[this.kinds[i]], this.reservationIds[i], this.ats[i]);
  }
}
