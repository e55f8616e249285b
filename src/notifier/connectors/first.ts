// Connector factories of this group; src/notifier/connectors/index.ts joins the groups.
import type { ConnectorFactory } from '../connector.js';

export const firstConnectors: ConnectorFactory<any>[] = [];
