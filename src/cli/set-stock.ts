// `stockade set-stock <sku> <location> <onHand>`: PUT /v1/skus/{sku}/locations/{location}/stock,
// the absolute count a stock take or a WMS would send.

import { randomUUID } from 'node:crypto';
import type { StockAppliedView } from '../actors/types.js';
import { HTTP_OPTIONS, HTTP_OPTIONS_HELP, parse, positionals, wholeNumber } from './args.js';
import type { CliCommand } from './command.js';
import { UsageError } from './exit.js';
import { StockadeClient, segment } from './http-client.js';
import { printJson, printLine } from './output.js';

const OPTIONS = { ...HTTP_OPTIONS, safety: { type: 'string' }, 'event-id': { type: 'string' } } as const;

/** Event ids are 1-128 characters (docs/protocol.md). */
const EVENT_ID_CHARS_MAX = 128;

export const setStock: CliCommand = {
  name: 'set-stock',
  help: `Usage: stockade set-stock <sku> <location> <onHand> [--safety N] [--event-id ID] [options]

Set the on-hand count of a SKU at one location to an absolute number (PUT
/v1/skus/{sku}/locations/{location}/stock; needs the admin scope). A new SKU or location is created.

  --safety N        safety stock kept back at this location (whole number)
  --event-id ID     the stock event's id (1-${EVENT_ID_CHARS_MAX} characters). Stockade applies each id once: repeat
                    a command with the same id to retry it safely. Default: a fresh id (cli-…).
${HTTP_OPTIONS_HELP}

Exit status: 0 applied or skipped as a duplicate (shown), 1 refused or no answer, 2 usage.`,
  async run(args) {
    const { values, positionals: given } = parse(args, OPTIONS);
    const [sku, location, onHandText] = positionals(given, ['sku', 'location', 'onHand']);
    const body: { onHand: number; eventId: string; safetyStock?: number } = {
      onHand: wholeNumber('<onHand>', onHandText),
      eventId: values['event-id'] ?? `cli-${Date.now()}-${randomUUID().slice(0, 8)}`,
    };
    if (body.eventId.length < 1 || body.eventId.length > EVENT_ID_CHARS_MAX) throw new UsageError(`--event-id must be 1-${EVENT_ID_CHARS_MAX} characters`);
    if (values.safety !== undefined) body.safetyStock = wholeNumber('--safety', values.safety);
    const view = await StockadeClient.from(values).request<StockAppliedView>('PUT', `/v1/skus/${segment(sku)}/locations/${segment(location)}/stock`, body);
    if (values.json) {
      printJson({ ...view, eventId: body.eventId });
      return 0;
    }
    if (view.applied) printLine(`${view.sku} at ${view.location}: on hand ${view.onHand}, available ${view.available} (event ${body.eventId})`);
    else printLine(`${view.sku} at ${view.location}: not applied (${view.skipped}: event ${body.eventId} was seen before); on hand ${view.onHand}, available ${view.available}`);
    return 0;
  },
};
