// Quiet hours in a receiver's time zone: "22:00"–"07:00" local time, wrapping midnight when the
// end is earlier than the start. Local time comes from Intl, so daylight-saving shifts are the
// zone's own; a wake-up computed across a shift is re-checked when it fires.

import type { QuietHours } from './config.js';

const MINUTES_PER_DAY = 24 * 60;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Milliseconds since local midnight in `timeZone`. */
function localMsOfDay(now: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(now));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return ((get('hour') * 60 + get('minute')) * 60 + get('second')) * 1000 + (now % 1000);
}

function minutes(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return h * 60 + m;
}

/** 0 when outside quiet hours; else milliseconds until they end. */
export function quietMsLeft(quiet: QuietHours, now: number): number {
  const start = minutes(quiet.start) * 60_000;
  const end = minutes(quiet.end) * 60_000;
  const t = localMsOfDay(now, quiet.timeZone);
  const inside = start < end ? t >= start && t < end : t >= start || t < end;
  if (!inside) return 0;
  const dayMs = MINUTES_PER_DAY * 60_000;
  return (end - t + dayMs) % dayMs;
}
