// An index from string keys to entry numbers that grows and shrinks a little at a time.
//
// Why not V8's Map for a hot SKU's per-key state (customers' hold counts, idempotency keys): a
// Map doubles its table in one go, rehashing every entry in the turn that crosses the size, and
// on a hot SKU that turn stalled the shard 13.6 / 29.7 / 54.2 ms at 131k / 262k / 524k entries
// (docs/benchmarks.md, "Maps that grow all at once"). Splitting a Map into smaller Maps removed
// the stall but cost 7–16 % of the hot SKU's throughput in the extra lookups.
//
// Here the table is open addressing (linear probing) in typed arrays: a slot keeps the key's
// hash and its entry's number, never the key, so a probe reads two flat arrays and compares a key
// only when the hashes agree; and the garbage collector never walks the slots, where it marks
// every slot of a Map's table (bench:tables: 2.0–2.1 against 3.9–4.7 µs per reserve, longest
// operation 29–35 against 508–966 ms at a million keys). When the table is half full one twice its
// size is made and the old one's slots move over MOVE_STEP at a time, on each later insert or
// removal (Redis's incremental rehash, done for open addressing). Until the move is done a key is
// looked for in the new table and then the old one. The move finishes well before the new table
// fills: each operation moves MOVE_STEP slots while adding at most one entry.
//
// Subclasses keep the keys and values (keyOf); this class only finds entry numbers.

/** Old-table slots moved to the new table per insert or removal while a resize is under way. */
const MOVE_STEP = 64;
const CAPACITY_MIN = 64;
/** ids: 0 is an empty slot, -1 a removed one (only in a table being moved out of), n + 1 entry n. */
const EMPTY = 0;
const REMOVED = -1;

/** Entry numbers are below this, so that number + 1 fits a slot's int32. */
export const ENTRY_NUMBERS_MAX = 2 ** 31 - 2;

interface Table {
  readonly hashes: Int32Array;
  /** Entry number + 1. */
  readonly ids: Int32Array;
  readonly mask: number;
  /** Entries in this table. */
  count: number;
}

function tableOf(capacity: number): Table {
  return { hashes: new Int32Array(capacity), ids: new Int32Array(capacity), mask: capacity - 1, count: 0 };
}

/**
 * The power of two at least three times `entries`: grown at half full it doubles (a quarter full
 * after), shrunk at a sixteenth it ends a sixth to a third full.
 */
function capacityFor(entries: number): number {
  let capacity = CAPACITY_MIN;
  while (capacity < entries * 3) capacity *= 2;
  return capacity;
}

/**
 * FNV-1a over the key's UTF-16 units, then murmur3's finaliser so that keys differing only in
 * their last characters (`customer-000123`, `customer-000124`) spread over the low bits the table
 * indexes by.
 */
export function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const EMPTY_KEY_HASH = hashOf('');

export abstract class GrowingIndex {
  /** Made with the first entry: a SKU with a few customers keeps them in a Map and never needs it. */
  private table: Table | null = null;
  /** The table being moved out of, and how many of its slots have moved; null when none. */
  private old: Table | null = null;
  private moved = 0;
  /**
   * The last key hashed and its hash: a reserve looks its idempotency key up and then stores it,
   * with the same string, and a customer's count is read and then written.
   */
  private lastKey = '';
  private lastHash = EMPTY_KEY_HASH;

  /** The key of entry `id`. */
  protected abstract keyOf(id: number): string;

  /** How many entries the index holds. */
  protected get indexed(): number {
    return (this.table?.count ?? 0) + (this.old?.count ?? 0);
  }

