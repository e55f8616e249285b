// Connector factories of this group; src/notifier/connectors/index.ts joins the groups.
// Helpers they share are in more-b-support.ts.
import type { ConnectorFactory } from '../connector.js';
import { asanaConnector } from './asana.js';
import { basecampConnector } from './basecamp.js';
import { freshdeskConnector } from './freshdesk.js';
import { hubspotConnector } from './hubspot.js';
import { intercomConnector } from './intercom.js';
import { kafkaConnector } from './kafka.js';
import { mondayConnector } from './monday.js';
import { netsuiteConnector } from './netsuite.js';
import { notionConnector } from './notion.js';
import { pipedriveConnector } from './pipedrive.js';
import { quickbooksConnector } from './quickbooks.js';
import { salesforceConnector } from './salesforce.js';
import { sapB1Connector } from './sap-b1.js';
import { trelloConnector } from './trello.js';
import { zendeskConnector } from './zendesk.js';
import { zohoConnector } from './zoho.js';

export const moreBConnectors: ConnectorFactory<any>[] = [
  zendeskConnector,
  freshdeskConnector,
  salesforceConnector,
  hubspotConnector,
  zohoConnector,
  pipedriveConnector,
  trelloConnector,
  asanaConnector,
  mondayConnector,
  basecampConnector,
  notionConnector,
  intercomConnector,
  sapB1Connector,
  netsuiteConnector,
  quickbooksConnector,
  kafkaConnector,
];
