// Every connector the notifier knows, by receiver `type`. Each group lives in its own file.
import type { ConnectorFactory } from '../connector.js';
import { firstConnectors } from './first.js';
import { moreAConnectors } from './more-a.js';
import { moreBConnectors } from './more-b.js';

export const CONNECTORS: ReadonlyMap<string, ConnectorFactory<any>> = new Map(
  [...firstConnectors, ...moreAConnectors, ...moreBConnectors].map((factory) => [factory.type, factory]),
);