  protected hash(key: string): number {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastHash = hashOf(key);
    }
    return this.lastHash;
  }

  /** The entry number of `key`, or -1. */
  protected find(key: string): number {
    const table = this.table;
    if (table === null) return -1;
    const h = this.hash(key);
    const at = this.slotIn(table, key, h);
    if (at >= 0) return table.ids[at] - 1;
    const old = this.old;
    if (old === null) return -1;
    const oldAt = this.slotIn(old, key, h);
    return oldAt < 0 ? -1 : old.ids[oldAt] - 1;
  }

  /** Index entry `id` (below ENTRY_NUMBERS_MAX) under `key`, which the index does not hold. */
  protected insert(key: string, id: number): void {
    this.moveSome();
    const table = (this.table ??= tableOf(CAPACITY_MIN));
    if ((table.count + 1) * 2 > table.mask + 1) this.resize(table);
    place(this.table, this.hash(key), id);
  }

  /** Take `key` out; its entry number, or -1 when the index does not hold it. */
  protected remove(key: string): number {
    const table = this.table;
    if (table === null) return -1;
    const h = this.hash(key);
    let id = this.removeFrom(table, key, h);
    if (id < 0 && this.old !== null) id = this.markRemovedIn(this.old, key, h);
    if (id < 0) return -1;
    this.moveSome();
    const capacity = table.mask + 1;
    if (this.old === null && capacity > CAPACITY_MIN && this.indexed * 16 < capacity) this.resize(table);
    return id;
  }

  /** Forget every entry at once (a subclass renumbering its entries indexes them again). */
  protected clearIndex(): void {
    this.table = null;
    this.old = null;
    this.moved = 0;
  }

  /** Slots' count, for tests of the resizing. */
  protected get capacity(): number {
    return this.table === null ? 0 : this.table.mask + 1;
  }

  /** Whether a resize is still moving slots, for tests. */
  protected get resizing(): boolean {
    return this.old !== null;
  }

  /** The slot of `key` in `table`, or -1. */
  private slotIn(table: Table, key: string, h: number): number {
    const { hashes, ids, mask } = table;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = ids[i];
      if (v === EMPTY) return -1;
      if (v > 0 && hashes[i] === h && this.keyOf(v - 1) === key) return i;
    }
  }

  /**
   * Remove `key` from the table new entries go to, shifting later slots of its run back so that no
   * removed marker is left (probes stay short however many keys come and go).
   */
  private removeFrom(table: Table, key: string, h: number): number {
    const at = this.slotIn(table, key, h);
    if (at < 0) return -1;
    const { hashes, ids, mask } = table;
    const id = ids[at] - 1;
    let hole = at;
    for (let j = (hole + 1) & mask; ids[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashes[j] & mask;
      // Slot j stays when its home lies cyclically in (hole, j]: moved to the hole, a probe from
      // its home would stop at an empty slot before reaching it.
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      hashes[hole] = hashes[j];
      ids[hole] = ids[j];
      hole = j;
    }
    ids[hole] = EMPTY;
    table.count--;
    return id;
  }

  /** Remove `key` from a table being moved out of: a marker, as the move reads its slots where they are. */
  private markRemovedIn(table: Table, key: string, h: number): number {
    const at = this.slotIn(table, key, h);
    if (at < 0) return -1;
    const id = table.ids[at] - 1;
    table.ids[at] = REMOVED;
    table.count--;
    return id;
  }

  /** Start moving out of `table` to one sized for the entries; a move still under way finishes first. */
  private resize(table: Table): void {
    while (this.old !== null) this.moveSome();
    this.old = table;
    this.moved = 0;
    this.table = tableOf(capacityFor(table.count + 1));
  }

  private moveSome(): void {
    const old = this.old;
    if (old === null) return;
    const { hashes, ids } = old;
    const end = Math.min(this.moved + MOVE_STEP, ids.length);
    for (let i = this.moved; i < end; i++) {
      if (ids[i] <= 0) continue;
      place(this.table!, hashes[i], ids[i] - 1);
      old.count--;
    }
    this.moved = end;
    if (end === ids.length) this.old = null;
  }
}

function place(table: Table, h: number, id: number): void {
  const { hashes, ids, mask } = table;
  let i = h & mask;
  while (ids[i] > 0) i = (i + 1) & mask;
  hashes[i] = h;
  ids[i] = id + 1;
  table.count++;
}
