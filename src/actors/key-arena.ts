// The bytes of the idempotency logs recovery keeps (idempotency-log.ts): one growing buffer per
// thread, shared by every SKU's log.
//
// A replayed key is a string the WAL decoder made, and a sale's WAL holds millions: kept as
// strings, with the rest of the log they held 298 MiB after recovering a 2M-event sale, as bytes
// here 119 MiB (docs/benchmarks.md, "Recovery"). Since the logs' other fields moved here too
// (docs/benchmarks.md, "Idempotency logs outside the heap"), a log entry is no JavaScript value
// at all: the collector neither copies nor marks it.
//
// One buffer per thread, not one per log: a buffer per SKU, regrown as each log filled, was tried
// and set off collections of its own.

const FIRST_BYTES = 1 << 20;

export class KeyArena {
  private bytes: Buffer | null = null;
  private end = 0;

  /** Bytes in use. */
  get size(): number {
    return this.end;
  }

  /**
   * The buffer, with at least `room` bytes free from `size` on. It may be a new buffer holding
   * the same bytes: offsets stay good, a Buffer taken before does not.
   */
  room(room: number): Buffer {
    if (this.bytes === null || this.bytes.length - this.end < room) this.grow(room);
    return this.bytes!;
  }

  /** The `length` bytes from `size` on, written after `room`, are in use now. */
  take(length: number): void {
    this.end += length;
  }

  /** The buffer as it is now, to read what is stored (valid until the next `room`). */
  get bytesView(): Buffer {
    return this.bytes!;
  }

  /** Hand back the room never taken (up to half the buffer, after doubling): one copy. */
  shrinkToFit(): void {
    if (this.bytes === null || this.bytes.length === this.end) return;
    const fitted = Buffer.allocUnsafeSlow(this.end);
    this.bytes.copy(fitted, 0, 0, this.end);
    this.bytes = this.end > 0 ? fitted : null;
  }

  private grow(room: number): void {
    // Doubling: a recovery that stores 80 MiB of entries copies them about once more in all.
    let capacity = this.bytes ? this.bytes.length * 2 : FIRST_BYTES;
    while (capacity - this.end < room) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    this.bytes?.copy(grown, 0, 0, this.end);
    this.bytes = grown;
  }
}

let current = new KeyArena();

/** The arena new logs store their entries in. */
export function currentKeyArena(): KeyArena {
  return current;
}

/**
 * Later logs get a fresh arena. The shard calls this when recovery is done: the entries it stored
 * are only read after that, so the arena gives back its spare room, and it is freed with the last
 * log that uses it.
 */
export function retireKeyArena(): void {
  current.shrinkToFit();
  current = new KeyArena();
}
