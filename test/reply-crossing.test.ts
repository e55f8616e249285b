// Replies cross from a shard worker with reservation answers in columns
// (src/actors/reply-crossing.ts): what arrives must equal what left, batch by batch, field for
// field and in the same key order, and every other reply must arrive as it was.

import { describe, expect, it } from 'vitest';
import { CrossingRepliesWriter, forEachCrossedBatch, type CrossingReplies } from '../src/actors/reply-crossing.js';
import type { Command, Reply, ReservationView } from '../src/actors/types.js';
import { errorBody } from '../src/errors.js';

function view(overrides: Partial<ReservationView> = {}): ReservationView {
  return {
    reservationId: 'SKU-1:7',
    sku: 'SKU-1',
    state: 'ACTIVE',
    orderId: 'o-7',
    customerId: 'c-7',
    channel: 'web',
    requested: 5,
    quantity: 3,
    allocations: [
      { location: 'north', quantity: 2 },
      { location: 'south', quantity: 1 },
    ],
    priority: 10,
    createdAt: 1_796_400_000_000,
    expiresAt: 1_796_400_600_000,
    endedAt: 0,
    endReason: null,
    ...overrides,
  };
}

const command = (type: Command['type']) => ({ type }) as Command;

/** Each batch as the engine sees it after the crossing, structured clone included. */
function across(crossing: CrossingReplies): { id: number; replies: Reply[] }[] {
  const batches: { id: number; replies: Reply[] }[] = [];
  forEachCrossedBatch(structuredClone(crossing), (id, replies) => batches.push({ id, replies }));
  return batches;
}

function expectSameJson(arrived: unknown, left: unknown): void {
  expect(arrived).toEqual(left);
  expect(JSON.stringify(arrived)).toBe(JSON.stringify(left));
}

describe('reply crossing', () => {
  it('gives back every reservation answer exactly, in the same key order, replayed mark included', () => {
    const replies: Reply[] = [
      { ok: true, value: view() },
      { ok: true, value: view({ state: 'RELEASED', endedAt: 1_796_400_100_000, endReason: 'customer left' }) },
      { ok: true, value: view({ state: 'COMMITTED', allocations: [{ location: 'north', quantity: 3 }] }), replayed: true },
      { ok: true, value: view({ state: 'PENDING', quantity: 0, allocations: [] }) },
      { ok: true, value: view({ state: 'EXPIRED', endedAt: 1_796_400_600_000 }) },
    ];
    const commands = [command('reserve'), command('release'), command('commit'), command('getReservation'), command('getReservation')];
    const writer = new CrossingRepliesWriter();
    writer.add(41, commands, replies);
    const [batch] = across(writer.take());
    expect(batch.id).toBe(41);
    expectSameJson(batch.replies, replies);
  });

  it('keeps the batches of one message apart, in order, with every other reply as it was', () => {
    const listed = { reservations: [view()], next: null };
    const writer = new CrossingRepliesWriter();
    writer.add(1, [command('reserve'), command('getSku'), command('reserve')], [
      { ok: true, value: view({ reservationId: 'SKU-1:1' }) },
      { ok: true, value: { sku: 'SKU-1', onHand: 3 } as never },
      { ok: false, error: errorBody('INSUFFICIENT_STOCK') },
    ]);
    writer.add(2, [], []);
    // A reservation-shaped answer to a command not answered with a reservation is not rebuilt.
    writer.add(3, [command('listReservations'), command('reserve')], [
      { ok: true, value: listed as never },
      { ok: true, value: view({ reservationId: 'SKU-1:2', sku: 'SKU-1' }) },
    ]);
    const batches = across(writer.take());
    expect(batches.map((b) => b.id)).toEqual([1, 2, 3]);
    expectSameJson(batches[0].replies, [
      { ok: true, value: view({ reservationId: 'SKU-1:1' }) },
      { ok: true, value: { sku: 'SKU-1', onHand: 3 } },
      { ok: false, error: errorBody('INSUFFICIENT_STOCK') },
    ]);
    expect(batches[1].replies).toEqual([]);
    expectSameJson(batches[2].replies, [{ ok: true, value: listed }, { ok: true, value: view({ reservationId: 'SKU-1:2' }) }]);
  });

  it('sends a view with a state it does not know as it is, rather than guess', () => {
    const odd = { ok: true, value: { ...view(), state: 'ON_HOLD' } } as unknown as Reply;
    const writer = new CrossingRepliesWriter();
    writer.add(7, [command('reserve')], [odd]);
    const crossing = writer.take();
    expect(crossing.others).toEqual([odd]);
    expect(across(crossing)[0].replies).toEqual([odd]);
  });

  it('grows past its first room and starts empty after each message', () => {
    const writer = new CrossingRepliesWriter();
    const sent: Reply[][] = [];
    // 3 × 1,500 answers: past the 1,024 the writer starts with, within one message.
    for (let b = 0; b < 3; b++) {
      const replies: Reply[] = Array.from({ length: 1500 }, (_, i) => ({
        ok: true,
        value: view({ reservationId: `SKU-${b}:${i.toString(36)}`, sku: `SKU-${b}`, requested: i + 1, quantity: i + 1, allocations: [{ location: `dc-${i % 3}`, quantity: i + 1 }], createdAt: 1_796_400_000_000 + i }),
      }));
      sent.push(replies);
      writer.add(b, replies.map(() => command('reserve')), replies);
    }
    expect(writer.isEmpty).toBe(false);
    const batches = across(writer.take());
    expect(batches.map((b) => b.replies)).toEqual(sent);
    expect(writer.isEmpty).toBe(true);
    const next = writer.take();
    expect(next.batchIds).toEqual([]);
    expect(next.kinds.length).toBe(0);
    expect(next.numbers.length).toBe(0);
    // The next message carries only its own replies.
    writer.add(9, [command('reserve')], [{ ok: true, value: view() }]);
    expectSameJson(across(writer.take()), [{ id: 9, replies: [{ ok: true, value: view() }] }]);
  });
});
