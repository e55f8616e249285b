// A circuit breaker per receiver: closed until `failuresMax` consecutive failures, then open for
// `cooldownMs`; then half-open, letting one trial through — its success closes the circuit, its
// failure opens it again for another cool-down.

import type { CircuitStateName } from './metrics.js';

export class Circuit {
  private failures = 0;
  private openedAt = 0;
  private stateName: CircuitStateName = 'closed';
  private trialOut = false;

  constructor(
    private readonly failuresMax: number,
    private readonly cooldownMs: number,
    private readonly onChange: (state: CircuitStateName) => void = () => undefined,
  ) {}

  state(now: number): CircuitStateName {
    if (this.stateName === 'open' && now - this.openedAt >= this.cooldownMs) this.set('half_open');
    return this.stateName;
  }

  /** May an attempt go now? In half-open only one trial at a time. */
  tryAcquire(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    if (state === 'open' || this.trialOut) return false;
    this.trialOut = true;
    return true;
  }

  /** Would tryAcquire succeed now? (No trial is taken.) */
  canAcquire(now: number): boolean {
    const state = this.state(now);
    return state === 'closed' || (state === 'half_open' && !this.trialOut);
  }

  /** When an open circuit lets a trial through. */
  reopensAt(): number {
    return this.openedAt + this.cooldownMs;
  }

  success(): void {
    this.failures = 0;
    this.trialOut = false;
    this.set('closed');
  }

  /** An answer that says nothing about the receiver's health (a permanent refusal of one request). */
  neutral(): void {
    if (this.stateName === 'half_open') this.success();
  }

  failure(now: number): void {
    this.failures++;
    const wasTrial = this.stateName === 'half_open';
    this.trialOut = false;
    if (wasTrial || this.failures >= this.failuresMax) {
      this.openedAt = now;
      this.set('open');
    }
  }

  private set(state: CircuitStateName): void {
    if (state === this.stateName) return;
    this.stateName = state;
    this.onChange(state);
  }
}
