// docs/channels.md is generated from the connectors: it must list every one and be current, and
// every connector's documented example configuration must pass its own schema.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { CONNECTORS } from '../src/notifier/connectors/index.js';
import { CHANNELS_DOC, channelsMarkdown } from '../scripts/channels-doc.js';

describe('docs/channels.md', () => {
  it('is generated from the current connectors (run npm run docs:channels when this fails)', () => {
    expect(readFileSync(CHANNELS_DOC, 'utf8')).toBe(channelsMarkdown(CONNECTORS.values()));
  });

  it('covers every channel the product brief names', () => {
    const types = [...CONNECTORS.keys()];
    for (const expected of ['slack', 'teams', 'email', 'twilio-sms', 'pagerduty', 'rabbitmq', 'webhook', 'sendgrid', 'mailgun', 'graph-mail', 'teams-chat', 'gmail',
      'google-calendar', 'outlook', 'google-chat', 'discord', 'telegram', 'whatsapp', 'webex', 'pushover', 'sns', 'jira', 'zendesk', 'freshdesk', 'salesforce',
      'hubspot', 'zoho-crm', 'pipedrive', 'trello', 'asana', 'monday', 'basecamp', 'notion', 'intercom', 'sap-b1', 'netsuite', 'quickbooks', 'kafka']) {
      expect(types, expected).toContain(expected);
    }
  });

  it('documents, for each connector, an example configuration its schema accepts', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    for (const factory of CONNECTORS.values()) {
      const validate = ajv.compile(factory.configSchema);
      expect(validate(factory.doc.exampleConfig), `${factory.type}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });
});
