// What every module's settings share — the configuration error and the limits several sections
// are bounded by — in a module of its own: section builders (demand, poller, orders, order
// channels) import it, and src/config.ts imports them, so keeping it apart from config.ts avoids
// an import cycle that breaks whichever module loads first.

/** Largest quantity of one reservation, stock count or order line. */
export const QUANTITY_MAX = 1_000_000;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
