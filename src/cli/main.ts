// The `stockade` command line: finds the command, shows help, and turns every way a command can
// end into an exit status (0 ok, 1 failure, 2 usage, 78 configuration) and, with --json, into one
// JSON error document on stdout.

import type { CliCommand } from './command.js';
import { CommandFailed, EXIT, UsageError } from './exit.js';
import { printJson } from './output.js';

/**
 * The commands, loaded only when chosen: the HTTP commands need none of the engine, NATS or LMDB
 * code that doctor, replay and serve pull in, and start in a fraction of the time.
 */
export const COMMANDS: readonly { name: string; summary: string; load(): Promise<CliCommand> }[] = [
  { name: 'serve', summary: 'run the Stockade process (engine, gateway, stream consumers)', load: async () => (await import('./processes.js')).serve },
  { name: 'notifier', summary: 'run the notifier process (alerts.> to channels); arguments are passed through', load: async () => (await import('./processes.js')).notifier },
  { name: 'bench', summary: 'run the benchmarks (all, or one by name), or --list them', load: async () => (await import('./bench.js')).bench },
  { name: 'inspect', summary: 'show a SKU: stock per location, reserved, safety, available, flag, thresholds', load: async () => (await import('./inspect.js')).inspect },
  { name: 'reservations', summary: "list a SKU's open reservations and its pending (waiting) queue", load: async () => (await import('./reservations.js')).reservations },
  { name: 'set-stock', summary: 'set the on-hand count of a SKU at a location (creates the SKU and location if new)', load: async () => (await import('./set-stock.js')).setStock },
  { name: 'thresholds', summary: "show or change a SKU's alert thresholds", load: async () => (await import('./thresholds.js')).thresholds },
  { name: 'dead-letters', summary: 'list dead letters, or replay them to their original subjects', load: async () => (await import('./dead-letters.js')).deadLetters },
  { name: 'replay', summary: "rebuild a SKU's availability at a past moment from the WAL (offline)", load: async () => (await import('./replay.js')).replay },
  { name: 'doctor', summary: 'check configuration, data directory, LMDB, NATS and the gateway, with hints', load: async () => (await import('./doctor.js')).doctor },
];

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: stockade <command> [arguments] [options]

Operate Stockade, the real-time inventory availability engine.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`stockade <command> --help\` (or \`stockade help <command>\`) for a command's arguments.
HTTP commands take --url / --api-key, or STOCKADE_URL / STOCKADE_API_KEY. Every command but
serve and notifier takes --json.

Exit status: 0 ok, 1 failure, 2 usage error, 78 configuration error.`;
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

function fail(json: boolean, status: number, code: string, message: string, details?: unknown, usage?: string): number {
  process.stderr.write(`stockade: ${message}\n`);
  if (usage) process.stderr.write(`\n${usage}\n`);
  if (json) printJson({ error: details === undefined ? { code, message } : { code, message, details } });
  return status;
}

/** Run one command line (without `node` and the script); resolves with the exit status. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) return fail(false, EXIT.usage, 'USAGE', 'no command given', undefined, overview());
  if (isHelp(name)) {
    process.stdout.write(overview() + '\n');
    return EXIT.ok;
  }
  if (name === 'help') {
    const target = COMMANDS.find((c) => c.name === rest[0]);
    if (rest.length && !target) return fail(false, EXIT.usage, 'USAGE', `unknown command ${JSON.stringify(rest[0])}`, undefined, overview());
    process.stdout.write((target ? (await target.load()).help : overview()) + '\n');
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) return fail(argv.includes('--json'), EXIT.usage, 'USAGE', `unknown command ${JSON.stringify(name)}`, undefined, overview());
  const command = await entry.load();
  const passThrough = command.name === 'notifier';
  // The notifier's own arguments pass through untouched, --help included.
  if (!passThrough && rest.some(isHelp)) {
    process.stdout.write(command.help + '\n');
    return EXIT.ok;
  }
  const json = !passThrough && rest.includes('--json');
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) return fail(json, EXIT.usage, err.code, `${command.name}: ${err.message}`, undefined, `Run \`stockade ${command.name} --help\` for usage.`);
    // By name: importing config.ts would compile its schema on every start, help included.
    if ((err as Error).name === 'ConfigError') return fail(json, EXIT.config, 'CONFIG_INVALID', (err as Error).message);
    if (err instanceof CommandFailed) return fail(json, err.exitStatus, err.code, err.message, err.details);
    return fail(json, EXIT.failure, 'INTERNAL', (err as Error).stack ?? String(err));
  }
}
