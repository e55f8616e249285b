// Dead letters: list what the consumers moved to the DEAD_LETTERS stream, and replay one to its
// original subject once its cause is fixed. A replayed message is removed from the dead-letter
// stream only after JetStream stored the replay, so a failure in between loses nothing (at worst
// the same dead letter is listed again and can be replayed again: the event id still guards
// against applying it twice).

import { jetstream, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
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
