// Intercom: a back-office ticket per notification (POST /tickets), Intercom-Version pinned.

import type { Connector, ConnectorFactory } from '../connector.js';
import { outcomeOfResponse } from '../http-outcome.js';
import {
  attempt,
  baseUrlString,
  closedObject,
  detailedText,
  idString,
  joinUrl,
  nonEmptyString,
  readBody,
  receiptOf,
  truncate,
} from './more-b-support.js';

export interface IntercomConfig {
  accessToken: string;
  /** A ticket type of category "Back-office": internal tickets the team works, not shown to customers. */
  ticketTypeId: string;
  /** Intercom requires one contact on a ticket: the mailbox or user the alerts are raised for. */
  contactEmail: string;
  intercomVersion?: string;
  /** https://api.intercom.io (US), https://api.eu.intercom.io, https://api.au.intercom.io */
  baseUrl?: string;
}

const VENDOR = 'Intercom';
const BASE_URL_DEFAULT = 'https://api.intercom.io';
const INTERCOM_VERSION_DEFAULT = '2.11';
const TITLE_CHARS_MAX = 250;

export const intercomConnector: ConnectorFactory<IntercomConfig> = {
  type: 'intercom',
  configSchema: closedObject(
    {
      accessToken: nonEmptyString,
      ticketTypeId: idString,
      contactEmail: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
      intercomVersion: { type: 'string', pattern: '^\\d+\\.\\d+$|^Unstable$' },
      baseUrl: baseUrlString,
    },
    ['accessToken', 'ticketTypeId', 'contactEmail'],
  ),
  doc: {
    sends:
      'Intercom ticket (POST /tickets, Intercom-Version 2.11) of a Back-office ticket type, so the team sees it in its inbox and ' +
      'customers never do: ticket_attributes _default_title_ / _default_description_, contacts [{email}]. Auth: Bearer access token.',
    exampleConfig: { accessToken: '<intercom access token>', ticketTypeId: '12', contactEmail: 'stock-alerts@acme.com' },
    rateLimits:
      '429 → retry at X-RateLimit-Reset (epoch seconds) or Retry-After; 5xx → retry; 400 parameter_invalid, 401, 403, ' +
      '404 (ticket type) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL_DEFAULT, '/tickets');
    return {
      type: 'intercom',
      send: (notification, { signal }) =>
        attempt(VENDOR, async () => {
          const body = {
            ticket_type_id: config.ticketTypeId,
            contacts: [{ email: config.contactEmail }],
            ticket_attributes: {
              _default_title_: truncate(notification.title, TITLE_CHARS_MAX),
              _default_description_: detailedText(notification),
            },
          };
          const response = await deps.fetch(url, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${config.accessToken}`,
              'intercom-version': config.intercomVersion ?? INTERCOM_VERSION_DEFAULT,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            body: JSON.stringify(body),
            signal,
          });
          if (!response.ok) return outcomeOfResponse(response, VENDOR, deps.now());
          const { json } = await readBody(response);
          return receiptOf((json as { id?: unknown } | undefined)?.id);
        }),
    };
  },
};
