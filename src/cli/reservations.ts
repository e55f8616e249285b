// `stockade reservations <sku>`: GET /v1/skus/{sku}/reservations, open holds and the waiting queue.

import type { ReservationListView, ReservationView } from '../actors/types.js';
import { HTTP_OPTIONS, HTTP_OPTIONS_HELP, parse, positionals, wholeNumber } from './args.js';
import type { CliCommand } from './command.js';
import { CommandFailed } from './exit.js';
import { StockadeClient, segment } from './http-client.js';
import { isoTime, printJson, printLine, table } from './output.js';

const OPTIONS = { ...HTTP_OPTIONS, limit: { type: 'string' } } as const;

function rows(list: ReservationView[]): (string | number)[][] {
  return list.map((r) => [
    r.reservationId,
    r.state,
    r.quantity,
    r.requested,
    r.allocations.map((a) => `${a.location}:${a.quantity}`).join(' ') || '-',
    r.priority,
    r.channel,
    r.orderId,
    r.customerId,
    isoTime(r.expiresAt),
  ]);
}

const HEADERS = ['reservation', 'state', 'held', 'requested', 'allocations', 'prio', 'channel', 'order', 'customer', 'expires'];

export const reservations: CliCommand = {
  name: 'reservations',
  help: `Usage: stockade reservations <sku> [--limit N] [options]

List a SKU's ACTIVE reservations (oldest first) and its pending queue in the order it is served
(GET /v1/skus/{sku}/reservations; needs the read scope; a channel key sees its own channel's).

  --limit N         at most N of each list (the server's default when left out)
${HTTP_OPTIONS_HELP}

Exit status: 0 listed, 1 refused (SKU_NOT_FOUND, ROUTE_MISSING on a server without the route) or no
answer, 2 usage.`,
  async run(args) {
    const { values, positionals: given } = parse(args, OPTIONS);
    const [sku] = positionals(given, ['sku']);
    const query = values.limit === undefined ? '' : `?limit=${wholeNumber('--limit', values.limit, 1)}`;
    const client = StockadeClient.from(values);
    const answer = await client.exchange('GET', `/v1/skus/${segment(sku)}/reservations${query}`);
    if (!answer.ok) {
      // NOT_FOUND is the gateway's answer for a route it does not have, unlike SKU_NOT_FOUND.
      if (answer.error.code === 'NOT_FOUND') {
        throw new CommandFailed('ROUTE_MISSING', `the server at ${client.baseUrl} has no GET /v1/skus/{sku}/reservations route; it predates this CLI — upgrade the server`);
      }
      throw new CommandFailed(answer.error.code, `${answer.error.code}: ${answer.error.message}`, answer.error.details);
    }
    const body = answer.body as ReservationListView;
    if (values.json) {
      printJson(body);
      return 0;
    }
    printLine(`SKU ${body.sku}: ${body.reservations.length} active, ${body.pending.length} pending${body.truncated ? ' (lists cut at --limit)' : ''}`);
    printLine();
    printLine('Active reservations (oldest first)');
    printLine(body.reservations.length ? table(HEADERS, rows(body.reservations)) : '(none)');
    printLine();
    printLine('Pending queue (served top first)');
    printLine(body.pending.length ? table(HEADERS, rows(body.pending)) : '(none)');
    return 0;
  },
};
