// Replies cross from a shard's worker thread to the engine by structured clone, which writes every
// object's keys as strings and every string's characters, reply after reply. A reservation answer
// (14 fields and an allocations list) is the common reply. The reservation answers of all the
// batches one message carries therefore cross as columns: their numbers in one Float64Array, their
// strings in lists, their allocations as location and quantity pairs, rebuilt on the engine's
// side. Cloned 4,096 to a message, a reservation answer cost about 1.2-1.4 µs as a flat array of
// its values (this module's form until 2026-12-08) and about 0.2 µs in columns (docs/benchmarks.md,
// "Replies and demand across threads in columns"). Other replies cross as they are.

import { singleAllocation } from './shared-allocations.js';
import type { Allocation, Command, Reply, ReservationState, ReservationView } from './types.js';

/** How each reply crosses. */
const OTHER = 0;
const VIEW = 1;
const VIEW_REPLAYED = 2;

const STATES: readonly ReservationState[] = ['PENDING', 'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'];

/** Per reservation answer in `numbers`: its state's place in STATES, then its numeric fields. */
const STATE = 0;
const REQUESTED = 1;
const QUANTITY = 2;
const PRIORITY = 3;
const CREATED_AT = 4;
const EXPIRES_AT = 5;
const ENDED_AT = 6;
const ALLOCATION_COUNT = 7;
const NUMBERS_PER_VIEW = 8;

/** Per reservation answer in `strings`: reservationId, sku, orderId, customerId, channel. */
const STRINGS_PER_VIEW = 5;

/** The replies to the batches one message carries, batch after batch. */
export interface CrossingReplies {
  batchIds: number[];
  batchSizes: number[];
  /** Per reply: OTHER (the next of `others`) or VIEW / VIEW_REPLAYED (the next reservation answer). */
  kinds: Uint8Array;
  others: Reply[];
  numbers: Float64Array;
  strings: string[];
  /** Per reservation answer: why it was released, or null. */
  endReasons: (string | null)[];
  /** Every reservation answer's allocations in turn: location, quantity, location, quantity … */
  allocations: (string | number)[];
}

/** Commands whose successful answer is a reservation view. */
const ANSWERED_WITH_A_RESERVATION = new Set<Command['type']>(['reserve', 'release', 'commit', 'getReservation']);

/** The answer's state's place in STATES when it is a reservation view, -1 when not. */
function viewStateOf(value: unknown): number {
  const v = value as Partial<ReservationView> | null;
  return typeof v === 'object' && v !== null && typeof v.reservationId === 'string' && Array.isArray(v.allocations) ? STATES.indexOf(v.state!) : -1;
}

/** In the worker: collects the replies of each batch until the message leaves (`take`). */
export class CrossingRepliesWriter {
  private batchIds: number[] = [];
  private batchSizes: number[] = [];
  // Grown and reused across messages; `take` copies out what one message needs.
  private kinds = new Uint8Array(1024);
  private numbers = new Float64Array(1024 * NUMBERS_PER_VIEW);
  private replyCount = 0;
  private numberCount = 0;
  private others: Reply[] = [];
  private strings: string[] = [];
  private endReasons: (string | null)[] = [];
  private allocations: (string | number)[] = [];

  add(batchId: number, commands: readonly Command[], replies: readonly Reply[]): void {
    this.batchIds.push(batchId);
    this.batchSizes.push(replies.length);
    this.makeRoom(replies.length);
    const { kinds, numbers } = this;
    let r = this.replyCount;
    let n = this.numberCount;
    for (let i = 0; i < replies.length; i++, r++) {
      const reply = replies[i];
      const state = reply.ok && ANSWERED_WITH_A_RESERVATION.has(commands[i].type) ? viewStateOf(reply.value) : -1;
      if (state < 0) {
        kinds[r] = OTHER;
        this.others.push(reply);
        continue;
      }
      const { value: view, replayed } = reply as { value: ReservationView; replayed?: true };
      kinds[r] = replayed ? VIEW_REPLAYED : VIEW;
      numbers[n + STATE] = state;
      numbers[n + REQUESTED] = view.requested;
      numbers[n + QUANTITY] = view.quantity;
      numbers[n + PRIORITY] = view.priority;
      numbers[n + CREATED_AT] = view.createdAt;
      numbers[n + EXPIRES_AT] = view.expiresAt;
      numbers[n + ENDED_AT] = view.endedAt;
      numbers[n + ALLOCATION_COUNT] = view.allocations.length;
      n += NUMBERS_PER_VIEW;
      this.strings.push(view.reservationId, view.sku, view.orderId, view.customerId, view.channel);
      this.endReasons.push(view.endReason);
      const list = view.allocations;
      for (let a = 0; a < list.length; a++) this.allocations.push(list[a].location, list[a].quantity);
    }
    this.replyCount = r;
    this.numberCount = n;
  }

