// What a SKU keeps for an idempotency key (sku.ts, IdempotencyValue): the open reservation a
// reserve placed, until it ends; then an entry of its own, so the ended reservation is not kept
// alive. Retries, snapshots and the TTL must read both forms alike.

import { describe, expect, it } from 'vitest';
import { decide, emptySku, evolve, forgetExpiredIdempotency, indexIdempotency, type SkuState } from '../src/actors/sku.js';
import type { Command, Reservation, SkuEvent } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { snapshotOf, stateOf } from '../src/persistence/codec.js';
import { idempotencyLogOfBlock } from '../src/persistence/idempotency-block.js';
import { reserve, setStock } from './helpers.js';

const limits = buildConfig({ limits: { idempotencyTtlMs: 60_000 } }).limits;

/** Decide and apply one command at `now`; the decision. */
function run(state: SkuState, command: Command, now: number) {
  const decision = decide(state, command, now, limits);
  if (decision.ok && 'events' in decision) for (const event of decision.events as SkuEvent[]) evolve(state, event, limits);
  return decision;
}

function placed(state: SkuState, command: Command, now: number): Reservation {
  const decision = run(state, command, now);
  if (!decision.ok || !('events' in decision)) throw new Error('expected events');
  const event = (decision.events as SkuEvent[])[0];
  if (event.type !== 'ReservationPlaced') throw new Error(`expected ReservationPlaced, got ${event.type}`);
  return event.reservation;
}

function stocked(sku: string): SkuState {
  const state = emptySku(sku);
  run(state, setStock(sku, 'w', 10), 1_000);
  return state;
}

describe('idempotency keys and the reservations they placed', () => {
  it('keep the open reservation itself, and an entry once it ended', () => {
    const state = stocked('S');
    const command = reserve('S', 1);
    const r = placed(state, command, 2_000);
    expect(state.idem!.get(command.idempotencyKey)).toBe(r);
    run(state, { type: 'release', reservationId: r.id, idempotencyKey: 'release-key-1' }, 3_000);
    expect(state.idem!.get(command.idempotencyKey)).toEqual({ kind: 'reserve', reservationId: r.id, at: 2_000 });
    expect(state.idem!.get('release-key-1')).toEqual({ kind: 'release', reservationId: r.id, at: 3_000 });
    // Still in the order the keys were first used (the TTL sweep relies on it).
    expect([...state.idem!.keys()]).toEqual([command.idempotencyKey, 'release-key-1']);
  });

  it('answer a retry the same way in both forms; another request under the key is refused in both', () => {
    const state = stocked('S');
    const command = reserve('S', 1);
    const r = placed(state, command, 2_000);
    const retried = () => decide(state, command, 2_500, limits);
    expect(retried()).toEqual({ ok: true, replay: { key: command.idempotencyKey, reservationId: r.id } });
    const misuse = { type: 'commit', reservationId: r.id, idempotencyKey: command.idempotencyKey } as Command;
    expect(decide(state, misuse, 2_500, limits)).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    run(state, { type: 'commit', reservationId: r.id, idempotencyKey: 'commit-key-1' }, 3_000);
    expect(retried()).toEqual({ ok: true, replay: { key: command.idempotencyKey, reservationId: r.id } });
    expect(decide(state, misuse, 3_500, limits)).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  });

  it('are written to a snapshot as the same records in both forms, and restored', () => {
    const state = stocked('S');
    const ended = reserve('S', 1);
    const open = reserve('S', 2);
    const a = placed(state, ended, 2_000);
    const b = placed(state, open, 2_100);
    run(state, { type: 'release', reservationId: a.id, idempotencyKey: 'release-key-2' }, 2_200);
    const records: unknown[] = [];
    const snapshot = snapshotOf(state);
    idempotencyLogOfBlock(snapshot.idemBlock!, 'S')!.forEach(0, (...record) => records.push(record));
    expect(records).toEqual([
      [ended.idempotencyKey, 'reserve', a.id, 2_000],
      [open.idempotencyKey, 'reserve', b.id, 2_100],
      ['release-key-2', 'release', a.id, 2_200],
    ]);
    const restored = stateOf(snapshot);
    // As the shard does before a restored SKU's first live command.
    indexIdempotency(restored, limits);
    expect(decide(restored, open, 2_300, limits)).toEqual({ ok: true, replay: { key: open.idempotencyKey, reservationId: b.id } });
  });

  it('age by the time the key was first used, whichever form holds it', () => {
    const state = stocked('S');
    const old = reserve('S', 1);
    const young = reserve('S', 1);
    placed(state, old, 2_000);
    const kept = placed(state, young, 40_000);
    // Both reservations are still open: the keys are the reservations themselves.
    forgetExpiredIdempotency(state, 2_000 + limits.idempotencyTtlMs + 1, limits);
    expect([...state.idem!.keys()]).toEqual([young.idempotencyKey]);
    expect(state.idem!.get(young.idempotencyKey)).toBe(kept);
  });
});
