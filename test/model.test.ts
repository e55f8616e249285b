// Model-based test: random sequences of reserve, release, commit, clock advances (holds and waits
// expire), restocks, low recounts (bumps), idempotent retries, crashes and clean restarts, run
// against a durable in-process shard and against a small reference model. Every reply and every
// SKU's totals must agree after every step; every reservation's state, and the states its audit
// trail went through, must agree at the end.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command, HistoryEntry, Reply, ReservationView, SkuView } from '../src/actors/types.js';
import { FakeClock, openTestShard, removeTempDirs, type TestShard } from './helpers.js';

afterAll(() => removeTempDirs());

const SKUS = ['A', 'B'] as const;
const LOCATION = 'w';
const BUMP_WAIT_MS = 10 * 60_000;

type State = ReservationView['state'];

interface ModelReservation {
  sku: string;
  requested: number;
  quantity: number;
  state: State;
  priority: number;
  arrival: number;
  expiresAt: number;
  holdTtlMs: number;
  /** The command that placed it, for idempotent retries, and its first answer. */
  command: Command;
  firstReply: Reply;
  realId: string;
  /** The state after each of its events, as its history must show them. */
  trail: State[];
}

function transition(r: ModelReservation, state: State): void {
  r.state = state;
  r.trail.push(state);
}

interface ModelSku {
  onHand: number;
  reservations: ModelReservation[];
  arrivals: number;
}

class Model {
  readonly skus = new Map<string, ModelSku>();
  readonly all: ModelReservation[] = [];

  constructor(
    public now: number,
    initial: number[],
  ) {
    SKUS.forEach((sku, i) => this.skus.set(sku, { onHand: initial[i], reservations: [], arrivals: 0 }));
  }

  reserved(sku: ModelSku): number {
    return sku.reservations.reduce((n, r) => n + (r.state === 'ACTIVE' ? r.quantity : 0), 0);
  }

  pending(sku: ModelSku): ModelReservation[] {
    return sku.reservations
      .filter((r) => r.state === 'PENDING')
      .sort((a, b) => b.priority - a.priority || a.arrival - b.arrival);
  }

  /** Serve waiting requests strictly in priority order, expiring those whose wait ran out. */
  fill(sku: ModelSku): void {
    for (;;) {
      const head = this.pending(sku)[0];
      if (!head) return;
      if (head.expiresAt <= this.now) {
        transition(head, 'EXPIRED');
        continue;
      }
      if (head.requested > sku.onHand - this.reserved(sku)) return;
      transition(head, 'ACTIVE');
      head.quantity = head.requested;
      head.expiresAt = this.now + head.holdTtlMs;
    }
  }

  /** What the shard does at the start of every turn: holds and waits that ran out expire. */
  expireDue(): void {
    for (const sku of this.skus.values()) {
      for (const r of sku.reservations) {
        if ((r.state === 'ACTIVE' || r.state === 'PENDING') && r.expiresAt <= this.now) {
          transition(r, 'EXPIRED');
        }
      }
      this.fill(sku);
    }
  }

  reserve(skuName: string, quantity: number, priority: number, queue: boolean, holdTtlMs: number, queueTtlMs: number): 'ACTIVE' | 'PENDING' | 'INSUFFICIENT_STOCK' {
    const sku = this.skus.get(skuName)!;
    const head = this.pending(sku)[0];
    const mayTake = !head || priority > head.priority;
    if (mayTake && quantity <= sku.onHand - this.reserved(sku)) return 'ACTIVE';
    if (queue) return 'PENDING';
    void holdTtlMs;
    void queueTtlMs;
    return 'INSUFFICIENT_STOCK';
  }

  recount(skuName: string, onHand: number): void {
    const sku = this.skus.get(skuName)!;
    sku.onHand = onHand;
    while (this.reserved(sku) > sku.onHand) {
      const victim = sku.reservations
        .filter((r) => r.state === 'ACTIVE')
        .sort((a, b) => a.priority - b.priority || b.arrival - a.arrival)[0];
      transition(victim, 'PENDING');
      victim.quantity = 0;
      victim.expiresAt = this.now + BUMP_WAIT_MS;
    }
    this.fill(sku);
  }
}

