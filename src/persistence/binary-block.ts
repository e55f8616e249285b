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
const INITIAL_BYTES = 64 * 1024;
/** A writer grown past this for one big block starts small again, rather than hold it for good. */
const RETAINED_BYTES_MAX = 1024 * 1024;

export class BlockWriter {
  private bytes: Buffer;
  private end = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  /**
   * Start a new block, reusing the memory of the last one, with room for about `expectedBytes`:
   * one allocation up front rather than a doubling series, since every large allocation outside
   * the heap brings V8's next full collection closer (measured: one of 90 ms inside a hot SKU's
   * checkpoint turn).
   */
  reset(expectedBytes = 0): void {
    this.end = 0;
    if (expectedBytes > this.bytes.length) this.bytes = Buffer.allocUnsafe(expectedBytes);
  }

  /**
   * The block written since `reset`, never touched by the writer again. A block that fills most
   * of the writer's memory takes that memory with it (no copy); a small one is copied out, and
   * the memory is kept for the next block.
   */
  finish(): Buffer {
    const end = this.end;
    this.end = 0;
    if (end >= this.bytes.length / 2 && this.bytes.length > INITIAL_BYTES) {
      const block = this.bytes.subarray(0, end);
      this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
      return block;
    }
    const block = Buffer.allocUnsafe(end);
    this.bytes.copy(block, 0, 0, end);
    if (this.bytes.length > RETAINED_BYTES_MAX) this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
    return block;
  }

  private room(count: number): void {
    if (this.end + count <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.end + count));
    this.bytes.copy(grown, 0, 0, this.end);
    this.bytes = grown;
  }

  /** A non-negative integer below 2^53. */
  private varint(value: number): void {
    this.room(8);
    const bytes = this.bytes;
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
    if (Number.isInteger(value) && value > -INTEGER_LIMIT && value < INTEGER_LIMIT) {
      this.varint((value >= 0 ? value * 2 : -value * 2 - 1) * 2);
      return;
    }
    this.varint(FLOAT_TAG);
    this.room(8);
    this.bytes.writeDoubleLE(value, this.end);
    this.end += 8;
  }

  string(value: string): void {
    const length = value.length;
    this.room(length * 3 + 8);
    // ASCII, the usual case (ids and keys are validated to it), is copied char by char: a native
    // write per string costs more than the copy for strings this short.
    const start = this.end + varintLength(length * 2 + 1);
    const bytes = this.bytes;
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
    this.bytes.write(value, this.end, byteLength, 'utf8');
    this.end += byteLength;
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

/** Reads what a BlockWriter wrote, in the same order; throws `damaged(what)` past the end. */
export class BlockReader {
  private p = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly damaged: (what: string) => Error,
  ) {}

  get done(): boolean {
    return this.p === this.bytes.length;
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
    const u = this.varint();
    if (u === FLOAT_TAG) {
      if (this.p + 8 > this.bytes.length) throw this.damaged('block ends inside a number');
      const value = this.bytes.readDoubleLE(this.p);
      this.p += 8;
      return value;
    }
    if (u % 2 !== 0) throw this.damaged('unknown number tag');
    const zigzag = u / 2;
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  /** A number that must be an integer in [0, max]. */
  index(max: number, what: string): number {
    const value = this.number();
    if (!Number.isInteger(value) || value < 0 || value > max) throw this.damaged(what);
    return value;
  }

  string(): string {
    const header = this.varint();
    const length = Math.floor(header / 2);
    const start = this.p;
    const end = start + length;
    if (end > this.bytes.length) throw this.damaged('block ends inside a string');
    this.p = end;
    return this.bytes.toString(header % 2 === 1 ? 'latin1' : 'utf8', start, end);
  }

  nullableString(): string | null {
    const present = this.varint();
    if (present === 0) return null;
    if (present !== 1) throw this.damaged('unknown string marker');
    return this.string();
  }
}
