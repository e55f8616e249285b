// Reservation answers cross from a shard worker flattened (src/actors/reply-crossing.ts): what
// arrives must equal what left, field for field and in the same key order, and nothing else may
// be touched.

import { describe, expect, it } from 'vitest';
import { fromCrossing, toCrossing } from '../src/actors/reply-crossing.js';
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

/** Through the crossing as the worker and the engine see it, structured clone included. */
function across(commands: Command[], replies: Reply[]): Reply[] {
  return structuredClone(toCrossing(commands, replies)).map(fromCrossing);
}

describe('reply crossing', () => {
  it('gives back every reservation answer exactly, in the same key order, replayed mark included', () => {
    const replies: Reply[] = [
      { ok: true, value: view() },
      { ok: true, value: view({ state: 'RELEASED', endedAt: 1_796_400_100_000, endReason: 'customer left' }) },
      { ok: true, value: view({ state: 'COMMITTED' }), replayed: true },
      { ok: true, value: view({ state: 'PENDING', quantity: 0, allocations: [] }) },
    ];
    const commands = [command('reserve'), command('release'), command('commit'), command('getReservation')];
    const arrived = across(commands, replies);
    expect(arrived).toEqual(replies);
    for (let i = 0; i < replies.length; i++) {
      expect(JSON.stringify(arrived[i])).toBe(JSON.stringify(replies[i]));
    }
  });

  it('flattens reservation answers only', () => {
    const crossing = toCrossing([command('reserve'), command('getSku'), command('reserve')], [
      { ok: true, value: view() },
      { ok: true, value: { sku: 'SKU-1', onHand: 3 } as never },
      { ok: false, error: errorBody('INSUFFICIENT_STOCK') },
    ]);
    expect('flat' in crossing[0]).toBe(true);
    expect(crossing[1]).toEqual({ ok: true, value: { sku: 'SKU-1', onHand: 3 } });
    expect(crossing[2]).toEqual({ ok: false, error: errorBody('INSUFFICIENT_STOCK') });
  });

  it('leaves an answer alone when the command is not one answered with a reservation, whatever it looks like', () => {
    const lookalike: Reply = { ok: true, value: view() };
    const crossing = toCrossing([command('listReservations')], [lookalike]);
    expect(crossing[0]).toBe(lookalike);
  });
});
