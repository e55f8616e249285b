// V8's allocation-site pretenuring, turned off while shards recover.
//
// V8 allocates objects from a site whose objects mostly survived their first scavenge straight
// into the old generation. Replaying a sale's WAL, a reservation lives from its reserve to its
// commit or release a few turns later: long enough that V8 pretenures every reservation, short
// enough that they then die in the old generation, which only a full mark-compact frees. With
// pretenuring off they die young instead: one-shard recovery of a 2M-event lifecycle WAL took
// 3.2–5.0 s against 3.8–7.6 s with it (5 alternating pairs), while a WAL whose 1M reservations all
// stay open recovered the same either way (docs/benchmarks.md, "Pretenuring off while shards
// recover"). Serving keeps V8's default (on): with it kept off for the whole process, three
// interleaved pairs of the WebSocket load benchmark showed no direction either way
// (docs/benchmarks.md, "The gateway thread's garbage").
//
// The setting is V8's, shared by every thread of the process, so one thread owns it: the main
// thread (Engine.start around every shard's recovery, or Shard.open when a shard runs there, as in
// benchmarks and tests). Calls nest; the last `end` turns it back on.

import v8 from 'node:v8';

let recovering = 0;

/** How the flag is set: V8's own, replaced only by tests. */
export const pretenuringFlag = {
  set(on: boolean): void {
    v8.setFlagsFromString(on ? '--allocation-site-pretenuring' : '--no-allocation-site-pretenuring');
  },
};

export function beginRecovery(): void {
  if (recovering++ === 0) pretenuringFlag.set(false);
}

export function endRecovery(): void {
  if (recovering === 0) throw new Error('endRecovery without beginRecovery');
  if (--recovering === 0) pretenuringFlag.set(true);
}
