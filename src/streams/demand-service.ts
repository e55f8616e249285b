// The demand windows in the process: fed by the engine's demand reports (sales and reservation
// attempts after each durable turn), they turn signal changes (high demand, lead-time
// exhaustion) into `demandSignal` commands, so each becomes a durable alert episode in the SKU's
// own shard — the same outbox, ids and once-per-episode rule as every other alert.

import { Subject } from 'rxjs';
import type { Engine, EngineLogger } from '../actors/engine.js';
import type { DemandEvent } from '../actors/messages.js';
import { DemandWindows, demandSignalCommand, type DemandConfig, type DemandSnapshot, type DemandStatus } from './demand.js';

export class DemandService {
  readonly windows: DemandWindows;
  private readonly reports = new Subject<readonly DemandEvent[]>();
  private signalFailures = 0;

  constructor(
    private readonly engine: Engine,
    config: Readonly<DemandConfig>,
    private readonly log: EngineLogger,
  ) {
    // The shards put each SKU's lead time (from its thresholds) on its demand events.
    this.windows = new DemandWindows(config, {});
    this.windows.signals$.subscribe((change) => {
      void this.engine.execute(demandSignalCommand(change)).then((reply) => {
        if (reply.ok) return;
        this.signalFailures++;
        this.log.error({ sku: change.sku, signal: change.signal, on: change.on, error: reply.error.code }, 'demand signal not recorded');
      });
    });
    engine.observe({ demand: (events) => this.reports.next(events) });
  }

  start(): void {
    this.windows.start(this.reports);
  }

  stop(): void {
    this.windows.stop();
  }

  snapshot(sku: string): DemandSnapshot {
    return this.windows.snapshot(sku);
  }

  status(): DemandStatus & { signalFailures: number } {
    return { ...this.windows.status(), signalFailures: this.signalFailures };
  }
}
