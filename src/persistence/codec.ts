// WAL and snapshot records. A WAL record is written in Stockade's own layout (wal-record.ts);
// records written before that layout, snapshots, alert notices and any event that layout has no
// kind for are msgpackr values. Plain structures only: Maps and Sets of the in-memory SKU state
// are turned into arrays here, so the on-disk format never depends on msgpackr extension settings.

import { Packr } from 'msgpackr';
import type { Alert } from '../alerts/alert.js';
import type { ReservationPlaced, SkuEvent, Reservation, Thresholds } from '../actors/types.js';
import { idempotencyAtOf, idempotencyKindOf, idempotencyReservationIdOf, keysHeld, type IdempotencyRecord, type LocationStock, type SkuState } from '../actors/sku.js';
import { CheckpointPages } from '../actors/checkpoint-pages.js';
import { openCount, openHoldsOf, openReservations } from '../actors/open-holds.js';
import { IdempotencyLog } from '../actors/idempotency-log.js';
import { storedReservation, type ReservationTuple } from './reservation-tuple.js';
import { reservationBlock, reservationsOfBlock } from './reservation-block.js';
import { idempotencyBlock, idempotencyLogOfBlock } from './idempotency-block.js';
import { decodeWalRecord, isWalRecordLayout, WalRecordWriter } from './wal-record.js';

// Size hints (bytes to reserve room for), about 3× what was measured, since a low hint lets
// msgpackr grow its buffer mid-pack (see RecordCodec) and a high one only costs address space.
/** Per WAL event msgpackr writes (one a record's layout has no kind for): most are far less. */
const EVENT_HINT = 512;
/** Per alert episode, or open reservation of a snapshot written before blocks (~115 B). */
const SNAPSHOT_RECORD_HINT = 320;
/** Per idempotency key (~36 B) or stock event id in a snapshot. */
const KEY_HINT = 128;
const SMALL_VALUE_HINT = 4096;
const ARENA_SLACK = 4096;
const ARENA_BYTES = 4 * 1024 * 1024;

/** One WAL record: everything one shard turn decided, written in one transaction. */
export interface WalRecord {
  seq: number;
  /** Shard clock at the turn. */
  at: number;
  events: SkuEvent[];
}

/** ReservationPlaced as msgpackr WAL records held it: the reservation as a tuple (reservation-tuple.ts). */
export interface ReservationPlacedLogged extends Omit<ReservationPlaced, 'reservation'> {
  r: ReservationTuple;
}

/**
 * Where the previous event of the same reservation is in the WAL (prevSeq 0: none, or not known).
 * Every event that changes a reservation after its placing carries one, so a reservation's trail
 * is found from its latest event alone (ShardStore.eventsOf).
 */
export interface PrevLink {
  prevSeq: number;
  prevIndex: number;
}

/** The events that change a placed reservation. */
export type ReservationChange = Extract<SkuEvent, { reservationId: string }>;

/** An event as msgpackr WAL records held it, the last form before Stockade's own record layout. */
export type LoggedEvent = Exclude<SkuEvent, ReservationPlaced | ReservationChange> | ReservationPlacedLogged | (ReservationChange & PrevLink);

/**
 * An event as the WAL may hold it: records in Stockade's own layout read back as domain events
 * with links; msgpackr records as LoggedEvent, or before tuples plain ReservationPlaced, and
 * before links changes without one.
 */
export type StoredEvent = LoggedEvent | ReservationPlaced | ReservationChange;

/** A WAL record as msgpackr records held it; `decodeRecord` turns a stored one back into a WalRecord. */
export interface LoggedRecord {
  seq: number;
  at: number;
  events: LoggedEvent[];
}

export interface StoredRecord {
  seq: number;
  at: number;
  events: StoredEvent[];
}

/** The link a stored event carries, if any (events written before links have none). */
export function prevLinkOf(stored: StoredEvent): PrevLink | null {
  const link = stored as Partial<PrevLink>;
  return link.prevSeq ? { prevSeq: link.prevSeq, prevIndex: link.prevIndex ?? 0 } : null;
}

/** A stored event as the domain knows it. */
export function eventOfLogged(logged: StoredEvent): SkuEvent {
  if (logged.type !== 'ReservationPlaced' || !('r' in logged)) return logged;
  const event: ReservationPlaced = { type: 'ReservationPlaced', sku: logged.sku, at: logged.at, reservation: storedReservation(logged.r, logged.sku) };
  if (logged.idem !== undefined) event.idem = logged.idem;
  return event;
}

