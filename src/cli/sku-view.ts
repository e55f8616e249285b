// A SKU's availability as a table per location, with its thresholds and flag: shared by
// `inspect` (live, from the server) and `replay --as-of` (rebuilt from the WAL).

import type { SkuView, Thresholds } from '../actors/types.js';
import { isoTime, table } from './output.js';

/** 'out' at zero, 'low' under the minimum that applies, else 'ok'. */
function levelOf(available: number, min: number | undefined): string {
  if (available === 0) return 'out';
  if (min !== undefined && available < min) return 'low';
  return 'ok';
}

function thresholdSummary(t: Thresholds): string {
  const parts: string[] = [];
  if (t.minAvailable !== undefined) parts.push(`min ${t.minAvailable}`);
  if (t.lowPercent !== undefined) parts.push(`low below ${t.lowPercent}% of ${t.referenceLevel ?? '(no reference)'}`);
  for (const [location, min] of Object.entries(t.minAvailableByLocation ?? {})) parts.push(`min ${min} at ${location}`);
  for (const [region, min] of Object.entries(t.minAvailableByRegion ?? {})) parts.push(`min ${min} per location in region ${region}`);
  if (t.leadTimeDays !== undefined) parts.push(`lead time ${t.leadTimeDays} d`);
  for (const slot of t.minAvailableByTimeOfDay ?? []) parts.push(`min ${slot.minAvailable} ${slot.from}-${slot.to}${t.timeZone ? ` ${t.timeZone}` : ''}`);
  return parts.length ? parts.join(', ') : 'none set';
}

export function renderSkuView(view: SkuView): string {
  const t = view.thresholds;
  const byLocation = t.minAvailableByLocation ?? {};
  const byRegion = t.minAvailableByRegion ?? {};
  const regionOf = t.regionByLocation ?? {};
  const rows: (string | number)[][] = view.locations.map((l) => {
    // A location's own minimum wins over its region's (docs/protocol.md, setThresholds).
    const region = regionOf[l.location];
    const min = byLocation[l.location] ?? (region === undefined ? undefined : byRegion[region]);
    return [l.location, l.onHand, l.reserved, l.safetyStock, l.available, min ?? '-', levelOf(l.available, min)];
  });
  const percentMin = t.lowPercent !== undefined && t.referenceLevel !== undefined ? Math.ceil((t.lowPercent / 100) * t.referenceLevel) : undefined;
  const totalMin = t.minAvailable !== undefined && percentMin !== undefined ? Math.max(t.minAvailable, percentMin) : (t.minAvailable ?? percentMin);
  rows.push(['TOTAL', view.onHand, view.reserved, view.safetyStock, view.available, totalMin ?? '-', levelOf(view.available, totalMin)]);
  const flag = view.outOfStockFlag
    ? `FLAGGED OUT OF STOCK by ${view.outOfStockFlag.flaggedBy} at ${isoTime(view.outOfStockFlag.at)}: ${view.outOfStockFlag.reason}`
    : 'not flagged';
  return [
    `SKU ${view.sku}${view.category ? `  (category ${view.category})` : ''}${view.tags.length ? `  tags ${view.tags.join(', ')}` : ''}`,
    table(['location', 'on hand', 'reserved', 'safety', 'available', 'min', 'level'], rows),
    `open reservations ${view.openReservations}, pending ${view.pending}`,
    `flag: ${flag}`,
    `thresholds: ${thresholdSummary(t)}`,
    // Open alert episodes; a view rebuilt from the WAL (replay --as-of) carries none.
    ...(view.alerts ?? []).map((a) => `alert: ${a.severity} ${a.type}${a.location ? ` at ${a.location}` : ''} since ${a.raisedAt}: ${a.summary}`),
  ].join('\n');
}
