// Channel names kept once per thread (shared-names.ts): equal names from different copies become
// one string, a reservation holds that one, and the table stops growing at its limit.

import { describe, expect, it } from 'vitest';
import { SHARED_CHANNELS_MAX, sharedChannel, sharedChannelCount } from '../src/actors/shared-names.js';
import { decide, emptySku, evolve } from '../src/actors/sku.js';
import type { SkuEvent } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { reserve, setStock } from './helpers.js';

/** A fresh copy of `s`, as a decoder or a thread crossing makes one. */
const copyOf = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

// Which copy of a string comes back is not observable from JavaScript (=== compares values), so
// these tests check the table's contents; the memory it saves is bench:memory's open-hold figure.
describe('shared channel names', () => {
  it('keep a name once, however many copies of it arrive', () => {
    const before = sharedChannelCount();
    expect(sharedChannel(copyOf('mobile'))).toBe('mobile');
    expect(sharedChannelCount()).toBe(before + 1);
    expect(sharedChannel(copyOf('mobile'))).toBe('mobile');
    expect(sharedChannelCount()).toBe(before + 1);
  });

  it('are what a placed reservation holds', () => {
    const limits = buildConfig({}).limits;
    const state = emptySku('S-CH');
    for (const e of (decide(state, setStock('S-CH', 'w', 5), 1_000, limits) as { events: SkuEvent[] }).events) evolve(state, e, limits);
    const before = sharedChannelCount();
    const decision = decide(state, reserve('S-CH', 1, { channel: copyOf('pos') }), 1_000, limits) as { events: SkuEvent[] };
    const placed = decision.events[0] as Extract<SkuEvent, { type: 'ReservationPlaced' }>;
    expect(placed.reservation.channel).toBe('pos');
    // The reserve took its channel through the table.
    expect(sharedChannelCount()).toBe(before + 1);
  });

  // Last: it fills this file's table (module state).
  it(`stop growing at SHARED_CHANNELS_MAX (${SHARED_CHANNELS_MAX}) names; later names are kept as given`, () => {
    for (let i = 0; sharedChannelCount() < SHARED_CHANNELS_MAX; i++) sharedChannel(`channel-${i}`);
    const late = copyOf('one-channel-too-many');
    expect(sharedChannel(late)).toBe('one-channel-too-many');
    expect(sharedChannelCount()).toBe(SHARED_CHANNELS_MAX);
  });
});
