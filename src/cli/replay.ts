// `stockade replay --as-of <time> <sku>`: a SKU's availability at a past moment, from the WAL.

import { loadConfig } from '../config.js';
import { COMMON_OPTIONS, parse, positionals } from './args.js';
import { availabilityAsOf } from './as-of.js';
import type { CliCommand } from './command.js';
import { UsageError } from './exit.js';
import { isoTime, printJson, printLine, progress, type Progress } from './output.js';
import { renderSkuView } from './sku-view.js';

const OPTIONS = { ...COMMON_OPTIONS, 'as-of': { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' } } as const;

/** ISO 8601 with an explicit zone (or a bare date, read as UTC): a local-time guess would mislead. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const SKU_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function parseTime(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing --as-of <ISO time>');
  const ms = ISO_TIME.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--as-of must be an ISO 8601 time with a zone, e.g. 2026-11-23T12:00:00Z; got ${JSON.stringify(text)}`);
  return ms;
}

export const replay: CliCommand = {
  name: 'replay',
  help: `Usage: stockade replay --as-of <ISO time> <sku> [--data-dir DIR] [--config FILE] [--json]

Rebuild the availability of <sku> as it was at --as-of, from its shard's write-ahead log. Runs
offline on the data directory, also beside a running server (the shard's LMDB environment is
opened read-only). The shard is found from the SKU's hash and the shard count in DIR/stockade.json.

  --as-of TIME      ISO 8601 with a zone: 2026-11-23T12:00:00Z, 2026-11-23T13:00:00+01:00, or a date (UTC)
  --data-dir DIR    the data directory (default: dataDir of the configuration, else ./data)
  --config FILE     configuration file (default: $STOCKADE_CONFIG), for dataDir and limits
  --json            print one JSON document instead of text
  -h, --help        show this help

If shard.walRetentionMs has pruned the WAL, only moments from the last checkpoint on can be
rebuilt; an earlier time is refused with WAL_PRUNED and the earliest time that can be answered.

Exit status: 0 rebuilt, 1 not answerable (WAL_PRUNED, SKU_NOT_FOUND at that time, NOT_A_DATA_DIR),
2 usage, 78 configuration error.`,
  async run(args) {
    const { values, positionals: given } = parse(args, OPTIONS);
    const [sku] = positionals(given, ['sku']);
    if (!SKU_PATTERN.test(sku)) throw new UsageError(`<sku> must be 1-64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(sku)}`);
    const asOf = parseTime(values['as-of']);
    const config = loadConfig(process.env, values.config ?? process.env.STOCKADE_CONFIG);
    const dataDir = values['data-dir'] ?? config.dataDir;
    let bar: Progress | null = null;
    const result = await availabilityAsOf({
      dataDir,
      sku,
      asOf,
      limits: config.limits,
      onStart: (records) => (bar = progress(records, 'WAL records', values.json === true)),
      onRecord: (n) => bar?.update(n),
    }).finally(() => (bar as Progress | null)?.stop());
    if (values.json) {
      printJson({ ...result, asOfIso: isoTime(result.asOf) });
      return 0;
    }
    const from = result.base.kind === 'empty' ? 'the start of the WAL' : `the checkpoint at record ${result.base.seq} (${isoTime(result.base.at)})`;
    printLine(`${sku} as of ${isoTime(asOf)}: shard ${result.shard} of ${result.shards}, rebuilt from ${from}`);
    printLine(`${result.recordsRead} WAL records read, ${result.eventsApplied} events of ${sku} applied${result.lastEventAt ? `, the last at ${isoTime(result.lastEventAt)}` : ''}`);
    printLine();
    printLine(renderSkuView(result.view));
    return 0;
  },
};