type Op =
  | { op: 'reserve'; sku: number; quantity: number; priority: number; queue: boolean; holdTtlMs: number; queueTtlMs: number }
  | { op: 'release' | 'commit' | 'retry'; pick: number }
  | { op: 'advance'; ms: number }
  | { op: 'restock'; sku: number; delta: number }
  | { op: 'recount'; sku: number; onHand: number }
  | { op: 'crash' | 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('reserve' as const),
      sku: fc.nat(1),
      quantity: fc.integer({ min: 1, max: 4 }),
      priority: fc.nat(2),
      queue: fc.boolean(),
      holdTtlMs: fc.constantFrom(1000, 3000, 5000),
      queueTtlMs: fc.constantFrom(2000, 6000),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('commit' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retry' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restock' as const), sku: fc.nat(1), delta: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recount' as const), sku: fc.nat(1), onHand: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

let keys = 0;
let events = 0;

async function runScenario(initial: number[], ops: Op[], checkpointEvery: number, pageEntries: number): Promise<void> {
  const clock = new FakeClock();
  const t: TestShard = openTestShard({ shard: { checkpointWalRecordsMax: checkpointEvery, checkpointPageEntries: pageEntries } }, clock);
  const model = new Model(clock.now, initial);
  try {
    for (const [i, sku] of SKUS.entries()) await t.ok({ type: 'setStock', sku, location: LOCATION, onHand: initial[i], eventId: `init-${++events}` });

    for (const op of ops) {
      switch (op.op) {
        case 'reserve': {
          const sku = SKUS[op.sku];
          const command: Command = {
            type: 'reserve',
            sku,
            idempotencyKey: `model-key-${++keys}`,
            orderId: 'o',
            customerId: `c-${keys}`,
            channel: 'web',
            quantity: op.quantity,
            priority: op.priority,
            queueIfShort: op.queue,
            holdTtlMs: op.holdTtlMs,
            queueTtlMs: op.queueTtlMs,
          };
          model.expireDue();
          const expected = model.reserve(sku, op.quantity, op.priority, op.queue, op.holdTtlMs, op.queueTtlMs);
          const reply = await t.run(command);
          if (expected === 'INSUFFICIENT_STOCK') {
            expect(reply.ok ? 'ok' : reply.error.code).toBe('INSUFFICIENT_STOCK');
            break;
          }
          expect(reply.ok ? (reply.value as ReservationView).state : reply.error.code).toBe(expected);
          const view = (reply as { value: ReservationView }).value;
          const modelSku = model.skus.get(sku)!;
          const r: ModelReservation = {
            sku,
            requested: op.quantity,
            quantity: expected === 'ACTIVE' ? op.quantity : 0,
            state: expected,
            priority: op.priority,
            arrival: ++modelSku.arrivals,
            expiresAt: clock.now + (expected === 'ACTIVE' ? op.holdTtlMs : op.queueTtlMs),
            holdTtlMs: op.holdTtlMs,
            command,
            firstReply: reply,
            realId: view.reservationId,
            trail: [expected],
          };
          modelSku.reservations.push(r);
          model.all.push(r);
          break;
        }
        case 'release':
        case 'commit': {
          if (model.all.length === 0) break;
          const r = model.all[op.pick % model.all.length];
          model.expireDue();
          const open = r.state === 'ACTIVE' || (op.op === 'release' && r.state === 'PENDING');
          const reply = await t.run({ type: op.op, reservationId: r.realId });
          if (!open) {
            expect(reply.ok ? 'ok' : reply.error.code).toBe('RESERVATION_NOT_ACTIVE');
            break;
          }
          expect(reply.ok).toBe(true);
          const sku = model.skus.get(r.sku)!;
          if (op.op === 'commit') {
            sku.onHand -= r.quantity;
            transition(r, 'COMMITTED');
          } else {
            transition(r, 'RELEASED');
          }
          model.fill(sku);
          break;
        }
        case 'retry': {
          if (model.all.length === 0) break;
          const r = model.all[op.pick % model.all.length];
          model.expireDue();
          expect(await t.run(r.command)).toEqual({ ...r.firstReply, replayed: true });
          break;
        }
        case 'advance':
          clock.advance(op.ms);
          model.now = clock.now;
          break;
        case 'restock': {
          const sku = SKUS[op.sku];
          model.expireDue();
          await t.ok({ type: 'adjustStock', sku, location: LOCATION, delta: op.delta, eventId: `restock-${++events}` });
          model.skus.get(sku)!.onHand += op.delta;
          model.fill(model.skus.get(sku)!);
          break;
        }
        case 'recount': {
          const sku = SKUS[op.sku];
          model.expireDue();
          await t.ok({ type: 'setStock', sku, location: LOCATION, onHand: op.onHand, eventId: `recount-${++events}` });
          model.recount(sku, op.onHand);
          break;
        }
        case 'crash':
          await t.reopen({ clean: false });
          break;
        case 'restart':
          await t.reopen({ clean: true });
          break;
      }
      // After every step the SKU totals agree (a query is a turn: due expiries happen first).
      model.expireDue();
      for (const [name, sku] of model.skus) {
        const view = await t.ok<SkuView>({ type: 'getSku', sku: name });
        const expected = {
          onHand: sku.onHand,
          reserved: model.reserved(sku),
          pending: model.pending(sku).length,
          openReservations: sku.reservations.filter((r) => r.state === 'ACTIVE' || r.state === 'PENDING').length,
        };
        expect({ onHand: view.onHand, reserved: view.reserved, pending: view.pending, openReservations: view.openReservations }).toEqual(expected);
      }
    }
    // At the end, every reservation's state and quantity agree.
    const replies = await t.shard.execute(model.all.map((r) => ({ type: 'getReservation', reservationId: r.realId }) as Command));
    const real = replies.map((reply) => {
      const v = (reply as { value: ReservationView }).value;
      return [v.state, v.state === 'ACTIVE' ? v.quantity : 0];
    });
    expect(real).toEqual(model.all.map((r) => [r.state, r.state === 'ACTIVE' ? r.quantity : 0]));
    // And so does every audit trail, read back across the crashes and restarts it spanned.
    const histories = await t.shard.execute(model.all.map((r) => ({ type: 'getReservationHistory', reservationId: r.realId }) as Command));
    const trails = histories.map((reply) => (reply as { value: HistoryEntry[] }).value.map((h) => h.reservation.state));
    expect(trails).toEqual(model.all.map((r) => r.trail));
  } finally {
    await t.shard.close().catch(() => undefined);
  }
}

describe('SKU actor against a reference model', () => {
  it('agrees on every reply, total and reservation across crashes and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.nat(6), fc.nat(6)),
        fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }),
        fc.constantFrom(1, 3, 1_000_000),
        // Pages of one or two holds and keys: most SKUs are checkpointed in pages (checkpoint-pages.ts).
        fc.constantFrom(1, 2, 4096),
        async (initial, ops, checkpointEvery, pageEntries) => runScenario(initial, ops, checkpointEvery, pageEntries),
      ),
      { numRuns: Number(process.env.MODEL_RUNS ?? 2000) },
    );
  }, 600_000);
});
