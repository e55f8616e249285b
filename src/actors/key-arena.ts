// Idempotency keys that recovery keeps, as bytes in one buffer shared by every SKU's log.
//
// A replayed key is a string msgpackr decoded, and a sale's WAL holds millions: kept as strings,
// with the rest of the log they held 298 MiB after recovering a 2M-event sale, as bytes here
// 119 MiB (docs/benchmarks.md, "Recovery"; recovery took as long). A key is a few bytes at an
// offset; it becomes a string again only when its SKU is used or checkpointed.
//
// One growing buffer per thread, not one per log: a buffer per SKU, regrown as each log filled,
// was tried and set off collections of its own (the same section).

/** Each key's byte length goes before it, in two bytes. */
const LENGTH_BYTES = 2;
const LENGTH_MAX = 0xffff;
const FIRST_BYTES = 1 << 20;

export class KeyArena {
  private bytes: Buffer | null = null;
  private end = 0;

  /** Bytes in use. */
  get size(): number {
    return this.end;
  }

  /**
   * Store `key` and return where it starts, or -1 when it is too long to store here (then the
   * caller keeps the string). Keys that pass validation are at most 128 ASCII characters.
   */
  add(key: string): number {
    // UTF-8 needs at most three bytes per UTF-16 unit.
    const room = LENGTH_BYTES + key.length * 3;
    if (key.length * 3 > LENGTH_MAX) return -1;
    this.ensureRoom(room);
    const bytes = this.bytes!;
    const at = this.end;
    const to = at + LENGTH_BYTES;
    // ASCII, which validated keys are, is copied char by char: Buffer#write's argument checks and
    // native call cost more than the copy for keys this short (one per replayed reserve).
    let i = 0;
    for (; i < key.length; i++) {
      const code = key.charCodeAt(i);
      if (code >= 0x80) break;
      bytes[to + i] = code;
    }
    return this.seal(at, i === key.length ? i : bytes.write(key, to, 'utf8'));
  }

  /**
   * Store a key given as its UTF-8 bytes, `source[start, end)`, without making it a string (a
   * snapshot restore has the bytes already). Returns where it starts, or -1 as `add` does.
   */
  addBytes(source: Uint8Array, start: number, end: number): number {
    const length = end - start;
    if (length > LENGTH_MAX) return -1;
    this.ensureRoom(LENGTH_BYTES + length);
    const bytes = this.bytes!;
    const at = this.end;
    // Keys are short (at most 128 bytes when validated): a loop beats a native copy's call.
    for (let i = 0, to = at + LENGTH_BYTES; i < length; i++) bytes[to + i] = source[start + i];
    return this.seal(at, length);
  }

  /** Write the length of the key just stored at `at`, and move past it. */
  private seal(at: number, length: number): number {
    const bytes = this.bytes!;
    bytes[at] = length & 0xff;
    bytes[at + 1] = length >>> 8;
    this.end = at + LENGTH_BYTES + length;
    return at;
  }

  /** The key stored at `at` (a value `add` returned). */
  key(at: number): string {
    return this.bytes!.toString('utf8', this.keyStart(at), this.keyEnd(at));
  }

  /**
   * The arena's bytes, for copying a key without making it a string: the key stored at `at` is
   * `bytesView[keyStart(at) .. keyEnd(at))`, as UTF-8. Only good until the next `add`, which may
   * move them.
   */
  get bytesView(): Buffer {
    return this.bytes!;
  }

  keyStart(at: number): number {
    return at + LENGTH_BYTES;
  }

  keyEnd(at: number): number {
    const bytes = this.bytes!;
    return at + LENGTH_BYTES + (bytes[at] | (bytes[at + 1] << 8));
  }

  private ensureRoom(room: number): void {
    if (this.bytes === null || this.bytes.length - this.end < room) this.grow(room);
  }

  private grow(room: number): void {
    // Doubling: a recovery that stores 40 MiB of keys copies them about once more in all.
    let capacity = this.bytes ? this.bytes.length * 2 : FIRST_BYTES;
    while (capacity - this.end < room) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    this.bytes?.copy(grown, 0, 0, this.end);
    this.bytes = grown;
  }
}

let current = new KeyArena();

/** The arena new logs store their keys in. */
export function currentKeyArena(): KeyArena {
  return current;
}

/**
 * Later logs get a fresh arena. The shard calls this when recovery is done: the keys it stored are
 * only read after that, and the arena is freed with the last log that uses it.
 */
export function retireKeyArena(): void {
  current = new KeyArena();
}
