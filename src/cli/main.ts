// The `stockade` command line: finds the command, shows help, and turns every way a command can
// end into an exit status (0 ok, 1 failure, 2 usage, 78 configuration) and, with --json, into one
// JSON error document on stdout.

import { ConfigError } from '../config.js';
import { bench } from './bench.js';
import type { CliCommand } from './command.js';
import { deadLetters } from './dead-letters.js';
import { doctor } from './doctor.js';
import { CommandFailed, EXIT, UsageError } from './exit.js';
import { inspect } from './inspect.js';
import { printJson } from './output.js';
import { notifier, serve } from './processes.js';
import { replay } from './replay.js';
import { reservations } from './reservations.js';
import { setStock } from './set-stock.js';
import { thresholds } from './thresholds.js';

export const COMMANDS: readonly CliCommand[] = [serve, notifier, bench, inspect, reservations, setStock, thresholds, deadLetters, replay, doctor];

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
    process.stdout.write((target ? target.help : overview()) + '\n');
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return fail(argv.includes('--json'), EXIT.usage, 'USAGE', `unknown command ${JSON.stringify(name)}`, undefined, overview());
  // The notifier's own arguments pass through untouched, --help included.
  if (command !== notifier && rest.some(isHelp)) {
    process.stdout.write(command.help + '\n');
    return EXIT.ok;
  }
  const json = command !== notifier && rest.includes('--json');
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) return fail(json, EXIT.usage, err.code, `${command.name}: ${err.message}`, undefined, `Run \`stockade ${command.name} --help\` for usage.`);
    if (err instanceof ConfigError) return fail(json, EXIT.config, 'CONFIG_INVALID', err.message);
    if (err instanceof CommandFailed) return fail(json, err.exitStatus, err.code, err.message, err.details);
    return fail(json, EXIT.failure, 'INTERNAL', (err as Error).stack ?? String(err));
  }
}
