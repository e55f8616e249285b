// InProgressAcks: which held messages get an in-progress ack, and when (fake timers). The effect
// on a real JetStream consumer — no redelivery however long the engine holds an event — is in
// stock-events.test.ts.

import type { JsMsg } from '@nats-io/jetstream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InProgressAcks } from '../src/streams/in-progress.js';

function message(): JsMsg & { workingCalls: number } {
  const m = { workingCalls: 0, working() { m.workingCalls++; } };
  return m as unknown as JsMsg & { workingCalls: number };
}

describe('InProgressAcks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('acks a message held across a whole tick (a quarter of ack_wait), every tick until released', () => {
    const acks = new InProgressAcks(1000);
    const m = message();
    acks.hold(m);
    vi.advanceTimersByTime(250); // first tick: held for less than a tick so far
    expect(m.workingCalls).toBe(0);
    vi.advanceTimersByTime(250); // within half an ack_wait of being taken in
    expect(m.workingCalls).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(m.workingCalls).toBe(5);
    acks.release(m);
    vi.advanceTimersByTime(1000);
    expect(m.workingCalls).toBe(5);
    expect(acks.sent).toBe(5);
  });

  it('never acks a message settled within a tick, and stops ticking when nothing is held', () => {
    const acks = new InProgressAcks(1000);
    const quick = message();
    acks.hold(quick);
    vi.advanceTimersByTime(200);
    acks.release(quick);
    vi.advanceTimersByTime(2000);
    expect(quick.workingCalls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps acking the messages still held when others settle', () => {
    const acks = new InProgressAcks(400);
    const [a, b] = [message(), message()];
    acks.hold(a);
    acks.hold(b);
    vi.advanceTimersByTime(200);
    expect([a.workingCalls, b.workingCalls]).toEqual([1, 1]);
    acks.release(a);
    vi.advanceTimersByTime(300);
    expect([a.workingCalls, b.workingCalls]).toEqual([1, 4]);
    expect(acks.holding).toBe(1);
  });

  it('survives a connection that can no longer send, and forgets everything on stop', () => {
    const acks = new InProgressAcks(1000);
    const broken = { working() { throw new Error('connection closed'); } } as unknown as JsMsg;
    const m = message();
    acks.hold(broken);
    acks.hold(m);
    vi.advanceTimersByTime(500);
    expect(m.workingCalls).toBe(1);
    expect(acks.sent).toBe(1);
    acks.stop();
    expect(acks.holding).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
