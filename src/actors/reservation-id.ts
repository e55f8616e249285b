// Reservation ids: the SKU, a separator and the SKU's own reservation number in base 36
// ("sku-1:2s"). The SKU in the id routes a release or commit to its shard without a lookup.

const SEPARATOR = ':';
const SEPARATOR_CODE = SEPARATOR.charCodeAt(0);
/**
 * The longest number part `reservationNoIn` turns back into a number: 36^10 < 2^53, so up to ten
 * digits a number holds the id exactly. Longer ones (never issued: numbers count up from 1) stay ids.
 */
const EXACT_DIGITS_MAX = 10;

export function reservationIdOf(sku: string, no: number): string {
  return sku + SEPARATOR + no.toString(36);
}

/** The SKU and the per-SKU number inside a reservation id, or null when it is not one of ours. */
export function parseReservationId(id: string): { sku: string; no: number } | null {
  const cut = id.indexOf(SEPARATOR);
  if (cut <= 0 || cut === id.length - 1) return null;
  const numberPart = id.slice(cut + 1);
  if (!/^[0-9a-z]{1,11}$/.test(numberPart)) return null;
  return { sku: id.slice(0, cut), no: parseInt(numberPart, 36) };
}

/**
 * The number `n` for which `reservationIdOf(sku, n) === id`, or -1 when there is none. Lets a
 * store keep a number in place of an id string: no allocation, and nothing for the collector to
 * copy or mark.
 */
export function reservationNoIn(sku: string, id: string): number {
  const start = sku.length + 1;
  const digits = id.length - start;
  if (digits < 1 || digits > EXACT_DIGITS_MAX || id.charCodeAt(sku.length) !== SEPARATOR_CODE || !id.startsWith(sku)) return -1;
  return numberFrom(id, start);
}

/**
 * The number after the last separator of `id`, read as `reservationNoIn` would, or -1. It does not
 * look at the SKU part: a caller that finds a reservation by it compares that reservation's id
 * with `id`, which checks the SKU and the spelling at once (and is one pointer comparison when
 * `id` is the very string the reservation holds, as with ids handed back in-process).
 */
export function reservationNoAtEnd(id: string): number {
  let start = id.length;
  while (start > 0 && id.charCodeAt(start - 1) !== SEPARATOR_CODE) start--;
  const digits = id.length - start;
  if (start === 0 || digits < 1 || digits > EXACT_DIGITS_MAX) return -1;
  return numberFrom(id, start);
}

/** The number `id[start…]` spells as reservationIdOf writes it (base 36, no leading zero), or -1. */
function numberFrom(id: string, start: number): number {
  const digits = id.length - start;
  let no = 0;
  for (let i = start; i < id.length; i++) {
    const digit = base36Digit(id.charCodeAt(i));
    // A leading zero would read back as a shorter id.
    if (digit < 0 || (digit === 0 && i === start && digits > 1)) return -1;
    no = no * 36 + digit;
  }
  return no;
}

/** The value of one digit as Number.prototype.toString(36) writes it (0-9 then a-z), or -1. */
function base36Digit(code: number): number {
  return code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 122 ? code - 87 : -1;
}

/**
 * `reservationNoIn` for an id given as its UTF-8 bytes, `bytes[start, end)`, as a snapshot holds
 * it: restoring one need not make the id a string only to turn it into its number. -1 also when
 * the SKU is not ASCII (its bytes are not its char codes); the caller then reads the string.
 */
export function reservationNoInBytes(sku: string, bytes: Uint8Array, start: number, end: number): number {
  const digitsAt = start + sku.length + 1;
  const digits = end - digitsAt;
  if (digits < 1 || digits > EXACT_DIGITS_MAX || bytes[digitsAt - 1] !== SEPARATOR_CODE) return -1;
  for (let i = 0; i < sku.length; i++) {
    const c = sku.charCodeAt(i);
    if (c >= 0x80 || bytes[start + i] !== c) return -1;
  }
  let no = 0;
  for (let i = digitsAt; i < end; i++) {
    const digit = base36Digit(bytes[i]);
    if (digit < 0 || (digit === 0 && i === digitsAt && digits > 1)) return -1;
    no = no * 36 + digit;
  }
  return no;
}