export interface SkuSnapshot {
  sku: string;
  locations: LocationStock[];
  locationOrder: string[] | null;
  /**
   * The open reservations, as one block (reservation-block.ts). Snapshots written before blocks
   * have none and hold `open` instead. A decoded block may be a view of the bytes it was decoded
   * from (msgpackr does not copy binary values): `stateOf` reads it before they can be reused.
   */
  openBlock?: Buffer;
  /**
   * Older forms of the open reservations: tuples (reservation-tuple.ts), and before them
   * Reservation objects. Left out of new snapshots, so a version that only knows `open` fails to
   * read them rather than restoring a SKU without its holds.
   */
  open?: (ReservationTuple | Reservation)[];
  /** The remembered idempotency keys, oldest first, as one block (idempotency-block.ts), read as `openBlock` is. */
  idemBlock?: Buffer;
  /** The keys as snapshots before blocks held them; left out of new ones, as `open` is. */
  idem?: IdempotencyRecord[];
  eventIds: string[];
  thresholds: Thresholds | null;
  flag: SkuState['flag'];
  category: string | null;
  tags: string[] | null;
  nextReservationNo: number;
  /** Alert episodes: key, number, open firing notice. Absent in snapshots written before alerts. */
  episodes?: [key: string, no: number, open: Alert | null][];
  /**
   * Set when the SKU is kept in pages (snapshot-pages.ts): its holds and keys are in the store's
   * pages, not in `openBlock` and `idemBlock`.
   */
  paged?: PagedHeader;
  /** A paged SKU's page blocks, attached by the reader of the store; never written in the header. */
  holdPages?: Buffer[];
  keyPages?: Buffer[];
}

/**
 * Holds or keys per page, the run of remembered keys the pages hold, and the WAL record the SKU's
 * header and pages cover (checkpoint-pages.ts): later than the shard's checkpoint when the SKU
 * was checkpointed on its own since.
 */
export type PagedHeader = [entries: number, keysFirst: number, keysEnd: number, seq: number];

/**
 * WAL records go through `records` (wal-record.ts) and `decodeRecord`; everything else through
 * msgpackr with records: each object shape is written once as a structure and referenced by a
 * small id after that (measured on the WAL's reserve events before the record layout: 0.78 µs to
 * pack and 0.42 µs to unpack per event, 150 bytes, against 1.33 µs / 2.03 µs / 382 bytes for
 * plain msgpack).
 *
 * Records are only decodable with their structure table, so a store persists the table
 * (`persist`) whenever it grows, during the pack of the value that uses the new shape: queued
 * before that value's own put, in the same LMDB environment.
 *
 * Buffers: msgpackr appends each packed value to one buffer shared by every Packr in the thread,
 * and grows it in the middle of a pack when a value does not fit. Measured here (`npm run
 * bench:encode`, 2026-12-05): after one multi-megabyte value — a hot SKU's snapshot, or a turn of
 * 4,096 reserves — V8's element stores inside msgpackr's `pack` went megamorphic for the rest of
 * the thread (`node --log-ic`: "same map added twice"), and every later WAL event cost ~7 µs to
 * encode instead of ~1.2: a shard that checkpointed a hot SKU mid-sale stayed slow until restarted.
 * Handing msgpackr fresh 4 MiB arenas (or one the size of a bigger value's hint) kept it at
 * ~2.2 µs after such a checkpoint, for ~0.4 µs more per event before one. The mechanism is not
 * fully understood (with 256 KiB arenas the slowdown came back), so the arena size is a
 * measured setting: re-run bench:encode before changing it. An arena is never rewound: LMDB reads
 * a queued value's memory when its transaction commits, so bytes once returned stay untouched.
 */
export class RecordCodec {
  private readonly packr: Packr;
  /** The arena msgpackr is writing into, and where our last value in it ended. */
  private arena: Buffer | null = null;
  private arenaEnd = 0;
  /** WAL records are written in Stockade's own layout (wal-record.ts), one at a time. */
  readonly records: WalRecordWriter;

