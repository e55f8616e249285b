// `stockade inspect <sku>`: GET /v1/skus/{sku}, shown per location.

import type { SkuView } from '../actors/types.js';
import { HTTP_OPTIONS, HTTP_OPTIONS_HELP, parse, positionals } from './args.js';
import type { CliCommand } from './command.js';
import { StockadeClient, segment } from './http-client.js';
import { printJson, printLine } from './output.js';
import { renderSkuView } from './sku-view.js';

export const inspect: CliCommand = {
  name: 'inspect',
  help: `Usage: stockade inspect <sku> [options]

Show a SKU's availability now (GET /v1/skus/{sku}; needs a key with the read scope): per location
on hand, reserved, safety stock, available, the minimum that applies there and its level
(ok / low / out), then open and pending reservations, the out-of-stock flag and the thresholds.

Options:
${HTTP_OPTIONS_HELP}

Exit status: 0 shown, 1 the server refused (e.g. SKU_NOT_FOUND) or did not answer, 2 usage.`,
  async run(args) {
    const { values, positionals: given } = parse(args, HTTP_OPTIONS);
    const [sku] = positionals(given, ['sku']);
    const view = await StockadeClient.from(values).request<SkuView>('GET', `/v1/skus/${segment(sku)}`);
    if (values.json) printJson(view);
    else printLine(renderSkuView(view));
    return 0;
  },
};
