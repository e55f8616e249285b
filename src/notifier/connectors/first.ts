// Connector factories of this group; src/notifier/connectors/index.ts joins the groups.
// Slack (Web API and incoming webhooks), Teams Workflows, SMTP email, Twilio SMS, PagerDuty
// Events v2, RabbitMQ and the generic signed webhook.
import type { ConnectorFactory } from '../connector.js';
import { emailConnector } from './email.js';
import { pagerDutyConnector } from './pagerduty.js';
import { rabbitMqConnector } from './rabbitmq.js';
import { slackConnector, slackWebhookConnector } from './slack.js';
import { teamsConnector } from './teams.js';
import { twilioSmsConnector } from './twilio.js';
import { webhookConnector } from './webhook.js';

export const firstConnectors: ConnectorFactory<any>[] = [
  slackConnector,
  slackWebhookConnector,
  teamsConnector,
  emailConnector,
  twilioSmsConnector,
  pagerDutyConnector,
  rabbitMqConnector,
  webhookConnector,
];