  constructor(stored: string[][] | undefined, persist: (structures: string[][]) => void) {
    const structures: string[][] = stored ? stored.map((keys) => [...keys]) : [];
    const options = {
      useRecords: true,
      moreTypes: false,
      structures,
      saveStructures: (current: string[][]) => {
        persist(current.map((keys) => [...keys]));
        return true;
      },
      getStructures: () => structures,
    };
    this.packr = new Packr(options as ConstructorParameters<typeof Packr>[0]);
    this.records = new WalRecordWriter((event) => this.packWithRoom(event, EVENT_HINT));
  }

  /** A codec whose structures live only in memory (benchmarks, tools that never reopen data). */
  static inMemory(): RecordCodec {
    return new RecordCodec(undefined, () => {});
  }

  /** `sizeHint`: a generous guess of the encoded size; a low guess costs speed, never correctness. */
  encode(value: unknown, sizeHint = SMALL_VALUE_HINT): Buffer {
    return this.packWithRoom(value, sizeHint);
  }

  decode<T>(bytes: Uint8Array): T {
    return this.packr.unpack(bytes) as T;
  }

  encodeSnapshot(snapshot: SkuSnapshot): Buffer {
    // The blocks' sizes are known exactly; the rest is estimated.
    const blockBytes = (snapshot.openBlock?.length ?? 0) + (snapshot.idemBlock?.length ?? 0);
    const records = (snapshot.open?.length ?? 0) + (snapshot.episodes?.length ?? 0);
    const keys = (snapshot.idem?.length ?? 0) + snapshot.eventIds.length;
    return this.packWithRoom(snapshot, blockBytes + records * SNAPSHOT_RECORD_HINT + keys * KEY_HINT + SMALL_VALUE_HINT);
  }

  /**
   * A whole record at once, each reservation change linked as its `prevSeq`/`prevIndex` say. A
   * shard turn writes through `records` instead, event by event as it decides them.
   */
  encodeRecord(record: WalRecord): Buffer {
    this.records.begin(record.seq, record.at, record.events.length);
    for (const event of record.events) {
      const link = event as Partial<PrevLink>;
      this.records.add(event, link.prevSeq ?? 0, link.prevIndex ?? 0);
    }
    return this.records.finish();
  }

  private packWithRoom(value: unknown, sizeHint: number): Buffer {
    // msgpackr starts a new buffer of its own when fewer than 2 KiB remain; ARENA_SLACK stays clear of that.
    const room = sizeHint + ARENA_SLACK;
    if (this.arena === null || this.arena.length - this.arenaEnd < room) {
      // A value bigger than an arena (a hot SKU's snapshot) gets an arena of its own size.
      this.arena = Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, room));
      this.arenaEnd = 0;
      this.packr.useBuffer(this.arena);
    }
    const bytes = this.packr.pack(value);
    // Another Packr in this thread (LMDB's own, for msgpack databases) shares msgpackr's buffer and
    // may have moved it on; then the next value starts a fresh arena.
    if (bytes.buffer === this.arena.buffer) this.arenaEnd = bytes.byteOffset + bytes.length;
    else this.arena = null;
    return bytes;
  }

  /** A stored record as the domain knows it (every event through `eventOfLogged`). */
  decodeRecord(bytes: Buffer): WalRecord {
    if (isWalRecordLayout(bytes)) return this.decodeWalRecord(bytes);
    const record = this.decodeLogged(bytes);
    const events = record.events;
    for (let i = 0; i < events.length; i++) events[i] = eventOfLogged(events[i]);
    return record as unknown as WalRecord;
  }

  /** A stored record as stored: for readers that need one event of it, or only its time. */
  decodeLogged(bytes: Buffer): StoredRecord {
    if (isWalRecordLayout(bytes)) return this.decodeWalRecord(bytes);
    return this.packr.unpack(bytes) as StoredRecord;
  }

  /** A record in Stockade's own layout: its events are already as the domain knows them. */
  private decodeWalRecord(bytes: Buffer): WalRecord {
    return decodeWalRecord(bytes, (other) => this.packr.unpack(other) as SkuEvent);
  }
}

export function snapshotOf(state: SkuState): SkuSnapshot {
  const snapshot = headerOf(state);
  snapshot.openBlock = reservationBlock(state.sku, openReservations(state), openCount(state));
  snapshot.idemBlock = keysBlock(state, 0, keysHeld(state));
  return snapshot;
}

