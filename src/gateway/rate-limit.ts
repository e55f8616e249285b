// Token buckets per API key: `ratePerSecond` sustained, `burst` at once. Time comes in as an
// argument so tests can drive it.

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Take `cost` tokens; returns 0 when allowed, else the milliseconds until they would be. */
  take(key: string, cost: number, nowMs: number): number {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: this.burst, at: nowMs }));
    const refill = ((nowMs - bucket.at) * this.ratePerSecond) / 1000;
    bucket.tokens = Math.min(this.burst, bucket.tokens + refill);
    bucket.at = nowMs;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - bucket.tokens) * 1000) / this.ratePerSecond);
  }
}
