// A shard turn's demand events (one per SKU that had sales or attempts in it) cross to the engine
// with every turn's replies. As objects, structured clone writes each event's keys again: with
// many SKUs that is one event per reserve, 0.7-1.1 µs of cloning each. As columns, a SKU name
// and six numbers, it is about 0.05 µs (docs/benchmarks.md, "Replies and demand across threads
// in columns").

import type { DemandEvent } from './messages.js';

/** Per event in `numbers`: flags (kind and which optional fields it has), then its numbers. */
const FLAGS = 0;
const QUANTITY = 1;
const COUNT = 2;
const AVAILABLE = 3;
const LEAD_TIME_DAYS = 4;
const AT = 5;
const NUMBERS_PER_EVENT = 6;

const SALE = 1;
const HAS_COUNT = 2;
const HAS_LEAD_TIME = 4;
/** leadTimeDays present and null (HAS_LEAD_TIME set, the number unused). */
const LEAD_TIME_NULL = 8;

export interface DemandColumns {
  skus: string[];
  numbers: Float64Array;
}

export const NO_DEMAND: DemandColumns = { skus: [], numbers: new Float64Array(0) };

/** In the worker: the events as columns, optional fields marked so they come back as they were. */
export function demandToCrossing(events: readonly DemandEvent[]): DemandColumns {
  if (events.length === 0) return NO_DEMAND;
  const skus: string[] = new Array(events.length);
  const numbers = new Float64Array(events.length * NUMBERS_PER_EVENT);
  for (let i = 0, n = 0; i < events.length; i++, n += NUMBERS_PER_EVENT) {
    const event = events[i];
    skus[i] = event.sku;
    let flags = event.kind === 'sale' ? SALE : 0;
    if (event.count !== undefined) {
      flags |= HAS_COUNT;
      numbers[n + COUNT] = event.count;
    }
    if (event.leadTimeDays !== undefined) {
      flags |= HAS_LEAD_TIME;
      if (event.leadTimeDays === null) flags |= LEAD_TIME_NULL;
      else numbers[n + LEAD_TIME_DAYS] = event.leadTimeDays;
    }
    numbers[n + FLAGS] = flags;
    numbers[n + QUANTITY] = event.quantity;
    numbers[n + AVAILABLE] = event.available;
    numbers[n + AT] = event.at;
  }
  return { skus, numbers };
}

/** In the engine: the events as the shard recorded them. */
export function demandFromCrossing(columns: DemandColumns): DemandEvent[] {
  const { skus, numbers } = columns;
  const events: DemandEvent[] = new Array(skus.length);
  for (let i = 0, n = 0; i < skus.length; i++, n += NUMBERS_PER_EVENT) {
    const flags = numbers[n + FLAGS];
    // Built in the key order Shard.addDemand gives an event, optional fields where it has them.
    const event = { sku: skus[i], kind: flags & SALE ? 'sale' : 'attempt', quantity: numbers[n + QUANTITY] } as DemandEvent;
    if (flags & HAS_COUNT) event.count = numbers[n + COUNT];
    event.available = numbers[n + AVAILABLE];
    if (flags & HAS_LEAD_TIME) event.leadTimeDays = flags & LEAD_TIME_NULL ? null : numbers[n + LEAD_TIME_DAYS];
    event.at = numbers[n + AT];
    events[i] = event;
  }
  return events;
}
