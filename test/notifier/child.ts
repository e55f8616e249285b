// The notifier process as the process tests run it: src/notifier/main.ts with the test
// connectors added to the registry (the production registry may not hold a webhook yet).

import { CONNECTORS } from '../../src/notifier/connectors/index.js';
import { runNotifier } from '../../src/notifier/main.js';
import { TEST_REGISTRY } from './connectors.js';

const registry = new Map([...CONNECTORS, ...TEST_REGISTRY]);
runNotifier(process.argv.slice(2), process.env, registry).then((code) => process.exit(code));
