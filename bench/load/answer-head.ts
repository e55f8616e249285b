// How the load generator reads a msgpack answer: only its head. A granted reserve's answer is
// `{ id, ok: true, result: <reservation> }`, and all the generator needs from it is `id` and `ok`.
// Decoding the whole reservation (14 fields and a list) was about 43 % of the generator's
// allocation, and the generator shares the machine's two cores with the server it measures: its
// collections and its CPU are part of every figure (docs/benchmarks.md, "Against a durable Redis,
// and the rig's own floor"). A frame whose head is not the expected one, and every refusal (whose
// code is needed), is decoded in full by the caller.

/** An answer's id when the frame opens `{ id: <unsigned integer>, ok: true, …`; otherwise null. */
export function grantedAnswerId(frame: Uint8Array): number | null {
  // msgpackr writes an object as map16 (0xde), whatever its size; fixmap (0x8n) is read too.
  let p: number;
  if (frame[0] === 0xde && frame[1] === 0) p = 3;
  else if ((frame[0] & 0xf0) === 0x80) p = 1;
  else return null;
  // "id"
  if (frame[p] !== 0xa2 || frame[p + 1] !== 0x69 || frame[p + 2] !== 0x64) return null;
  p += 3;
  let id: number;
  const tag = frame[p];
  if (tag < 0x80) {
    id = tag;
    p += 1;
  } else if (tag === 0xcc) {
    id = frame[p + 1];
    p += 2;
  } else if (tag === 0xcd) {
    id = (frame[p + 1] << 8) | frame[p + 2];
    p += 3;
  } else if (tag === 0xce) {
    id = frame[p + 1] * 0x1000000 + ((frame[p + 2] << 16) | (frame[p + 3] << 8) | frame[p + 4]);
    p += 5;
  } else return null;
  // "ok": true
  if (frame[p] !== 0xa2 || frame[p + 1] !== 0x6f || frame[p + 2] !== 0x6b || frame[p + 3] !== 0xc3) return null;
  return id;
}
