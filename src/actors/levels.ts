// A location's free units, and a SKU's levels summed over its locations: the one definition the
// actor, its alert triggers, the catalogue search and the stock series all read.

/** The stock fields of one location (sku.ts LocationStock has these and more). */
export interface StockLevels {
  onHand: number;
  reserved: number;
  safetyStock: number;
}

/** available = on hand − reserved − safety stock, never below zero. */
export function availableAt(loc: StockLevels): number {
  const free = loc.onHand - loc.reserved - loc.safetyStock;
  return free > 0 ? free : 0;
}

export interface Levels extends StockLevels {
  available: number;
}

/** Levels summed over the locations, or of one location when `only` names it. */
export function levelsOf(locations: readonly (StockLevels & { location: string })[], only: string | null = null): Levels {
  let onHand = 0;
  let reserved = 0;
  let safetyStock = 0;
  let available = 0;
  for (const loc of locations) {
    if (only !== null && loc.location !== only) continue;
    onHand += loc.onHand;
    reserved += loc.reserved;
    safetyStock += loc.safetyStock;
    available += availableAt(loc);
  }
  return { onHand, reserved, safetyStock, available };
}
