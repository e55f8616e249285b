// Dead letters: list what the consumers moved to the DEAD_LETTERS stream, and replay one to its
// original subject once its cause is fixed. A replayed message is removed from the dead-letter
// stream only after JetStream stored the replay, so a failure in between loses nothing (at worst
// the same dead letter is listed again and can be replayed again: the event id still guards
// against applying it twice).

import { jetstream, type JetStreamManager, type JsMsg, type StoredMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { ErrorBody } from '../errors.js';
import { DEAD_LETTER_STREAM } from './nats.js';

export interface DeadLetter {
  seq: number;
  time: string;
  subject: string;
  reason: string | null;
  detail: string | null;
  original: { subject: string | null; stream: string | null; sequence: number | null };
  deliveries: number | null;
  headers: Record<string, string[]>;
  /** The payload as text when it is UTF-8, else base64 (`payloadEncoding`). */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
}

export const DEAD_LETTERS_LIST_MAX = 1000;

/** The headers a dead letter carries beside its original ones (written by the consumers). */
export const DEAD_LETTER_HEADERS = {
  reason: 'Stockade-Reason',
  detail: 'Stockade-Reason-Detail',
  subject: 'Stockade-Original-Subject',
  stream: 'Stockade-Original-Stream',
  sequence: 'Stockade-Original-Sequence',
  msgId: 'Stockade-Original-Msg-Id',
  deliveries: 'Stockade-Deliveries',
} as const;
const H = DEAD_LETTER_HEADERS;
const STOCKADE_HEADER = /^Stockade-/i;

function describe(m: StoredMsg): DeadLetter {
  const headers: Record<string, string[]> = {};
  for (const [key, values] of m.header) headers[key] = [...values];
  const text = Buffer.from(m.data).toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(Buffer.from(m.data));
  const sequence = m.header.get(H.sequence);
  const deliveries = m.header.get(H.deliveries);
  return {
    seq: m.seq,
    time: m.time.toISOString(),
    subject: m.subject,
    reason: m.header.get(H.reason) || null,
    detail: m.header.get(H.detail) || null,
    original: {
      subject: m.header.get(H.subject) || null,
      stream: m.header.get(H.stream) || null,
      sequence: sequence ? Number(sequence) : null,
    },
    deliveries: deliveries ? Number(deliveries) : null,
    headers,
    payload: utf8 ? text : Buffer.from(m.data).toString('base64'),
    payloadEncoding: utf8 ? 'utf8' : 'base64',
  };
}

/** Sequences looked at per listing, replayed (deleted) ones included. */
const DEAD_LETTERS_SCAN_MAX = 10_000;

/** Dead letters from sequence `after + 1` on, oldest first, at most `limit`. */
export async function listDeadLetters(jsm: JetStreamManager, after: number, limit: number): Promise<DeadLetter[]> {
  const { state } = await jsm.streams.info(DEAD_LETTER_STREAM);
  const letters: DeadLetter[] = [];
  const first = Math.max(after + 1, state.first_seq);
  const last = Math.min(state.last_seq, first + DEAD_LETTERS_SCAN_MAX - 1);
  for (let seq = first; seq <= last && letters.length < Math.min(limit, DEAD_LETTERS_LIST_MAX); seq++) {
    const m = await storedAt(jsm, seq);
    if (m) letters.push(describe(m));
  }
  return letters;
}

/** The message at a sequence, or null when there is none (never written, or replayed). */
async function storedAt(jsm: JetStreamManager, seq: number): Promise<StoredMsg | null> {
  try {
    return await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq });
  } catch (err) {
    if (/no message found/i.test((err as Error).message)) return null;
    throw err;
  }
}

export type ReplayOutcome = { replayed: true; subject: string; streamSequence: number } | { replayed: false; reason: 'NOT_FOUND' | 'NO_ORIGINAL_SUBJECT' };

/**
 * Publish a dead letter again to its original subject, with its original headers (Stockade's
 * own removed) and a fresh Nats-Msg-Id, so JetStream's duplicate window does not drop it.
 */
export async function replayDeadLetter(nc: NatsConnection, jsm: JetStreamManager, seq: number): Promise<ReplayOutcome> {
  const m = await storedAt(jsm, seq);
  if (!m) return { replayed: false, reason: 'NOT_FOUND' };
  const subject = m.header.get(H.subject);
  if (!subject) return { replayed: false, reason: 'NO_ORIGINAL_SUBJECT' };
  const h = natsHeaders();
  for (const [key, values] of m.header) {
    if (STOCKADE_HEADER.test(key) || key === 'Nats-Msg-Id') continue;
    for (const value of values) h.append(key, value);
  }
  const originalId = m.header.get(H.msgId) || m.header.get('Nats-Msg-Id');
  const ack = await jetstream(nc).publish(subject, m.data, { headers: h, msgID: `${originalId}:replay:${m.seq}` });
  await jsm.streams.deleteMessage(DEAD_LETTER_STREAM, m.seq);
  return { replayed: true, subject, streamSequence: ack.seq };
}

/**
 * Keep a message that can never apply on the dead-letter stream — its bytes, its original headers,
 * the reason and where it came from — then stop its redelivery. Keyed by the original stream
 * position, so a message redelivered while it was being dead-lettered is kept once. Resolves
 * null, or the failure when the dead-letter stream was not reached: then the message is handed
 * back (nak after `retryDelayMs`) for a later delivery.
 */
export async function deadLetterMessage(nc: NatsConnection, subject: string, m: JsMsg, error: ErrorBody, retryDelayMs: number): Promise<Error | null> {
  const h = natsHeaders();
  if (m.headers) for (const [key, values] of m.headers) for (const value of values) h.append(key, value);
  h.set(H.reason, error.code);
  // One header line: a control character from the payload must not end the header early.
  h.set(H.detail, (error.message + (error.details ? ` ${JSON.stringify(error.details)}` : '')).replace(/[\u0000-\u001f]+/g, ' '));
  h.set(H.subject, m.subject);
  h.set(H.stream, m.info.stream);
  h.set(H.sequence, String(m.seq));
  h.set(H.deliveries, String(m.info.deliveryCount));
  const originalMsgId = m.headers?.get('Nats-Msg-Id');
  if (originalMsgId) h.set(H.msgId, originalMsgId);
  h.set('Nats-Msg-Id', `${m.info.stream}:${m.seq}`);
  try {
    await jetstream(nc).publish(subject, m.data, { headers: h });
  } catch (err) {
    m.nak(retryDelayMs);
    return err as Error;
  }
  // term() without a reason: nats-server 2.9 leaves a message terminated with one pending (seen
  // in the notifier's tests), and the reason is on the dead letter already.
  m.term();
  return null;
}
