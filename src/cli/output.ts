// What the CLI prints: aligned tables for people, one JSON document for programs, and progress
// bars only where a person is watching (a TTY on stderr, never with --json).

import cliProgress from 'cli-progress';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(text = ''): void {
  process.stdout.write(text + '\n');
}

/** Columns padded to their widest cell; numbers right-aligned, text left-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (cells: (string | number)[]) =>
    cells
      .map((cell, i) => (numeric[i] ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function isoTime(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '-';
}

export interface Progress {
  increment(by?: number): void;
  /** Move to an absolute position (monotonic work such as WAL sequences). */
  update(value: number): void;
  /** Print a line above the bar (or plainly when there is no bar). */
  log(text: string): void;
  stop(): void;
}

/** A bar over `total` steps, or a silent stand-in when nobody watches (pipes, CI, --json). */
export function progress(total: number, label: string, json: boolean): Progress {
  if (json || !process.stderr.isTTY || total <= 1) {
    // Lines logged "above the bar" belong on stdout, unless stdout is reserved for --json.
    const out = json ? process.stderr : process.stdout;
    return { increment() {}, update() {}, log: (text) => out.write(text + '\n'), stop() {} };
  }
  const bars = new cliProgress.MultiBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0);
  return {
    increment: (by = 1) => bar.increment(by),
    update: (value) => bar.update(value),
    log: (text) => bars.log(text + '\n'),
    stop: () => bars.stop(),
  };
}
