// `stockade serve` and `stockade notifier`: the long-running processes.
//
// `serve` imports the Stockade entry (src/main) into this process: it reads `--config` from the
// command line itself, handles SIGINT/SIGTERM and exits with its own status (78 on a bad
// configuration). `notifier` runs the notifier entry as a child process with the arguments passed
// through, its output on this terminal, signals forwarded and its exit status returned.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { projectFile } from '../paths.js';
import type { CliCommand } from './command.js';
import { parse } from './args.js';
import { CommandFailed, UsageError } from './exit.js';

/** This CLI runs from TypeScript sources (through tsx) rather than from the build in dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Node arguments that run an entry point the way this CLI runs: built JavaScript, or TypeScript through tsx. */
export function nodeArgumentsFor(entry: { built: string; source: string }): { args: string[]; file: string } {
  if (!FROM_SOURCE) return { args: [projectFile(entry.built)], file: projectFile(entry.built) };
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { args: ['--import', tsxLoader, projectFile(entry.source)], file: projectFile(entry.source) };
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Run a Node program as a child with this terminal; forwards signals; resolves with its exit status. */
export function runNodeChild(args: string[], passThrough: string[]): Promise<number> {
  const child = spawn(process.execPath, [...args, ...passThrough], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new CommandFailed('CHILD_FAILED', `cannot start ${args.at(-1)}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 1));
    });
  });
}

export const serve: CliCommand = {
  name: 'serve',
  help: `Usage: stockade serve [--config FILE]

Run Stockade in the foreground, as \`npm start\` does but without building first (from source
when there is no build). It recovers every shard before it listens. SIGINT / SIGTERM stop it
cleanly. Configuration: --config FILE, else $STOCKADE_CONFIG, else built-in defaults; the
variables STOCKADE_DATA_DIR, STOCKADE_SHARDS, STOCKADE_LOG_LEVEL, STOCKADE_HTTP_HOST,
STOCKADE_HTTP_PORT, STOCKADE_NATS_SERVERS and STOCKADE_NATS_PASSWORD override the file.
NATS itself is not started: \`npm start\` does that (scripts/nats.mjs), or run your own.

Exit status: 0 after a clean stop, 1 failure, 78 configuration error (named on stderr).`,
  async run(args) {
    const { values, positionals } = parse(args, { config: { type: 'string' } });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    // src/main looks for a separate `--config FILE` argument only; pass `--config=FILE` on too.
    if (values.config !== undefined) process.env.STOCKADE_CONFIG = values.config;
    // src/main exits by itself on failure; it keeps this
    // process alive while it serves, so this promise's value only matters if it returns at once.
    await import('../main.js');
    return new Promise<number>(() => {});
  },
};

export const notifier: CliCommand = {
  name: 'notifier',
  help: `Usage: stockade notifier [notifier arguments…]

Run the notifier (dist/src/notifier/main.js, or src/notifier/main.ts from source) in the
foreground with every argument passed through, e.g. \`stockade notifier --config config/notifier.json\`.
Signals are forwarded to it and its exit status is returned.

Exit status: the notifier's own; 1 when the notifier is not part of this tree.`,
  async run(args) {
    const { args: nodeArgs, file } = nodeArgumentsFor({ built: 'dist/src/notifier/main.js', source: 'src/notifier/main.ts' });
    if (!existsSync(file)) throw new CommandFailed('NOT_AVAILABLE', `the notifier is not in this tree (no ${file})${FROM_SOURCE ? '' : '; run `npm run build`'}`);
    return runNodeChild(nodeArgs, args);
  },
};
