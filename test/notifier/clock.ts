// A clock the test moves: timers fire in due order when advance() passes them, never otherwise.

import type { Clock, TimerHandle } from '../../src/notifier/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;
  private waiters: ((delayMs: number) => void)[] = [];

  constructor(public current = Date.UTC(2026, 10, 23, 12, 0, 0)) {}

  now = (): number => this.current;

  after(ms: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    for (const w of this.waiters.splice(0)) w(timer.at - this.current);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers waiting, for asserting that something is (or is not) scheduled. */
  get pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at - this.current);
  }

  /** Resolves with the delay of the next timer set from now on (synchronise on the schedule, not on time). */
  nextTimer(): Promise<number> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once a timer due in exactly `delayMs` from now is pending (already, or when set). */
  async waitForTimer(delayMs: number): Promise<void> {
    while (!this.pending.includes(delayMs)) await this.nextTimer();
  }

  /** Move time forward, firing each due timer at its own time, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }

  /** Jump to a wall time (no timer in between may be due). */
  set(epochMs: number): void {
    this.advance(epochMs - this.current);
  }
}
