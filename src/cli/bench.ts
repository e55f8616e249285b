// `stockade bench [name]`: the benchmark scripts package.json declares as `bench:<name>`, run one
// after another through npm (each prints its own figures), with a progress bar over the list.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { projectFile } from '../paths.js';
import { COMMON_OPTIONS, parse } from './args.js';
import type { CliCommand } from './command.js';
import { CommandFailed, UsageError } from './exit.js';
import { printJson, printLine, progress, type Progress } from './output.js';

const BENCH_PREFIX = 'bench:';

/** Benchmark names and their commands, in package.json order. */
export function benchScripts(): { name: string; command: string }[] {
  const pkg = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return Object.entries(pkg.scripts ?? {})
    .filter(([key]) => key.startsWith(BENCH_PREFIX))
    .map(([key, command]) => ({ name: key.slice(BENCH_PREFIX.length), command }));
}

/** Run `npm run bench:<name>` from the project root; its lines go to `out` (stderr with --json). */
function runBench(name: string, bar: Progress, json: boolean): Promise<number> {
  const child = spawn('npm', ['run', '--silent', `${BENCH_PREFIX}${name}`], { cwd: projectFile('.'), stdio: ['ignore', 'pipe', 'pipe'] });
  const show = (line: string) => (json ? process.stderr.write(line + '\n') : bar.log(line));
  createInterface({ input: child.stdout! }).on('line', show);
  createInterface({ input: child.stderr! }).on('line', show);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new CommandFailed('CHILD_FAILED', `cannot run npm: ${err.message}`)));
    child.once('close', (code) => resolve(code ?? 1));
  });
}

const OPTIONS = { ...COMMON_OPTIONS, list: { type: 'boolean' } } as const;

export const bench: CliCommand = {
  name: 'bench',
  help: `Usage: stockade bench [name] [--list] [--json]

Run the benchmark scripts declared in package.json as bench:<name> (each is \`npm run bench:<name>\`),
one after another with a progress bar over the list, or only the one named. Their figures print
as they run. They load the machine: do not run them beside anything timing-sensitive.

  --list            print the benchmark names and commands, run nothing
  --json            print {results:[{name, exitCode, ms}]} on stdout; benchmark output goes to stderr
  -h, --help        show this help

Exit status: 0 all ran and passed, 1 a benchmark failed, 2 usage (e.g. an unknown name).`,
  async run(args) {
    const { values, positionals } = parse(args, OPTIONS);
    const scripts = benchScripts();
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    if (values.list) {
      if (positionals.length) throw new UsageError('--list takes no name');
      if (values.json) printJson({ benchmarks: scripts });
      else for (const s of scripts) printLine(`${s.name.padEnd(10)} ${s.command}`);
      return 0;
    }
    const chosen = positionals.length ? scripts.filter((s) => s.name === positionals[0]) : scripts;
    if (chosen.length === 0) throw new UsageError(`no benchmark ${JSON.stringify(positionals[0])}; there are: ${scripts.map((s) => s.name).join(', ')}`);
    const bar = progress(chosen.length, 'benchmarks', values.json === true);
    const results: { name: string; exitCode: number; ms: number }[] = [];
    for (const s of chosen) {
      bar.log(`== bench:${s.name} (${s.command})`);
      const started = performance.now();
      const exitCode = await runBench(s.name, bar, values.json === true);
      results.push({ name: s.name, exitCode, ms: Math.round(performance.now() - started) });
      bar.increment();
    }
    bar.stop();
    const failed = results.filter((r) => r.exitCode !== 0);
    if (values.json) printJson({ results });
    else for (const r of results) printLine(`${r.exitCode === 0 ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(10)} ${(r.ms / 1000).toFixed(1)} s${r.exitCode ? ` (exit ${r.exitCode})` : ''}`);
    return failed.length ? 1 : 0;
  },
};
