// The load generator's reading of a msgpack answer's head (bench/load/answer-head.ts): it must
// find the id of every grant msgpackr writes, and say null (decode in full) for anything else.

import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { grantedAnswerId } from '../bench/load/answer-head.js';

// The gateway's settings (src/gateway/push.ts).
const packr = new Packr({ useRecords: false, moreTypes: false });
const reservation = { reservationId: 'r-1', sku: 'SKU-1', state: 'ACTIVE', quantity: 1, allocations: [{ location: 'default', quantity: 1 }] };

describe('the load generator reads a grant from the answer’s head', () => {
  it('finds the id of a granted answer, on every integer form up to 32 bits', () => {
    for (const id of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000, 0xffffffff]) {
      expect(grantedAnswerId(packr.pack({ id, ok: true, result: reservation }))).toBe(id);
      expect(grantedAnswerId(packr.pack({ id, ok: true, result: reservation, replayed: true }))).toBe(id);
    }
  });

  it('agrees with a full decode for any answer: the id of a grant, null for the rest', () => {
    const answer = fc.oneof(
      fc.record({ id: fc.integer({ min: 0, max: 0xffffffff }), ok: fc.constant(true), result: fc.jsonValue() }),
      fc.record({ id: fc.integer({ min: 0, max: 0xffffffff }), ok: fc.constant(false), error: fc.record({ code: fc.string() }) }),
      fc.record({ id: fc.oneof(fc.string(), fc.constant(null), fc.double(), fc.maxSafeInteger()), ok: fc.boolean() }),
      fc.record({ ok: fc.constant(true), id: fc.nat() }),
    );
    fc.assert(
      fc.property(answer, (a) => {
        const frame = packr.pack(a);
        const decoded = packr.unpack(frame) as { id?: unknown; ok?: unknown };
        const keys = Object.keys(decoded);
        const expected = keys[0] === 'id' && keys[1] === 'ok' && decoded.ok === true && Number.isInteger(decoded.id) && (decoded.id as number) >= 0 && (decoded.id as number) <= 0xffffffff ? decoded.id : null;
        // A grant whose id msgpackr wrote as a float (never, for a whole number under 2^32) would only cost a full decode.
        expect(grantedAnswerId(frame)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads a fixmap head too, and gives null for truncated or foreign frames without throwing', () => {
    const fixmap = Uint8Array.from([0x83, 0xa2, 0x69, 0x64, 0x05, 0xa2, 0x6f, 0x6b, 0xc3, 0xa6, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0xc0]);
    expect(grantedAnswerId(fixmap)).toBe(5);
    const whole = packr.pack({ id: 70_000, ok: true, result: reservation });
    for (let cut = 0; cut < 12; cut++) expect(grantedAnswerId(whole.subarray(0, cut))).toBeNull();
    for (const foreign of [new Uint8Array(0), Uint8Array.from([0xc0]), Buffer.from('{"id":1,"ok":true}'), packr.pack([1, true])]) {
      expect(grantedAnswerId(foreign)).toBeNull();
    }
  });
});
