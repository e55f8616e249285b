// A byte block written and read field by field: variable-length integers and length-prefixed
// strings, with no JavaScript object per value on either side.
//
// Why by hand: a checkpoint writes every open reservation and remembered key of a hot SKU in one
// turn of its shard. Built as arrays for msgpackr, that was several objects per reservation
// allocated in a heap already holding the reservations, and the collector's work, not the bytes,
// made the checkpoint turn stall the shard for most of a second (docs/benchmarks.md, "A hot SKU's
// checkpoint"). No msgpack library writes into a caller's buffer without such intermediates.
//
// Numbers: an integer of magnitude below 2^51 is a zigzag varint shifted left by one (low bit 0),
// so small counts and quantities take one byte and epoch milliseconds six; anything else (a
// fraction, a huge value) is the tag 1 followed by its eight float64 bytes. Strings: a varint of
// the byte length shifted left by one, low bit 1 when every byte is ASCII (read back with a
// latin1 slice, the cheapest string V8 makes), then the bytes.

const INTEGER_LIMIT = 2 ** 51;
const FLOAT_TAG = 1;
/** A `relative` value whose difference from its base is not exact: the value itself follows. */
const ABSOLUTE_TAG = 3;
/** A `relative` value of 0 (a time not set yet), whatever the base: one byte. */
const ZERO_TAG = 5;
/**
 * Blocks are written one after another into slabs of this size. A checkpoint writes two blocks
 * per changed SKU, ~20,000 after recovering a sale over 10,000 SKUs: a buffer of its own for each
 * was an allocation outside the heap and a copy apiece (docs/benchmarks.md, "The first checkpoint
 * after recovery").
 */
const SLAB_BYTES = 1024 * 1024;

export class BlockWriter {
  /** The slab being written: earlier blocks in it are returned views, never written again. */
  private bytes: Buffer | null = null;
  /** Where the block being written starts in the slab, and where it ends so far. */
  private start = 0;
  private end = 0;

  /**
   * Start a new block with room for about `expectedBytes`: one allocation up front rather than a
   * doubling series, since every large allocation outside the heap brings V8's next full
   * collection closer (measured: one of 90 ms inside a hot SKU's checkpoint turn).
   */
  reset(expectedBytes = 0): void {
    if (this.bytes === null || this.bytes.length - this.end < expectedBytes) this.newSlab(Math.max(SLAB_BYTES, expectedBytes), 0);
    this.start = this.end;
  }

  /**
   * The block written since `reset`: a view of the slab, which the writer never touches again.
   * A slab bigger than usual (made for one big block) is let go with its block.
   */
  finish(): Buffer {
    const block = this.bytes!.subarray(this.start, this.end);
    if (this.bytes!.length > SLAB_BYTES) this.bytes = null;
    this.start = this.end;
    return block;
  }

  /** A fresh slab of `size` bytes, holding the first `keep` bytes of the block being written. */
  private newSlab(size: number, keep: number): void {
    const slab = Buffer.allocUnsafeSlow(size);
    if (keep > 0) this.bytes!.copy(slab, 0, this.start, this.start + keep);
    this.bytes = slab;
    this.start = 0;
    this.end = keep;
  }

  private room(count: number): void {
    if (this.end + count <= this.bytes!.length) return;
    const written = this.end - this.start;
    this.newSlab(Math.max(SLAB_BYTES, 2 * (written + count)), written);
  }

  /** A non-negative integer below 2^53. */
  private varint(value: number): void {
    this.room(8);
    const bytes = this.bytes!;
    let p = this.end;
    // Bit operations are 32-bit: above 2^31 a division splits the value (a `%` of a double is a
    // slow fmod: epoch milliseconds cost five times a small number that way); below, shifts do.
    while (value > 0x7fffffff) {
      const high = Math.floor(value / 0x80);
      bytes[p++] = (value - high * 0x80) | 0x80;
      value = high;
    }
    while (value >= 0x80) {
      bytes[p++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    bytes[p++] = value;
    this.end = p;
  }

  number(value: number): void {
    // -0 is an integer to Number.isInteger but not to a varint: it goes as a float.
    if (Number.isInteger(value) && value > -INTEGER_LIMIT && value < INTEGER_LIMIT && (value !== 0 || 1 / value > 0)) {
      this.varint((value >= 0 ? value * 2 : -value * 2 - 1) * 2);
      return;
    }
    this.tagged(FLOAT_TAG, value);
  }

  /** A tag, then the value's eight float64 bytes: any number, exactly. */
  private tagged(tag: number, value: number): void {
    this.varint(tag);
    this.room(8);
    this.bytes!.writeDoubleLE(value, this.end);
    this.end += 8;
  }

  /**
   * A number written as its difference from `base` (a time near the record's own takes a byte or
   * three instead of six, and 0, a time not set yet, one); read back by `relative` with the same
   * base. Any value round-trips exactly: where the difference would round, the value is written
   * as it is.
   */
  relative(value: number, base: number): void {
    if (value === 0 && 1 / value > 0) {
      this.varint(ZERO_TAG);
      return;
    }
    const difference = value - base;
    const back = difference + base;
    // === alone would take 0 for -0.
    if (back === value && (value !== 0 || 1 / back === 1 / value)) {
      this.number(difference);
      return;
    }
    this.tagged(ABSOLUTE_TAG, value);
  }

  string(value: string): void {
    const length = value.length;
    this.room(length * 3 + 8);
    // ASCII, the usual case (ids and keys are validated to it), is copied char by char: a native
    // write per string costs more than the copy for strings this short.
    const start = this.end + varintLength(length * 2 + 1);
    const bytes = this.bytes!;
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) break;
      bytes[start + i] = code;
    }
    if (i === length) {
      this.varint(length * 2 + 1);
      this.end += length;
      return;
    }
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.varint(byteLength * 2);
    this.bytes!.write(value, this.end, byteLength, 'utf8');
    this.end += byteLength;
  }

