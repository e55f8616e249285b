// Pushover Message API: POST /1/messages.json, form fields token, user, message, title, priority.
// Priority per severity; emergency priority (2) repeats until acknowledged and needs retry (at
// least 30 s) and expire (at most 10800 s), so the schema requires `emergency` when any severity
// maps to 2.

import type { Connector, ConnectorFactory, Notification } from '../connector.js';
import { outcomeOfResponse, RETRY_AFTER_MS_MAX } from '../http-outcome.js';
import { attempt, formInit, joinUrl, objectSchema, plainText, readJson, request, secretSchema, truncate, urlSchema } from './vendor-request.js';

export type PushoverPriority = -2 | -1 | 0 | 1 | 2;

export interface PushoverConfig {
  /** The application's API token. */
  token: string;
  /** A user or group key. */
  user: string;
  /** Priority per severity; recovery notices use `resolved`. */
  priorities?: { info?: PushoverPriority; warning?: PushoverPriority; critical?: PushoverPriority; resolved?: PushoverPriority };
  /** Required when a priority is 2: how often Pushover repeats, and for how long. */
  emergency?: { retrySeconds: number; expireSeconds: number };
  device?: string;
  sound?: string;
  baseUrl?: string;
}

const BASE_URL = 'https://api.pushover.net';
const PRIORITIES_DEFAULT = { info: -1, warning: 0, critical: 1, resolved: -1 } as const;
// Pushover's documented limits.
const MESSAGE_CHARS_MAX = 1024;
const TITLE_CHARS_MAX = 250;
const EMERGENCY_RETRY_SECONDS_MIN = 30;
const EMERGENCY_EXPIRE_SECONDS_MAX = 10_800;

const prioritySchema = { type: 'integer', minimum: -2, maximum: 2 };

/** If `severity` maps to 2, `emergency` must be present. */
function emergencyRequiredWhen(severity: string): Record<string, unknown> {
  return {
    if: { type: 'object', properties: { priorities: { type: 'object', properties: { [severity]: { const: 2 } }, required: [severity] } }, required: ['priorities'] },
    then: { type: 'object', properties: { emergency: { type: 'object' } }, required: ['emergency'] },
  };
}

export function pushoverPriority(config: PushoverConfig, notification: Notification): PushoverPriority {
  const priorities = { ...PRIORITIES_DEFAULT, ...config.priorities };
  return notification.alert.status === 'resolved' ? priorities.resolved : priorities[notification.alert.severity];
}

export const pushoverConnector: ConnectorFactory<PushoverConfig> = {
  type: 'pushover',
  configSchema: objectSchema(
    {
      token: secretSchema,
      user: secretSchema,
      priorities: objectSchema({ info: prioritySchema, warning: prioritySchema, critical: prioritySchema, resolved: prioritySchema }, []),
      emergency: objectSchema(
        {
          retrySeconds: { type: 'integer', minimum: EMERGENCY_RETRY_SECONDS_MIN, maximum: EMERGENCY_EXPIRE_SECONDS_MAX },
          expireSeconds: { type: 'integer', minimum: EMERGENCY_RETRY_SECONDS_MIN, maximum: EMERGENCY_EXPIRE_SECONDS_MAX },
        },
        ['retrySeconds', 'expireSeconds'],
      ),
      device: { type: 'string', pattern: '^[A-Za-z0-9_,-]{1,100}$' },
      sound: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      baseUrl: urlSchema,
    },
    ['token', 'user'],
    { allOf: ['info', 'warning', 'critical', 'resolved'].map(emergencyRequiredWhen) },
  ),
  doc: {
    sends: 'Pushover Message API (POST /1/messages.json, form-encoded): title, message = text and alert facts, timestamp = raisedAt, priority by severity (default info -1, warning 0, critical 1, recovery -1); priority 2 (emergency, repeated until acknowledged) with retry/expire from `emergency`',
    exampleConfig: {
      token: '<pushover app token>',
      user: '<pushover group key>',
      priorities: { critical: 2 },
      emergency: { retrySeconds: 60, expireSeconds: 3600 },
    },
    rateLimits: 'status 1 → delivered (request id, or the emergency receipt, is the receipt); 429 (the app\'s monthly message limit) → retry at X-Limit-App-Reset; 5xx → retry; other 4xx (status 0: invalid user or token, bad priority) → permanent.',
  },
  create(config, deps): Connector {
    const url = joinUrl(config.baseUrl ?? BASE_URL, '/1/messages.json');
    return {
      type: 'pushover',
      send: (notification, { signal }) =>
        attempt(async () => {
          const priority = pushoverPriority(config, notification);
          const form = new URLSearchParams();
          form.set('token', config.token);
          form.set('user', config.user);
          form.set('title', truncate(notification.title, TITLE_CHARS_MAX));
          form.set('message', truncate(plainText(notification), MESSAGE_CHARS_MAX));
          form.set('priority', String(priority));
          form.set('timestamp', String(Math.floor(Date.parse(notification.alert.raisedAt) / 1000)));
          if (priority === 2) {
            // The schema guarantees `emergency` whenever a priority is 2.
            form.set('retry', String(config.emergency!.retrySeconds));
            form.set('expire', String(config.emergency!.expireSeconds));
          }
          if (config.device !== undefined) form.set('device', config.device);
          if (config.sound !== undefined) form.set('sound', config.sound);
          const response = await request(deps.fetch, 'Pushover', url, formInit({}, form, signal));
          if (response.status === 429) {
            // Over the monthly quota: Pushover says when it resets (epoch seconds).
            const reset = Number(response.headers.get('x-limit-app-reset'));
            const reason = `Pushover answered 429: ${(await response.text().catch(() => '')).slice(0, 300)}`;
            if (Number.isFinite(reset) && reset > 0) return { kind: 'retry', reason, retryAfterMs: Math.min(Math.max(0, reset * 1000 - deps.now()), RETRY_AFTER_MS_MAX) };
            return { kind: 'retry', reason };
          }
          if (!response.ok) return outcomeOfResponse(response, 'Pushover', deps.now());
          const answer = (await readJson(response)) as { status?: unknown; request?: unknown; receipt?: unknown; errors?: unknown } | undefined;
          if (answer?.status !== 1) return { kind: 'permanent', reason: `Pushover answered status ${String(answer?.status)}: ${JSON.stringify(answer?.errors ?? null)}` };
          const receipt = typeof answer.receipt === 'string' ? answer.receipt : typeof answer.request === 'string' ? answer.request : undefined;
          return receipt === undefined ? { kind: 'delivered' } : { kind: 'delivered', receipt };
        }),
    };
  },
};
