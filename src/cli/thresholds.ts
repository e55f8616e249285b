// `stockade thresholds <sku>`: show or change a SKU's thresholds. The HTTP route replaces the whole
// thresholds object, so a change is read, merged and written back (or, with --replace, written as
// given); the last writer wins if two operators change one SKU at the same moment.

import type { SkuView, Thresholds } from '../actors/types.js';
import { decimal, HTTP_OPTIONS, HTTP_OPTIONS_HELP, parse, positionals, wholeNumber } from './args.js';
import type { CliCommand } from './command.js';
import { UsageError } from './exit.js';
import { StockadeClient, segment } from './http-client.js';
import { printJson, printLine } from './output.js';

const OPTIONS = {
  ...HTTP_OPTIONS,
  min: { type: 'string' },
  'low-percent': { type: 'string' },
  reference: { type: 'string' },
  'lead-time-days': { type: 'string' },
  replace: { type: 'boolean' },
  show: { type: 'boolean' },
} as const;

/** Bounds from docs/protocol.md (setThresholds). */
const LEAD_TIME_DAYS_MAX = 3650;
const LOW_PERCENT_MAX = 100;

function describe(sku: string, t: Thresholds): string {
  const lines = [`thresholds of ${sku}:`];
  const entries = Object.entries(t);
  if (entries.length === 0) lines.push('  (none set)');
  for (const [key, value] of entries) lines.push(`  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  return lines.join('\n');
}

export const thresholds: CliCommand = {
  name: 'thresholds',
  help: `Usage: stockade thresholds <sku> [--min N] [--low-percent P --reference N] [--lead-time-days D]
                          [--replace] [--show] [options]

Without changes (or with --show) print the SKU's thresholds. With changes, set them (PUT
/v1/skus/{sku}/thresholds; needs the admin scope) and print the result. Fields not named keep
their current values unless --replace is given, which sets exactly the fields named.

  --min N              minimum total available before the SKU counts as low (whole number)
  --low-percent P      low below P% (0 < P <= ${LOW_PERCENT_MAX}) of the reference level; needs a reference level
  --reference N        the reference level for --low-percent (whole number >= 1)
  --lead-time-days D   supplier lead time in days (0-${LEAD_TIME_DAYS_MAX}), for time-to-stock-out alerts
  --replace            drop every field not named on this command line
  --show               only print the thresholds (no change allowed with it)
${HTTP_OPTIONS_HELP}

Exit status: 0 shown or set, 1 refused or no answer, 2 usage.`,
  async run(args) {
    const { values, positionals: given } = parse(args, OPTIONS);
    const [sku] = positionals(given, ['sku']);
    const change: Thresholds = {};
    if (values.min !== undefined) change.minAvailable = wholeNumber('--min', values.min);
    if (values['low-percent'] !== undefined) change.lowPercent = decimal('--low-percent', values['low-percent'], 0, LOW_PERCENT_MAX, true);
    if (values.reference !== undefined) change.referenceLevel = wholeNumber('--reference', values.reference, 1);
    if (values['lead-time-days'] !== undefined) change.leadTimeDays = decimal('--lead-time-days', values['lead-time-days'], 0, LEAD_TIME_DAYS_MAX);
    const changing = Object.keys(change).length > 0;
    if (values.show && (changing || values.replace)) throw new UsageError('--show only prints; leave out the changes or --show');
    if (values.replace && !changing) throw new UsageError('--replace needs at least one field to set');
    const client = StockadeClient.from(values);
    const path = `/v1/skus/${segment(sku)}`;
    let current: Thresholds = {};
    if (!values.replace) current = (await client.request<SkuView>('GET', path)).thresholds;
    if (!changing) {
      if (values.json) printJson({ sku, thresholds: current });
      else printLine(describe(sku, current));
      return 0;
    }
    const next: Thresholds = { ...current, ...change };
    if ((next.lowPercent === undefined) !== (next.referenceLevel === undefined)) {
      throw new UsageError('--low-percent and --reference go together (the SKU has no value for the other one)');
    }
    await client.request('PUT', `${path}/thresholds`, next);
    if (values.json) printJson({ sku, thresholds: next });
    else printLine(describe(sku, next));
    return 0;
  },
};
