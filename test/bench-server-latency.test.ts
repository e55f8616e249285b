// The load benchmark's reading of Stockade's own histograms (bench/load/server-latency.ts): what
// it parses from a Prometheus exposition and how it turns two scrapes into a run's percentiles.

import { describe, expect, it } from 'vitest';
import { fmtBound, latencyBetween, parseHistograms } from '../bench/load/server-latency.js';

/** An exposition in prom-client's shape: `le` first, other labels after, any order among them. */
function exposition(reserve: Record<string, number>, wal: Record<string, number>[], turns: Record<string, number>[] = [], gc: Record<string, number>[] = []): string {
  const lines = ['# HELP stockade_request_duration_seconds …', '# TYPE stockade_request_duration_seconds histogram'];
  for (const [le, count] of Object.entries(reserve)) {
    lines.push(`stockade_request_duration_seconds_bucket{le="${le}",transport="ws",op="reserve"} ${count}`);
    // Other operations and transports must not be counted.
    lines.push(`stockade_request_duration_seconds_bucket{le="${le}",transport="http",op="reserve"} 1000`);
    lines.push(`stockade_request_duration_seconds_bucket{op="availability",le="${le}",transport="ws"} 1000`);
  }
  wal.forEach((shard, i) => {
    for (const [le, count] of Object.entries(shard)) lines.push(`stockade_wal_commit_seconds_bucket{le="${le}",shard="${i}"} ${count}`);
  });
  turns.forEach((shard, i) => {
    for (const [le, count] of Object.entries(shard)) lines.push(`stockade_shard_turn_seconds_bucket{le="${le}",shard="${i}"} ${count}`);
  });
  gc.forEach((shard, i) => {
    for (const [le, count] of Object.entries(shard)) {
      lines.push(`stockade_shard_gc_seconds_bucket{le="${le}",shard="${i}",kind="minor"} ${count}`);
      lines.push(`stockade_shard_gc_seconds_bucket{kind="major",le="${le}",shard="${i}"} 0`);
    }
  });
  return lines.join('\n') + '\n';
}

describe('server-side latency from two scrapes', () => {
  it('reads the WebSocket reserve buckets and sums the WAL buckets over shards', () => {
    const parsed = parseHistograms(exposition({ '0.001': 5, '0.005': 9, '+Inf': 10 }, [{ '0.001': 1, '+Inf': 2 }, { '0.001': 3, '+Inf': 3 }]));
    expect([...parsed.reserve]).toEqual([[0.001, 5], [0.005, 9], [Infinity, 10]]);
    expect([...parsed.walCommit]).toEqual([[0.001, 4], [Infinity, 5]]);
    expect([...parsed.turn]).toEqual([]);
  });

  it('takes percentiles from the difference, as the upper bound of the bucket they fall in', () => {
    const before = parseHistograms(exposition({ '0.001': 100, '0.005': 100, '0.01': 100, '+Inf': 100 }, [{ '0.001': 10, '0.025': 10, '+Inf': 10 }]));
    // Between the scrapes: 200 reserves, 150 within 1 ms, 198 within 5 ms, 2 above 10 ms.
    const after = parseHistograms(exposition({ '0.001': 250, '0.005': 298, '0.01': 298, '+Inf': 300 }, [{ '0.001': 10, '0.025': 20, '+Inf': 20 }]));
    // No turn histogram in this exposition: no turns counted, no percentile.
    expect(latencyBetween(before, after)).toEqual({ reserves: 200, reserveP50Ms: 1, reserveP99Ms: 5, walCommits: 10, walCommitP99Ms: 25, walCommitMaxMs: 25, turns: 0, turnP99Ms: NaN, turnMaxMs: NaN, gcMaxMs: NaN });
  });

  it("sums the shards' turn buckets and reads the turns' p99 and the longest turn's bucket", () => {
    const before = parseHistograms(exposition({}, [], [{ '0.005': 10, '0.05': 10, '0.5': 10, '+Inf': 10 }, { '0.005': 0, '0.05': 0, '0.5': 0, '+Inf': 0 }]));
    // Between the scrapes: 200 turns, 190 within 5 ms, 199 within 50 ms, the longest within 500 ms.
    const after = parseHistograms(exposition({}, [], [{ '0.005': 110, '0.05': 110, '0.5': 110, '+Inf': 110 }, { '0.005': 90, '0.05': 99, '0.5': 100, '+Inf': 100 }]));
    expect([...after.turn]).toEqual([[0.005, 200], [0.05, 209], [0.5, 210], [Infinity, 210]]);
    const latency = latencyBetween(before, after);
    expect([latency.turns, latency.turnP99Ms, latency.turnMaxMs]).toEqual([200, 50, 500]);
    expect([fmtBound(latency.turnMaxMs, 5000), fmtBound(Infinity, 5000)]).toEqual(['≤ 500 ms', '> 5 s']);
  });

  it("reads the longest garbage-collection pause over every worker and kind", () => {
    const before = parseHistograms(exposition({}, [], [], [{ '0.005': 4, '0.05': 4, '+Inf': 4 }]));
    // Between the scrapes: 3 pauses within 5 ms on shard 0, one of 5-50 ms on shard 1.
    const after = parseHistograms(exposition({}, [], [], [{ '0.005': 7, '0.05': 7, '+Inf': 7 }, { '0.005': 0, '0.05': 1, '+Inf': 1 }]));
    expect(latencyBetween(before, after).gcMaxMs).toBe(50);
  });

  it('reports beyond the last bound as infinite, and nothing counted as not a number', () => {
    const before = parseHistograms(exposition({ '1': 0, '+Inf': 0 }, []));
    const after = parseHistograms(exposition({ '1': 0, '+Inf': 4 }, []));
    const latency = latencyBetween(before, after);
    expect(latency.reserveP99Ms).toBe(Infinity);
    expect(latency.walCommits).toBe(0);
    expect(latency.walCommitP99Ms).toBeNaN();
    expect([fmtBound(latency.reserveP99Ms), fmtBound(latency.walCommitP99Ms), fmtBound(0.25), fmtBound(25)]).toEqual(['> 1 s', '-', '≤ 0.25 ms', '≤ 25 ms']);
  });
});
