// Google Calendar events.insert: POST /calendar/v3/calendars/{calendarId}/events, an event that
// starts when the notice is sent (a slot in the team's calendar to act on the alert). The event id
// is derived from the deliveryId, so a resend after a crash answers 409 and counts as delivered.

import type { Connector, ConnectorFactory } from '../connector.js';
import { fetchWithToken } from './oauth2.js';
import { googleAuthProperties, googleAuthRequired, googleTokenSource, outcomeOfGoogleResponse, type GoogleAuthConfig } from './google-api.js';
import { attempt, emailSchema, jsonInit, joinUrl, objectSchema, plainText, readJson, request, sha256Hex, truncate } from './vendor-request.js';

export interface GoogleCalendarConfig extends GoogleAuthConfig {
  /** "primary" or a calendar's id (…@group.calendar.google.com). */
  calendarId: string;
  /** Length of the event. */
  durationMinutes?: number;
  attendees?: string[];
  /** Overrides https://www.googleapis.com. */
  baseUrl?: string;
}

const BASE_URL = 'https://www.googleapis.com';
const DURATION_MINUTES_DEFAULT = 30;
const ATTENDEES_MAX = 50;
const SUMMARY_CHARS_MAX = 250;
const DESCRIPTION_CHARS_MAX = 8000;

/** Calendar event ids are 5-1024 characters of base32hex (a-v, 0-9); hex digits are a subset. */
export function calendarEventId(deliveryId: string): string {
  return sha256Hex(deliveryId);
}

export const googleCalendarConnector: ConnectorFactory<GoogleCalendarConfig> = {
  type: 'google-calendar',
  configSchema: objectSchema(
    {
      ...googleAuthProperties,
      calendarId: { type: 'string', minLength: 1, maxLength: 512 },
      durationMinutes: { type: 'integer', minimum: 5, maximum: 1440 },
      attendees: { type: 'array', items: emailSchema, maxItems: ATTENDEES_MAX, uniqueItems: true },
    },
    [...googleAuthRequired, 'calendarId'],
  ),
  doc: {
    sends: 'Google Calendar events.insert (POST /calendar/v3/calendars/{calendarId}/events): summary = title, description = text and alert facts, starting now for durationMinutes, optional attendees; event id derived from the delivery id; OAuth2 refresh-token grant (scope calendar.events)',
    exampleConfig: {
      clientId: '<google client id>',
      clientSecret: '<google client secret>',
      refreshToken: '<google refresh token>',
      calendarId: 'procurement@group.calendar.google.com',
      durationMinutes: 30,
    },
    rateLimits: '200 → delivered (event id is the receipt); 409 for the same event id → delivered (an earlier attempt created it); token cached, fetched again once on 401; 429 and 403 rateLimitExceeded → retry; 5xx → retry; other 4xx → permanent.',
  },
  create(config, deps): Connector {
    const tokens = googleTokenSource(config, deps);
    const url = joinUrl(config.baseUrl ?? BASE_URL, `/calendar/v3/calendars/${encodeURIComponent(config.calendarId)}/events`);
    const durationMs = (config.durationMinutes ?? DURATION_MINUTES_DEFAULT) * 60_000;
    return {
      type: 'google-calendar',
      send: (notification, { signal }) =>
        attempt(async () => {
          const id = calendarEventId(notification.deliveryId);
          const start = deps.now();
          const body: Record<string, unknown> = {
            id,
            summary: truncate(notification.title, SUMMARY_CHARS_MAX),
            description: truncate(plainText(notification), DESCRIPTION_CHARS_MAX),
            start: { dateTime: new Date(start).toISOString() },
            end: { dateTime: new Date(start + durationMs).toISOString() },
          };
          if (config.attendees !== undefined && config.attendees.length > 0) body.attendees = config.attendees.map((email) => ({ email }));
          const response = await fetchWithToken(tokens, signal, (token) =>
            request(deps.fetch, 'Google Calendar', url, jsonInit('POST', { authorization: `Bearer ${token}` }, body, signal)),
          );
          // The id is ours and deterministic: "already exists" means an earlier attempt got through.
          if (response.status === 409) return { kind: 'delivered', receipt: id };
          if (!response.ok) return outcomeOfGoogleResponse(response, 'Google Calendar', deps.now());
          const event = (await readJson(response)) as { id?: unknown } | undefined;
          return { kind: 'delivered', receipt: typeof event?.id === 'string' ? event.id : id };
        }),
    };
  },
};
