// The bytes of the idempotency logs recovery keeps (idempotency-log.ts): slabs of one arena per
// thread, shared by every SKU's log.
//
// A replayed key is a string the WAL decoder made, and a sale's WAL holds millions: kept as
// strings, with the rest of the log they held 298 MiB after recovering a 2M-event sale, as bytes
// here 119 MiB (docs/benchmarks.md, "Recovery"). Since the logs' other fields moved here too
// (docs/benchmarks.md, "Idempotency logs outside the heap"), a log entry is no JavaScript value
// at all: the collector neither copies nor marks it.
//
// One arena per thread, not one per log: a buffer per SKU, regrown as each log filled, was tried
// and set off collections of its own.

/**
 * Entries are written into slabs of this size, never across two: growing one buffer by doubling
 * copied every entry again at each step, ~5 % of a two-shard recovery's profile.
 */
const SLAB_BITS = 22;
const SLAB_BYTES = 1 << SLAB_BITS;
/** An offset's position within its slab. */
export const SLAB_MASK = SLAB_BYTES - 1;
/** Offsets are stored in 32 bits (idempotency-log.ts): 1,023 slabs, just under 4 GiB. */
const SLABS_MAX = 1023;

export class KeyArena {
  private readonly slabs: Buffer[] = [];

  /** `slabsMax`: lower only in tests, to reach the limit without 4 GiB. */
  constructor(private readonly slabsMax = SLABS_MAX) {}

  /** Where the next entry goes in the last slab; a full slab until the first is made. */
  private end = SLAB_BYTES;

  /** The offset the next entry gets: bytes in use, with the few each slab's tail left unused. */
  get size(): number {
    return this.slabs.length === 0 ? 0 : (this.slabs.length - 1) * SLAB_BYTES + this.end;
  }

  /**
   * The slab where the next `room` bytes go (a new one when the last has less left): write them
   * from `size & SLAB_MASK`, then `take` what was written.
   */
  room(room: number): Buffer {
    if (room > SLAB_BYTES) throw new RangeError(`an entry of ${room} bytes does not fit a key arena slab`);
    if (SLAB_BYTES - this.end < room) {
      if (this.slabs.length === this.slabsMax) throw new RangeError('the key arena is full (4 GiB of idempotency keys in one thread)');
      this.slabs.push(Buffer.allocUnsafeSlow(SLAB_BYTES));
      this.end = 0;
    }
    return this.slabs[this.slabs.length - 1];
  }

  /** The `length` bytes from `size` on, written after `room`, are in use now. */
  take(length: number): void {
    this.end += length;
  }

  /** The slab holding offset `at`; the bytes are at `at & SLAB_MASK` in it. */
  slab(at: number): Buffer {
    return this.slabs[at >>> SLAB_BITS];
  }

  /** Hand back the last slab's unused room (one copy of at most a slab); later entries start a new slab. */
  shrinkToFit(): void {
    if (this.slabs.length === 0 || this.end === SLAB_BYTES) return;
    const last = this.slabs.length - 1;
    const fitted = Buffer.allocUnsafeSlow(this.end);
    this.slabs[last].copy(fitted, 0, 0, this.end);
    this.slabs[last] = fitted;
    this.end = SLAB_BYTES;
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
