// Server-side search over a shard's SKUs, for the dashboard's catalogue view (100k SKUs and more
// must never travel to a browser). Each shard answers its first `offset + limit` matches in the
// requested order; the engine merges the shards' answers and cuts the page.

import { openAlerts } from './alerts.js';
import { levelsOf } from './levels.js';
import type { SkuState } from './sku.js';
import { skuView } from './sku.js';
import type { LocationView } from './types.js';

export const SKU_SEARCH_SORTS = ['sku', 'available', 'reserved', 'onHand', 'alerts'] as const;
export type SkuSearchSort = (typeof SKU_SEARCH_SORTS)[number];

export interface SkuSearchQuery {
  /** Case-insensitive substring of the SKU id, its category or a tag; empty matches all. */
  text: string;
  sort: SkuSearchSort;
  descending: boolean;
  /** Only SKUs with an open alert episode. */
  alertingOnly: boolean;
  offset: number;
  limit: number;
}

/** offset + limit may not exceed this: deep pages of a live catalogue mean little. */
export const SKU_SEARCH_WINDOW_MAX = 10_000;
export const SKU_SEARCH_LIMIT_MAX = 500;

export interface SkuSummary {
  sku: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
  pending: number;
  openReservations: number;
  flagged: boolean;
  category: string | null;
  tags: string[];
  /** Open alert episodes as `type` or `type@location`. */
  alerts: string[];
  locations: LocationView[];
}

export interface SkuSearchPage {
  total: number;
  skus: SkuSummary[];
}

function summaryOf(state: SkuState): SkuSummary {
  const view = skuView(state);
  return {
    sku: view.sku,
    onHand: view.onHand,
    reserved: view.reserved,
    safetyStock: view.safetyStock,
    available: view.available,
    pending: view.pending,
    openReservations: view.openReservations,
    flagged: view.outOfStockFlag !== null,
    category: view.category,
    tags: view.tags,
    alerts: openAlerts(state).map((a) => (a.location ? `${a.type}@${a.location}` : a.type)),
    locations: view.locations,
  };
}

function matches(state: SkuState, needle: string): boolean {
  if (needle === '') return true;
  if (state.sku.toLowerCase().includes(needle)) return true;
  if (state.category?.toLowerCase().includes(needle)) return true;
  return state.tags?.some((t) => t.toLowerCase().includes(needle)) ?? false;
}

export function compareSummaries(sort: SkuSearchSort, descending: boolean): (a: SkuSummary, b: SkuSummary) => number {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const primary = sort === 'sku' ? 0 : sort === 'alerts' ? a.alerts.length - b.alerts.length : a[sort] - b[sort];
    if (primary !== 0) return sign * primary;
    // Ties (and the sku sort) by id, so pages are stable across shards.
    return (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0) * (sort === 'sku' ? sign : 1);
  };
}

/** The figure a SKU is sorted by, without building its summary (most matches never get one). */
function sortFigure(state: SkuState, sort: Exclude<SkuSearchSort, 'sku'>): number {
  if (sort === 'alerts') return openAlerts(state).length;
  return levelsOf(state.locations)[sort];
}

/**
 * This shard's matches: how many, and the first offset + limit in order. Only those get a
 * summary: at 100k SKUs building one for every match was most of a page's cost.
 */
export function searchSkus(skus: Iterable<SkuState>, query: SkuSearchQuery): SkuSearchPage {
  const needle = query.text.toLowerCase();
  const found: { state: SkuState; figure: number }[] = [];
  for (const state of skus) {
    if (!matches(state, needle)) continue;
    if (query.alertingOnly && openAlerts(state).length === 0) continue;
    found.push({ state, figure: query.sort === 'sku' ? 0 : sortFigure(state, query.sort) });
  }
  const sign = query.descending ? -1 : 1;
  found.sort((a, b) => {
    const primary = a.figure - b.figure;
    if (primary !== 0) return sign * primary;
    const byId = a.state.sku < b.state.sku ? -1 : a.state.sku > b.state.sku ? 1 : 0;
    return query.sort === 'sku' ? sign * byId : byId;
  });
  const wanted = query.offset + query.limit;
  const skusOut: SkuSummary[] = [];
  for (let i = 0; i < found.length && i < wanted; i++) skusOut.push(summaryOf(found[i].state));
  return { total: found.length, skus: skusOut };
}

/** The engine's merge of every shard's answer into one page. */
export function mergeSearchPages(pages: SkuSearchPage[], query: SkuSearchQuery): SkuSearchPage {
  let total = 0;
  const all: SkuSummary[] = [];
  for (const page of pages) {
    total += page.total;
    for (const s of page.skus) all.push(s);
  }
  all.sort(compareSummaries(query.sort, query.descending));
  return { total, skus: all.slice(query.offset, query.offset + query.limit) };
}
