// Time for the notifier: one seam for "now" and for timers, so digest windows, rate budgets,
// quiet hours, backoff and escalation deadlines are tested with a clock the test moves.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Run `fn` once `ms` from now (never synchronously). */
  after(ms: number, fn: () => void): TimerHandle;
}

/** Node's timers cap a delay at 2^31-1 ms; longer waits are chained. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    let handle: NodeJS.Timeout;
    const due = Date.now() + Math.max(0, ms);
    const arm = () => {
      const left = due - Date.now();
      handle = setTimeout(left > TIMER_DELAY_MS_MAX ? arm : fn, Math.min(Math.max(0, left), TIMER_DELAY_MS_MAX));
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A promise that resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = clock.after(ms, done);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      timer.cancel();
      done();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
