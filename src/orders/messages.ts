// What the customer reads. Kept apart from the service so wording changes touch one file.

import type { LineAvailability, Order } from './model.js';

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const STATUS_TEXT: Record<LineAvailability['status'], string> = {
  OUT_OF_STOCK: 'is out of stock',
  FLAGGED_OUT_OF_STOCK: 'is currently unavailable',
  UNKNOWN_SKU: 'is not sold here',
  RESERVATION_LOST: 'is no longer held for you',
};

function lineText(order: Order, line: LineAvailability): string {
  const title = order.lines[line.line]?.title ?? line.sku;
  let text = `${title} (${line.sku}) ${STATUS_TEXT[line.status]}`;
  if (line.expectedAt !== null) text += `; expected back around ${day(line.expectedAt)}`;
  if (line.substitutes.length > 0) text += `; in stock instead: ${line.substitutes.map((s) => `${s.sku} (${s.available} available)`).join(', ')}`;
  return text + '.';
}

export function unavailableText(order: Order, lines: readonly LineAvailability[], outcome: 'held' | 'backordered' | 'cancelled'): string {
  const what = {
    held: 'Your order is on hold; your payment is authorised but not taken.',
    backordered: 'Your order is backordered; we will reserve it as soon as stock returns.',
    cancelled: 'Your order was cancelled; your payment authorisation will be released.',
  }[outcome];
  return `Order ${order.externalId}: ${lines.map((l) => lineText(order, l)).join(' ')} ${what}`;
}

export function filledText(order: Order, kind: 'backorder' | 'preorder'): string {
  const what = kind === 'backorder' ? 'backorder' : 'pre-order';
  return `Order ${order.externalId}: good news, your ${what} is in stock and reserved for you.`;
}

export function reminderText(order: Order, availableAt: number, daysBefore: number): string {
  return `Order ${order.externalId}: your pre-order is expected in about ${daysBefore} days (around ${day(availableAt)}).`;
}
