// A big SKU's snapshot in pages: the header (codec.ts `headerOf`, with `paged` set) under the SKU
// in the store's `state` database, its open holds and remembered keys in pages under
// [sku, HOLD_PAGES | KEY_PAGES, page number] in the `pages` database. Which pages a checkpoint
// rewrites, and why, is in src/actors/checkpoint-pages.ts. A page is a reservation block or an
// idempotency block of its own (reservation-block.ts, idempotency-block.ts); a hold page with no
// open hold left, and a key page whose keys were all forgotten, is removed.

import type { Database } from 'lmdb';
import { CheckpointPages } from '../actors/checkpoint-pages.js';
import { openCount, openReservations } from '../actors/open-holds.js';
import { keysHeld, type SkuState } from '../actors/sku.js';
import type { Reservation } from '../actors/types.js';
import { headerOf, keysBlock, type SkuSnapshot } from './codec.js';
import { IN_PAGES_BLOCK, reservationBlock } from './reservation-block.js';

export const HOLD_PAGES = 0;
export const KEY_PAGES = 1;

export type PageKey = [sku: string, kind: typeof HOLD_PAGES | typeof KEY_PAGES, page: number];

/** A page to put, or (block null) to remove. */
export interface PageWrite {
  key: PageKey;
  block: Buffer | null;
}

/** Whether the SKU's next checkpoint writes it in pages: once it outgrew one page, for good. */
export function inPages(state: SkuState, entries: number): boolean {
  return state.pages !== null || openCount(state) > entries || keysHeld(state) > entries;
}

/** The SKU's page tracker, made (nothing on disk yet) the first time the SKU is seen to need pages. */
export function pagesOf(state: SkuState, entries: number): CheckpointPages {
  return (state.pages ??= new CheckpointPages(entries, 0, 0, 0, false));
}

/**
 * The SKU's header, and in `writes` the pages that changed since its last checkpoint (every page,
 * the first time), as of WAL record `seq`. Marks the SKU's pages as written: the caller writes
 * both in one transaction.
 */
export function pagedSnapshotOf(state: SkuState, entries: number, seq: number, writes: PageWrite[]): SkuSnapshot {
  const pages = pagesOf(state, entries);
  const sku = state.sku;
  if (!pages.written) for (const r of openReservations(state)) pages.holdChanged(r.arrival);
  for (const page of pages.takeTouched()) {
    const holds = holdsInPage(state, page, pages.entries);
    writes.push({ key: [sku, HOLD_PAGES, page], block: holds.length > 0 ? reservationBlock(sku, holds, holds.length) : null });
  }
  writeKeyPages(state, pages, writes);
  pages.written = true;
  pages.seq = seq;
  const header = headerOf(state);
  header.paged = [pages.entries, pages.keysFirst, pages.keysEnd, seq];
  header.openBlock = IN_PAGES_BLOCK;
  return header;
}

function holdsInPage(state: SkuState, page: number, entries: number): Reservation[] {
  const from = page * entries;
  const to = from + entries;
  if (state.open !== null) return state.open.inRange(from, to);
  const sole = state.sole;
  return sole !== null && sole.arrival >= from && sole.arrival < to ? [sole] : [];
}

/**
 * The key pages that differ from those on disk. The keys held are the run
 * `keysRemembered − held … keysRemembered` of all the SKU remembered, and the run on disk is
 * `keysFirst … keysEnd`; both ends only move forward. So the pages to write are the one the
 * old end now falls in (some of its keys were forgotten) and those from the new end on disk to
 * the new end; the pages before the first held key go.
 */
function writeKeyPages(state: SkuState, pages: CheckpointPages, writes: PageWrite[]): void {
  const { entries } = pages;
  const end = state.keysRemembered;
  const first = end - keysHeld(state);
  const diskFirst = pages.keysFirst;
  const diskEnd = pages.keysEnd;
  const pageOf = (n: number) => Math.floor(n / entries);
  if (diskEnd > diskFirst) {
    // Pages wholly before the first key held (every one, when no key is held).
    const keptFrom = end > first ? pageOf(first) : Infinity;
    for (let page = pageOf(diskFirst), last = pageOf(diskEnd - 1); page <= last && page < keptFrom; page++) writes.push({ key: [state.sku, KEY_PAGES, page], block: null });
  }
  if (end > first) {
    const lastPage = pageOf(end - 1);
    // Nothing on disk that is still held: every page; else the new end's pages, and the old
    // end's page when keys of it were forgotten.
    const onDisk = diskEnd > diskFirst && first < diskEnd;
    const from = !onDisk ? pageOf(first) : end > diskEnd ? pageOf(diskEnd) : lastPage + 1;
    if (onDisk && first > diskFirst && pageOf(first) < from) writeKeyPage(state, pageOf(first), first, end, entries, writes);
    for (let page = from; page <= lastPage; page++) writeKeyPage(state, page, first, end, entries, writes);
  }
  pages.keysFirst = first;
  pages.keysEnd = end;
}

/** Key page `page`: the keys of the run `first … end` that fall in it. */
function writeKeyPage(state: SkuState, page: number, first: number, end: number, entries: number, writes: PageWrite[]): void {
  const from = Math.max(page * entries, first);
  const to = Math.min((page + 1) * entries, end);
  writes.push({ key: [state.sku, KEY_PAGES, page], block: keysBlock(state, from - first, to - first) });
}

/**
 * A snapshot as read from the `state` database, with its page blocks attached when it is paged.
 * The blocks are copied: `stateOf` reads them all after the reads that fetched them.
 */
export function withPages(snapshot: SkuSnapshot, pages: Database<Buffer, PageKey>, options: { transaction?: unknown } = {}): SkuSnapshot {
  if (!snapshot.paged) return snapshot;
  const read = (kind: PageKey[1]) => {
    const blocks: Buffer[] = [];
    for (const { value } of pages.getRange({ ...options, start: [snapshot.sku, kind], end: [snapshot.sku, kind + 1] } as Parameters<typeof pages.getRange>[0])) blocks.push(Buffer.from(value));
    return blocks;
  };
  snapshot.holdPages = read(HOLD_PAGES);
  snapshot.keyPages = read(KEY_PAGES);
  return snapshot;
}