  /** A string given as its UTF-8 bytes, `source[start..end)`: written as `string` writes it, read back by `string`. */
  utf8(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    this.room(length + 8);
    // The header's low bit says "every byte ASCII"; it is the low bit of the varint's first byte.
    const header = this.end;
    this.varint(length * 2 + 1);
    const bytes = this.bytes!;
    let p = this.end;
    let high = 0;
    for (let i = start; i < end; i++) {
      const byte = source[i];
      high |= byte;
      bytes[p++] = byte;
    }
    if (high >= 0x80) bytes[header] &= 0xfe;
    this.end = p;
  }

  /** One raw byte: a block's own leading marker, which a reader checks before anything else. */
  byte(value: number): void {
    this.room(1);
    this.bytes![this.end++] = value;
  }

  /**
   * Room for a 32-bit number not known yet (a count), filled in by `fill32` before `finish`.
   * Returns its place relative to the block's start, which stays valid if the block moves slab.
   */
  placeholder32(): number {
    this.room(4);
    const offset = this.end - this.start;
    this.end += 4;
    return offset;
  }

  fill32(offset: number, value: number): void {
    this.bytes!.writeUInt32LE(value, this.start + offset);
  }

  /** Bytes made elsewhere (a value another encoder wrote), length first; read back by `byteString`. */
  byteString(source: Uint8Array): void {
    this.varint(source.length);
    this.room(source.length);
    this.bytes!.set(source, this.end);
    this.end += source.length;
  }

  nullableString(value: string | null): void {
    if (value === null) {
      this.varint(0);
      return;
    }
    this.varint(1);
    this.string(value);
  }
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

/** Buffer's string slicers: on every Node Buffer, though not in its type declarations. */
type SlicingBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** Reads what a BlockWriter wrote, in the same order; throws `damaged(what)` past the end. */
export class BlockReader {
  private p = 0;
  /** Where the bytes of the string last read or skipped start and end. */
  spanStart = 0;
  spanEnd = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly damaged: (what: string) => Error,
  ) {}

  get done(): boolean {
    return this.p === this.bytes.length;
  }

  /** The error for damage the caller found in what it read (a value out of place). */
  damage(what: string): Error {
    return this.damaged(what);
  }

