// What a customer and an operator are told about lines that cannot be served: each line's
// status read from the engine (out of stock, flagged, unknown, hold lost), when stock is expected
// back, and the SKU's substitutes that are in stock now; and which out-of-stock policy applies.

import type { Engine } from '../actors/engine.js';
import type { Reply, ReservationView, SkuView } from '../actors/types.js';
import type { OrdersConfig, OutOfStockPolicy } from './config.js';
import type { LineAvailability, LineStatus, Order } from './model.js';
import { expectedAvailability, type SkuOrderSettings } from './preorders.js';

export interface LineFailure {
  line: number;
  /** The engine's error code for the line, or RESERVATION_LOST. */
  code: string;
}

export class Availability {
  constructor(
    private readonly engine: Engine,
    private readonly config: Readonly<OrdersConfig>,
    private readonly settingsOf: (sku: string) => SkuOrderSettings | undefined,
  ) {}

  /** Lines of a RESERVED order that can no longer complete: flagged SKU, or hold lost (expired). */
  async checkReservedLines(order: Order, now: number): Promise<LineAvailability[]> {
    const [reservations, skus] = await Promise.all([
      Promise.all(order.reservationIds.map((reservationId) => this.engine.execute({ type: 'getReservation', reservationId }))),
      Promise.all(order.lines.map((line) => this.engine.execute({ type: 'getSku', sku: line.sku }))),
    ]);
    const failures: LineFailure[] = [];
    order.lines.forEach((_, i) => {
      const r = reservations[i];
      const s = skus[i];
      if (!r.ok || (r.value as ReservationView).state !== 'ACTIVE') failures.push({ line: i, code: 'RESERVATION_LOST' });
      else if (s.ok && (s.value as SkuView).outOfStockFlag !== null) failures.push({ line: i, code: 'SKU_FLAGGED_OUT_OF_STOCK' });
    });
    return failures.length === 0 ? [] : this.availabilityOf(order, failures, now, skus);
  }

  /** Status, expected date and in-stock substitutes of each line that cannot be served. */
  async availabilityOf(order: Order, failures: LineFailure[], now: number, known?: Reply[]): Promise<LineAvailability[]> {
    return Promise.all(
      failures.map(async ({ line, code }) => {
        const sku = order.lines[line].sku;
        const reply = known?.[line] ?? (await this.engine.execute({ type: 'getSku', sku }));
        const view = reply.ok ? (reply.value as SkuView) : null;
        let status: LineStatus = 'OUT_OF_STOCK';
        if (code === 'RESERVATION_LOST') status = 'RESERVATION_LOST';
        if (view?.outOfStockFlag) status = 'FLAGGED_OUT_OF_STOCK';
        if (!view) status = 'UNKNOWN_SKU';
        const settings = this.settingsOf(sku);
        const expectedAt = settings?.preorder ? expectedAvailability(settings.preorder, now, this.config.backorderLeadTimeDaysDefault) : null;
        const substitutes = [];
        for (const candidate of settings?.substitutes ?? []) {
          const sub = await this.engine.execute({ type: 'getSku', sku: candidate });
          if (sub.ok && (sub.value as SkuView).available > 0 && (sub.value as SkuView).outOfStockFlag === null) {
            substitutes.push({ sku: candidate, available: (sub.value as SkuView).available });
          }
        }
        return { line, sku, status, available: view?.available ?? 0, expectedAt, substitutes };
      }),
    );
  }

  policyFor(order: Order, lines: LineAvailability[]): OutOfStockPolicy {
    const bySku = lines.map((l) => this.config.outOfStockPolicy.bySku[l.sku]).filter((p): p is OutOfStockPolicy => p !== undefined);
    // The strictest SKU policy among the lines that cannot be served decides.
    for (const p of ['cancel', 'hold', 'backorder'] as const) if (bySku.includes(p)) return p;
    return this.config.outOfStockPolicy.byChannel[order.channel] ?? this.config.outOfStockPolicy.default;
  }
}
