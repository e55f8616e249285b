// Connector factories of this group; src/notifier/connectors/index.ts joins the groups.
import type { ConnectorFactory } from '../connector.js';
import { discordConnector } from './discord.js';
import { gmailConnector } from './gmail.js';
import { googleCalendarConnector } from './google-calendar.js';
import { googleChatConnector } from './google-chat.js';
import { graphMailConnector, outlookConnector, teamsChatConnector } from './graph.js';
import { jiraConnector } from './jira.js';
import { mailgunConnector } from './mailgun.js';
import { pushoverConnector } from './pushover.js';
import { sendgridConnector } from './sendgrid.js';
import { snsConnector } from './sns.js';
import { telegramConnector } from './telegram.js';
import { webexConnector } from './webex.js';
import { whatsappConnector } from './whatsapp.js';

export const moreAConnectors: ConnectorFactory<any>[] = [
  sendgridConnector,
  mailgunConnector,
  graphMailConnector,
  outlookConnector,
  teamsChatConnector,
  gmailConnector,
  googleCalendarConnector,
  googleChatConnector,
  discordConnector,
  telegramConnector,
  whatsappConnector,
  webexConnector,
  pushoverConnector,
  snsConnector,
  jiraConnector,
];
