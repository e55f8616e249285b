#!/usr/bin/env node
// The `stockade` command. Runs the built CLI (dist/src/cli/main.js, after `npm run build`) when
// there is one, else the TypeScript sources through tsx's ESM loader, registered in this process
// before the first import (tsx is a devDependency; a source checkout has it).
// STOCKADE_CLI_FROM_SOURCE=1 runs the sources even when a build exists (a build can be stale).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/src/cli/main.js', root);

let cli;
if (existsSync(fileURLToPath(built)) && process.env.STOCKADE_CLI_FROM_SOURCE !== '1') {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('src/cli/main.ts', root).href);
}

const status = await cli.run(process.argv.slice(2));
// Exit once everything written so far has reached stdout (a pipe is written asynchronously, and
// process.exit would cut a long --json document short), even if a library left a handle open.
process.stdout.write('', () => process.exit(status));
