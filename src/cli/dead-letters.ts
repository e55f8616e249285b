// `stockade dead-letters list|replay`: the stream consumers' dead letters (admin HTTP routes).

import type { DeadLetter, ReplayOutcome } from '../streams/dead-letters.js';
import { HTTP_OPTIONS, HTTP_OPTIONS_HELP, parse, wholeNumber } from './args.js';
import type { CliCommand } from './command.js';
import { CommandFailed, UsageError } from './exit.js';
import { StockadeClient } from './http-client.js';
import { printJson, printLine, progress, table } from './output.js';

/** The server's bound on one listing (GET /v1/dead-letters limit). */
const LIST_LIMIT_MAX = 1000;
/** `replay --all` collects at most this many sequences before it starts replaying. */
export const REPLAY_ALL_LETTERS_MAX = 100_000;

const LIST_OPTIONS = { ...HTTP_OPTIONS, after: { type: 'string' }, limit: { type: 'string' } } as const;
const REPLAY_OPTIONS = { ...HTTP_OPTIONS, all: { type: 'boolean' } } as const;

async function list(client: StockadeClient, after: number, limit: number): Promise<DeadLetter[]> {
  const query = new URLSearchParams({ after: String(after), limit: String(limit) });
  return (await client.request<{ deadLetters: DeadLetter[] }>('GET', `/v1/dead-letters?${query}`)).deadLetters;
}

async function runList(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, LIST_OPTIONS);
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const after = values.after === undefined ? 0 : wholeNumber('--after', values.after);
  const limit = values.limit === undefined ? 100 : wholeNumber('--limit', values.limit, 1, LIST_LIMIT_MAX);
  const letters = await list(StockadeClient.from(values), after, limit);
  if (values.json) {
    printJson({ deadLetters: letters });
    return 0;
  }
  if (letters.length === 0) {
    printLine(`no dead letters after sequence ${after}`);
    return 0;
  }
  printLine(
    table(
      ['seq', 'time', 'original subject', 'reason', 'deliveries', 'detail'],
      letters.map((l) => [l.seq, l.time, l.original.subject ?? l.subject, l.reason ?? '-', l.deliveries ?? '-', (l.detail ?? '').slice(0, 80)]),
    ),
  );
  printLine(`\n${letters.length} shown; next page: --after ${letters[letters.length - 1].seq}`);
  return 0;
}

type ReplayLine = { seq: number; ok: true; subject: string; streamSequence: number } | { seq: number; ok: false; code: string; message: string };

async function allSequences(client: StockadeClient): Promise<number[]> {
  const seqs: number[] = [];
  let after = 0;
  for (;;) {
    const page = await list(client, after, LIST_LIMIT_MAX);
    if (page.length === 0) return seqs;
    for (const letter of page) {
      if (seqs.length === REPLAY_ALL_LETTERS_MAX) {
        throw new CommandFailed('TOO_MANY_DEAD_LETTERS', `more than ${REPLAY_ALL_LETTERS_MAX} dead letters; replay them in ranges (list --after, then replay <seq…>)`);
      }
      seqs.push(letter.seq);
    }
    after = page[page.length - 1].seq;
  }
}

async function runReplay(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, REPLAY_OPTIONS);
  if (values.all && positionals.length) throw new UsageError('give sequences or --all, not both');
  if (!values.all && positionals.length === 0) throw new UsageError('missing <seq…> (or --all)');
  const client = StockadeClient.from(values);
  // Sequences are taken from the list before anything is replayed: a replay that fails again is
  // dead-lettered under a new sequence, and --all must not chase its own tail.
  const seqs = values.all ? await allSequences(client) : positionals.map((text) => wholeNumber('<seq>', text, 1));
  const bar = progress(seqs.length, 'replaying', values.json === true);
  const lines: ReplayLine[] = [];
  for (const seq of seqs) {
    const answer = await client.exchange('POST', `/v1/dead-letters/${seq}/replay`);
    if (answer.ok) {
      const outcome = answer.body as ReplayOutcome & { replayed: true };
      lines.push({ seq, ok: true, subject: outcome.subject, streamSequence: outcome.streamSequence });
    } else {
      lines.push({ seq, ok: false, code: answer.error.code, message: answer.error.message });
      // Nothing else will work either: stop rather than report the same refusal for every letter.
      if (['UNAUTHENTICATED', 'FORBIDDEN', 'STREAMS_UNAVAILABLE'].includes(answer.error.code)) {
        bar.stop();
        throw new CommandFailed(answer.error.code, `${answer.error.code}: ${answer.error.message} (replayed ${lines.filter((l) => l.ok).length} before it)`, { results: lines });
      }
    }
    bar.increment();
  }
  bar.stop();
  const failed = lines.filter((l) => !l.ok).length;
  if (values.json) printJson({ replayed: lines.length - failed, failed, results: lines });
  else {
    for (const l of lines) printLine(l.ok ? `${l.seq}: replayed to ${l.subject} (stream sequence ${l.streamSequence})` : `${l.seq}: not replayed, ${l.code}: ${l.message}`);
    printLine(`${lines.length - failed} replayed, ${failed} failed`);
  }
  return failed ? 1 : 0;
}

export const deadLetters: CliCommand = {
  name: 'dead-letters',
  help: `Usage: stockade dead-letters list [--after N] [--limit N] [options]
       stockade dead-letters replay <seq…> | --all [options]

Messages the stream consumers could not apply sit in the DEAD_LETTERS stream (needs the admin
scope and a server with NATS enabled).

list      oldest first, from sequence --after + 1 (default 0), at most --limit (1-${LIST_LIMIT_MAX}, default 100)
replay    publish each dead letter again to its original subject and remove it from the stream;
          --all replays every dead letter listed when the command starts (at most ${REPLAY_ALL_LETTERS_MAX}).
          Stock events keep their event id, so a replay never applies one twice.

${HTTP_OPTIONS_HELP}

Exit status: 0 done, 1 a replay or the listing failed (e.g. DEAD_LETTER_NOT_FOUND, STREAMS_UNAVAILABLE),
2 usage.`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'list') return runList(rest);
    if (sub === 'replay') return runReplay(rest);
    throw new UsageError(sub === undefined ? 'missing subcommand: list or replay' : `unknown subcommand ${JSON.stringify(sub)}: list or replay`);
  },
};
