// The notifier process: `npm run notifier` (node dist/src/notifier/main.js --config
// config/notifier.json) or from source with `node --import tsx src/notifier/main.ts --config …`.
// Exit code 78 (EX_CONFIG) when the configuration is invalid; SIGTERM/SIGINT stop it cleanly
// (notices being worked on are handed back to JetStream for another notifier).

import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { ConnectorFactory } from './connector.js';
import { CONNECTORS } from './connectors/index.js';
import { loadNotifierConfig, NotifierConfigError } from './config.js';
import { Notifier } from './notifier.js';

export function configPathOf(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const i = argv.indexOf('--config');
  if (i >= 0) {
    const path = argv[i + 1];
    if (!path) throw new NotifierConfigError('--config needs a file name');
    return path;
  }
  if (env.NOTIFIER_CONFIG) return env.NOTIFIER_CONFIG;
  throw new NotifierConfigError('no configuration: pass --config <file> or set NOTIFIER_CONFIG');
}

/** Run until a signal; returns the exit code. `registry` is the connector table (tests add theirs). */
export async function runNotifier(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  registry: ReadonlyMap<string, ConnectorFactory<any>> = CONNECTORS,
): Promise<number> {
  let notifier: Notifier;
  const log = pino({ level: env.NOTIFIER_LOG_LEVEL ?? 'info', base: { process: 'notifier' } });
  try {
    const config = loadNotifierConfig(configPathOf(argv, env), registry, hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48));
    log.level = env.NOTIFIER_LOG_LEVEL ?? config.logLevel;
    notifier = await Notifier.start({ config, registry, log, processMetrics: true });
  } catch (err) {
    if (err instanceof NotifierConfigError) {
      // stderr, plain: the operator reads this line first.
      process.stderr.write(`${err.message}\n`);
      return NotifierConfigError.EXIT_CODE;
    }
    log.fatal({ err: (err as Error).message }, 'notifier failed to start');
    return 1;
  }
  if (env.NOTIFIER_READY_LINE) process.stdout.write(`NOTIFIER_READY ${notifier.port}\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'notifier stopping');
  await notifier.stop();
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runNotifier().then((code) => process.exit(code));
}