/** Everything of a SKU's snapshot but its open holds and remembered keys. */
export function headerOf(state: SkuState): SkuSnapshot {
  return {
    sku: state.sku,
    locations: state.locations,
    locationOrder: state.locationOrder,
    eventIds: state.eventIds ? [...state.eventIds] : [],
    thresholds: state.thresholds,
    flag: state.flag,
    category: state.category,
    tags: state.tags,
    nextReservationNo: state.nextReservationNo,
    episodes: state.episodes ? [...state.episodes].map(([key, e]) => [key, e.no, e.open]) : [],
  };
}

/** The remembered keys at places `from` … `to` − 1 (the oldest held is 0), as one block. */
export function keysBlock(state: SkuState, from: number, to: number): Buffer {
  // At most one of the log and the table is set (sku.ts).
  const { idemLog, idem } = state;
  return idempotencyBlock(state.sku, to - from, (write) => {
    if (idemLog !== null) idemLog.writeEach(write, from, to);
    let left = to - from;
    idem?.forEach((v, key) => {
      if (left-- <= 0) return false;
      write.key(key, idempotencyKindOf(v), idempotencyReservationIdOf(v), idempotencyAtOf(v));
    }, from);
  });
}

export function stateOf(snapshot: SkuSnapshot): SkuState {
  const { sku, paged } = snapshot;
  if (paged && (!snapshot.holdPages || !snapshot.keyPages)) throw new Error(`snapshot of SKU ${sku} is kept in pages, and they were not read with it`);
  const reservations = paged
    ? snapshot.holdPages!.flatMap((page) => reservationsOfBlock(page, sku))
    : snapshot.openBlock
      ? reservationsOfBlock(snapshot.openBlock, sku)
      : (snapshot.open ?? []).map((stored) => storedReservation(stored, sku));
  const idemLog = paged
    ? keysOfPages(snapshot.keyPages!, sku, paged)
    : snapshot.idemBlock
      ? idempotencyLogOfBlock(snapshot.idemBlock, sku)
      : snapshot.idem?.length
        ? IdempotencyLog.of(sku, snapshot.idem)
        : null;
  const pending = reservations.filter((r) => r.state === 'PENDING');
  pending.sort((a, b) => b.priority - a.priority || a.arrival - b.arrival);
  let activeQuantity = 0;
  for (const r of reservations) if (r.state === 'ACTIVE') activeQuantity += r.quantity;
  const holds = openHoldsOf(reservations);
  // Fields in emptySku's order: every SKU state then has one shape for V8.
  return {
    sku: snapshot.sku,
    locations: snapshot.locations,
    locationOrder: snapshot.locationOrder,
    sole: holds.sole,
    open: holds.open,
    pending: pending.length ? pending : null,
    customers: holds.customers,
    idem: null,
    // Indexed on the SKU's first live command (indexIdempotency), as replayed keys are.
    idemLog,
    eventIds: snapshot.eventIds.length ? new Set(snapshot.eventIds) : null,
    thresholds: snapshot.thresholds,
    flag: snapshot.flag,
    category: snapshot.category,
    tags: snapshot.tags,
    nextReservationNo: snapshot.nextReservationNo,
    activeQuantity,
    episodes: snapshot.episodes?.length ? new Map(snapshot.episodes.map(([key, no, open]) => [key, { no, open }] as const)) : null,
    // A SKU not in pages starts its count at the keys it holds: only the run's length matters
    // until its first paged checkpoint, which writes every key.
    keysRemembered: paged ? paged[2] : (idemLog?.length ?? 0),
    pages: paged ? new CheckpointPages(paged[0], paged[1], paged[2], paged[3], true) : null,
    dirty: false,
    series: null,
  };
}

/** A paged SKU's keys, every page in order into one log; the run must be the one its header names. */
function keysOfPages(pages: Buffer[], sku: string, [, keysFirst, keysEnd]: PagedHeader): IdempotencyLog | null {
  let log: IdempotencyLog | null = null;
  for (const page of pages) log = idempotencyLogOfBlock(page, sku, log);
  const count = log?.length ?? 0;
  if (count !== keysEnd - keysFirst) throw new Error(`snapshot of SKU ${sku}: its pages hold ${count} idempotency keys where its header names ${keysEnd - keysFirst}`);
  return count > 0 ? log : null;
}