  private varint(): number {
    const bytes = this.bytes;
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.p >= bytes.length) throw this.damaged('block ends inside a number');
      const byte = bytes[this.p++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw this.damaged('number too long');
    }
  }

  number(): number {
    // Most numbers are small (counts, quantities, times relative to a record's): up to four bytes,
    // read with 32-bit integer operations. Longer ones take the general path, in doubles (where
    // each `%` would be a slow fmod).
    const bytes = this.bytes;
    const p = this.p;
    if (p + 4 <= bytes.length) {
      let u = bytes[p];
      let length = 1;
      if (u >= 0x80) {
        u = (u & 0x7f) | ((bytes[p + 1] & 0x7f) << 7);
        length = 2;
        if (bytes[p + 1] >= 0x80) {
          u |= (bytes[p + 2] & 0x7f) << 14;
          length = 3;
          if (bytes[p + 2] >= 0x80) {
            u |= (bytes[p + 3] & 0x7f) << 21;
            length = 4;
            if (bytes[p + 3] >= 0x80) return this.numberOfVarint();
          }
        }
      }
      if ((u & 1) === 0) {
        this.p = p + length;
        const zigzag = u >>> 1;
        return (zigzag & 1) === 0 ? zigzag >>> 1 : -((zigzag + 1) >>> 1);
      }
    }
    return this.numberOfVarint();
  }

  private numberOfVarint(): number {
    const u = this.varint();
    if (u === FLOAT_TAG) return this.float64();
    const zigzag = Math.floor(u / 2);
    if (zigzag * 2 !== u) throw this.damaged('unknown number tag');
    const magnitude = Math.floor(zigzag / 2);
    return magnitude * 2 === zigzag ? magnitude : -(magnitude + 1);
  }

  /** The eight float64 bytes after a FLOAT_TAG or ABSOLUTE_TAG. */
  private float64(): number {
    if (this.p + 8 > this.bytes.length) throw this.damaged('block ends inside a number');
    const value = this.bytes.readDoubleLE(this.p);
    this.p += 8;
    return value;
  }

  relative(base: number): number {
    const tag = this.p < this.bytes.length ? this.bytes[this.p] : 0;
    if (tag === ZERO_TAG) {
      this.p++;
      return 0;
    }
    if (tag === ABSOLUTE_TAG) {
      this.p++;
      return this.float64();
    }
    return base + this.number();
  }

  /** A number that must be an integer in [0, max]. */
  index(max: number, what: string): number {
    const value = this.number();
    if (!Number.isInteger(value) || value < 0 || value > max) throw this.damaged(what);
    return value;
  }

  string(): string {
    const ascii = this.skipString();
    // Node's own slicers, which `toString(encoding, start, end)` dispatches to after checking its
    // arguments: a reserve's WAL event reads four strings, and that dispatch was ~5 % of recovery.
    const bytes = this.bytes as SlicingBuffer;
    return ascii ? bytes.latin1Slice(this.spanStart, this.spanEnd) : bytes.utf8Slice(this.spanStart, this.spanEnd);
  }

  /** Read past the next string, leaving its bytes at `[spanStart, spanEnd)`; whether its header says ASCII. */
  private skipString(): boolean {
    const header = this.varint();
    const start = this.p;
    const end = start + Math.floor(header / 2);
    if (end > this.bytes.length) throw this.damaged('block ends inside a string');
    this.p = end;
    this.spanStart = start;
    this.spanEnd = end;
    return header % 2 === 1;
  }

  /**
   * Skip the next string without making it one, leaving its UTF-8 bytes at
   * `source[spanStart, spanEnd)` for the caller to copy. False, having read nothing, when its bytes
   * are not UTF-8 (marked ASCII yet not, which only a damaged block has): read it with `string()`.
   */
  utf8Span(): boolean {
    const before = this.p;
    if (this.skipString()) {
      for (let i = this.spanStart; i < this.spanEnd; i++) {
        if (this.bytes[i] >= 0x80) {
          this.p = before;
          return false;
        }
      }
    }
    return true;
  }

  /** The block being read, for copying a span out of. */
  get source(): Buffer {
    return this.bytes;
  }

  byte(): number {
    if (this.p >= this.bytes.length) throw this.damaged('block ends before its marker');
    return this.bytes[this.p++];
  }

  /** What `BlockWriter.placeholder32` made room for. */
  uint32(): number {
    if (this.p + 4 > this.bytes.length) throw this.damaged('block ends inside a number');
    const value = this.bytes.readUInt32LE(this.p);
    this.p += 4;
    return value;
  }

  /** What `BlockWriter.byteString` wrote: a view of the block, not a copy. */
  byteString(): Buffer {
    const length = this.varint();
    const start = this.p;
    if (start + length > this.bytes.length) throw this.damaged('block ends inside a byte string');
    this.p = start + length;
    return this.bytes.subarray(start, this.p);
  }

  nullableString(): string | null {
    const present = this.varint();
    if (present === 0) return null;
    if (present !== 1) throw this.damaged('unknown string marker');
    return this.string();
  }
}

/**
 * Names (channels, locations, SKUs) written so far in one block, by index. A name is written as
 * its index once known; the index one past the last known is a new name, and its string follows.
 * Names repeat across a block's entries, so each is written, and read back as a string, once.
 */
export class NameTable {
  private readonly index = new Map<string, number>();

  write(writer: BlockWriter, name: string): void {
    const known = this.index.get(name);
    if (known !== undefined) {
      writer.number(known);
      return;
    }
    writer.number(this.index.size);
    writer.string(name);
    this.index.set(name, this.index.size);
  }

  /** Forget every name: the next block starts its own table. */
  clear(): void {
    this.index.clear();
  }
}

/** A name NameTable.write wrote; `names` holds those read so far in the block. */
export function readName(reader: BlockReader, names: string[], what: string): string {
  const i = reader.index(names.length, what);
  if (i === names.length) names.push(reader.string());
  return names[i];
}