  /** Nothing added since the last `take` (for tests). */
  get isEmpty(): boolean {
    return this.batchIds.length === 0;
  }

  /** What the next message carries; the writer starts empty again. */
  take(): CrossingReplies {
    const taken: CrossingReplies = {
      batchIds: this.batchIds,
      batchSizes: this.batchSizes,
      kinds: this.kinds.slice(0, this.replyCount),
      others: this.others,
      numbers: this.numbers.slice(0, this.numberCount),
      strings: this.strings,
      endReasons: this.endReasons,
      allocations: this.allocations,
    };
    this.batchIds = [];
    this.batchSizes = [];
    this.replyCount = 0;
    this.numberCount = 0;
    this.others = [];
    this.strings = [];
    this.endReasons = [];
    this.allocations = [];
    return taken;
  }

  private makeRoom(replies: number): void {
    const needed = this.replyCount + replies;
    if (needed <= this.kinds.length) return;
    let size = this.kinds.length;
    while (size < needed) size *= 2;
    const kinds = new Uint8Array(size);
    kinds.set(this.kinds.subarray(0, this.replyCount));
    const numbers = new Float64Array(size * NUMBERS_PER_VIEW);
    numbers.set(this.numbers.subarray(0, this.numberCount));
    this.kinds = kinds;
    this.numbers = numbers;
  }
}

/** In the engine: each batch's replies as the shard gave them, batch by batch in order. */
export function forEachCrossedBatch(crossing: CrossingReplies, visit: (batchId: number, replies: Reply[]) => void): void {
  const { batchIds, batchSizes, kinds, others, numbers, strings, endReasons, allocations } = crossing;
  let r = 0;
  let other = 0;
  let view = 0;
  let allocation = 0;
  for (let b = 0; b < batchIds.length; b++) {
    const replies: Reply[] = new Array(batchSizes[b]);
    for (let i = 0; i < replies.length; i++, r++) {
      if (kinds[r] === OTHER) {
        replies[i] = others[other++];
        continue;
      }
      const n = view * NUMBERS_PER_VIEW;
      const s = view * STRINGS_PER_VIEW;
      const count = numbers[n + ALLOCATION_COUNT];
      let list: ReservationView['allocations'];
      if (count === 1) list = singleAllocation(allocations[allocation] as string, allocations[allocation + 1] as number);
      else {
        const several: Allocation[] = [];
        for (let a = 0; a < count; a++) several.push({ location: allocations[allocation + 2 * a] as string, quantity: allocations[allocation + 2 * a + 1] as number });
        list = several;
      }
      allocation += 2 * count;
      // Typed as ReservationView, this literal stops compiling when the view gains a field: the
      // writer must then carry it too. Key order is reservationView()'s, so JSON answers read the same.
      const value: ReservationView = {
        reservationId: strings[s],
        sku: strings[s + 1],
        state: STATES[numbers[n + STATE]],
        orderId: strings[s + 2],
        customerId: strings[s + 3],
        channel: strings[s + 4],
        requested: numbers[n + REQUESTED],
        quantity: numbers[n + QUANTITY],
        allocations: list,
        priority: numbers[n + PRIORITY],
        createdAt: numbers[n + CREATED_AT],
        expiresAt: numbers[n + EXPIRES_AT],
        endedAt: numbers[n + ENDED_AT],
        endReason: endReasons[view],
      };
      view++;
      replies[i] = kinds[r] === VIEW_REPLAYED ? { ok: true, value, replayed: true } : { ok: true, value };
    }
    visit(batchIds[b], replies);
  }
}
