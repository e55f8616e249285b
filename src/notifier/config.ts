// The notifier's configuration: read once at start, validated with ajv (unknown keys rejected by
// name), each receiver's connector configuration validated against its factory's configSchema,
// cross-references checked (rules name receivers that exist, fallbacks do not loop, templates
// use known placeholders), then frozen. Any problem is a NotifierConfigError: exit code 78.

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ALERT_SEVERITIES, ALERT_TYPES, type AlertSeverity, type AlertType } from '../alerts/alert.js';
import type { ConnectorFactory } from './connector.js';
import { TEMPLATE_PLACEHOLDERS, placeholdersOf } from './templates.js';

export const STAKEHOLDERS = ['logistics', 'procurement', 'sales', 'customer_service', 'management'] as const;
export type Stakeholder = (typeof STAKEHOLDERS)[number];

export interface TemplatePair {
  title: string;
  text: string;
}

export interface ReceiverTemplates {
  /** Per alert type; a missing type uses `default`, then the built-in text for the type. */
  byType?: Partial<Record<AlertType, TemplatePair>>;
  default?: TemplatePair;
  recovery?: TemplatePair;
  digest?: TemplatePair;
  escalation?: TemplatePair;
  reminder?: TemplatePair;
}

export interface QuietHours {
  /** Local "HH:MM" in `timeZone`; the quiet period may wrap midnight (22:00 → 07:00). */
  start: string;
  end: string;
  timeZone: string;
  /** Critical notices go out during quiet hours when true. */
  criticalPasses: boolean;
}

export interface RateBudget {
  /** Notifications sent to the receiver per window; more are grouped into the next digest. */
  notificationsMax: number;
  windowMs: number;
}

export interface ReceiverConfig {
  id: string;
  stakeholder: Stakeholder;
  /** Connector type, a key of the connector registry. */
  type: string;
  /** The connector's own configuration, checked against its configSchema. */
  config: Record<string, unknown>;
  templates: ReceiverTemplates;
  /** 0 sends each notice on its own; > 0 groups notices arriving within the window into a digest. */
  digestWindowMs: number;
  rateBudget: RateBudget | null;
  quietHours: QuietHours | null;
  /** Re-notify a still-firing alert this often; 0 never. */
  repeatEveryMs: number;
  /** Receiver used while this one keeps failing or its circuit is open. */
  fallback: string | null;
  /**
   * After a crash between claiming a delivery and recording its answer, send again (with the same
   * deliveryId) rather than record the delivery as uncertain. For vendors that drop a repeated
   * idempotency / dedup key; a resend to any other vendor may duplicate.
   */
  resendUncertain: boolean;
  /** Notices waiting in the receiver's digest, quiet-hours or over-budget queue. */
  heldNotificationsMax: number;
}

export interface RuleMatch {
  types?: AlertType[];
  severities?: AlertSeverity[];
  /** Globs: `*` any run of characters, `?` one character. */
  skus?: string[];
  categories?: string[];
  /** Matches when the alert carries any of these tags. */
  tags?: string[];
  locations?: string[];
  regions?: string[];
}

export interface EscalationRule {
  /** A critical alert neither acknowledged nor resolved this long after the notice escalates. */
  afterMs: number;
  receivers: string[];
}

export interface RuleConfig {
  name: string;
  match: RuleMatch;
  receivers: string[];
  /** Every receiver of these stakeholders, besides `receivers`. */
  stakeholders: Stakeholder[];
  escalation: EscalationRule | null;
  /** Stop at this rule when it matches (later rules are not considered). */
  final: boolean;
}

export interface NotifierNatsConfig {
  servers: string[];
  user: string;
  password: string;
  stream: string;
  /** Every notifier with the same durable name shares (splits) the stream's notices. */
  durable: string;
  ackWaitMs: number;
  /** Notices being worked on at once across this durable (JetStream max_ack_pending). */
  maxAckPending: number;
  /** Wait between checks while the stream does not exist yet. */
  streamWaitMs: number;
  ledgerBucket: string;
  stateBucket: string;
  historyStream: string;
  historyMaxAgeMs: number;
  ledgerMaxAgeMs: number;
}

export interface DeliveryConfig {
  /** Attempts per delivery (first send included) before it is recorded dead. */
  attemptsMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  attemptTimeoutMs: number;
  /** Consecutive failures that open a receiver's circuit. */
  circuitFailuresMax: number;
  /** An open circuit lets one trial through (half-open) after this long. */
  circuitCooldownMs: number;
  /** Consecutive failed attempts of one delivery after which its fallback receiver is used. */
  fallbackAfterFailures: number;
  /** Another notifier's claim on a delivery older than this is treated as left by a crash. */
  claimStaleMs: number;
}

export interface NotifierHttpConfig {
  host: string;
  port: number;
  /** Bearer token for POST /v1/alerts/{id}/ack and the history API. Never logged. */
  adminToken: string;
  bodyBytesMax: number;
  historyLimitDefault: number;
  historyLimitMax: number;
}

export interface NotifierConfig {
  instanceId: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  nats: NotifierNatsConfig;
  http: NotifierHttpConfig;
  delivery: DeliveryConfig;
  /** Open alerts tracked for escalation and reminders. */
  openAlertsMax: number;
  receivers: ReceiverConfig[];
  rules: RuleConfig[];
}

export const DEFAULT_NOTIFIER_NATS: NotifierNatsConfig = Object.freeze({
  servers: ['127.0.0.1:4222'],
  user: 'notifier',
  password: 'notifier-dev-password',
  stream: 'ALERTS',
  durable: 'notifier',
  ackWaitMs: 30_000,
  maxAckPending: 1000,
  streamWaitMs: 1000,
  ledgerBucket: 'NOTIFIER_LEDGER',
  stateBucket: 'NOTIFIER_STATE',
  historyStream: 'NOTIFIER_HISTORY',
  historyMaxAgeMs: 90 * 24 * 60 * 60_000,
  ledgerMaxAgeMs: 30 * 24 * 60 * 60_000,
});

export const DEFAULT_DELIVERY: DeliveryConfig = Object.freeze({
  attemptsMax: 8,
  backoffBaseMs: 500,
  backoffMaxMs: 5 * 60_000,
  attemptTimeoutMs: 10_000,
  circuitFailuresMax: 5,
  circuitCooldownMs: 30_000,
  fallbackAfterFailures: 3,
  claimStaleMs: 2 * 60_000,
});

export const HELD_NOTIFICATIONS_MAX = 1000;
export const OPEN_ALERTS_MAX = 100_000;

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;
const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const bucketName = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const clock = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const templatePair = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'text'],
  properties: { title: { type: 'string', maxLength: 500 }, text: { type: 'string', maxLength: 4000 } },
} as const;
const stringList = { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 200 } } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['http', 'receivers', 'rules'],
  properties: {
    instanceId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    openAlertsMax: positiveInt,
    nats: {
      type: 'object',
      additionalProperties: false,
      properties: {
        servers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        user: { type: 'string', minLength: 1 },
        password: { type: 'string', minLength: 1 },
        stream: bucketName,
        durable: bucketName,
        ackWaitMs: { type: 'integer', minimum: 1000 },
        maxAckPending: { type: 'integer', minimum: 1, maximum: 100_000 },
        streamWaitMs: { type: 'integer', minimum: 10 },
        ledgerBucket: bucketName,
        stateBucket: bucketName,
        historyStream: bucketName,
        historyMaxAgeMs: positiveInt,
        ledgerMaxAgeMs: positiveInt,
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      required: ['adminToken'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        adminToken: { type: 'string', minLength: 16 },
        bodyBytesMax: { type: 'integer', minimum: 64, maximum: 1024 * 1024 },
        historyLimitDefault: positiveInt,
        historyLimitMax: { type: 'integer', minimum: 1, maximum: 100_000 },
      },
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        attemptsMax: { type: 'integer', minimum: 1, maximum: 100 },
        backoffBaseMs: positiveInt,
        backoffMaxMs: positiveInt,
        attemptTimeoutMs: positiveInt,
        circuitFailuresMax: positiveInt,
        circuitCooldownMs: positiveInt,
        fallbackAfterFailures: positiveInt,
        claimStaleMs: positiveInt,
      },
    },
    receivers: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'stakeholder', 'type', 'config'],
        properties: {
          id,
          stakeholder: { enum: STAKEHOLDERS },
          type: { type: 'string', minLength: 1 },
          config: { type: 'object' },
          templates: {
            type: 'object',
            additionalProperties: false,
            properties: {
              byType: {
                type: 'object',
                additionalProperties: false,
                properties: Object.fromEntries(ALERT_TYPES.map((t) => [t, templatePair])),
              },
              default: templatePair,
              recovery: templatePair,
              digest: templatePair,
              escalation: templatePair,
              reminder: templatePair,
            },
          },
          digestWindowMs: nonNegativeInt,
          rateBudget: {
            type: 'object',
            additionalProperties: false,
            required: ['notificationsMax', 'windowMs'],
            properties: { notificationsMax: positiveInt, windowMs: positiveInt },
          },
          quietHours: {
            type: 'object',
            additionalProperties: false,
            required: ['start', 'end', 'timeZone'],
            properties: { start: clock, end: clock, timeZone: { type: 'string', minLength: 1 }, criticalPasses: { type: 'boolean' } },
          },
          repeatEveryMinutes: nonNegativeInt,
          fallback: id,
          resendUncertain: { type: 'boolean' },
          heldNotificationsMax: { type: 'integer', minimum: 1, maximum: 100_000 },
        },
      },
    },
    rules: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'match'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          match: {
            type: 'object',
            additionalProperties: false,
            properties: {
              types: { type: 'array', minItems: 1, items: { enum: ALERT_TYPES } },
              severities: { type: 'array', minItems: 1, items: { enum: ALERT_SEVERITIES } },
              skus: stringList,
              categories: stringList,
              tags: stringList,
              locations: stringList,
              regions: stringList,
            },
          },
          receivers: { type: 'array', items: id },
          stakeholders: { type: 'array', items: { enum: STAKEHOLDERS } },
          escalation: {
            type: 'object',
            additionalProperties: false,
            required: ['afterMinutes', 'receivers'],
            properties: { afterMinutes: positiveInt, receivers: { type: 'array', minItems: 1, items: id } },
          },
          final: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateFile = ajv.compile(schema);

export class NotifierConfigError extends Error {
  /** sysexits.h EX_CONFIG. */
  static readonly EXIT_CODE = 78;
  constructor(message: string) {
    super(message);
    this.name = 'NotifierConfigError';
  }
}

/** One line per problem, naming where it is and the key that is unknown or missing. */
function describe(errors: ErrorObject[] | null | undefined, prefix: string): string[] {
  return (errors ?? []).map((e) => {
    const where = prefix + (e.instancePath || '') || '(root)';
    if (e.keyword === 'additionalProperties') return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    if (e.keyword === 'required') return `${where}: missing key "${(e.params as { missingProperty: string }).missingProperty}"`;
    if (e.keyword === 'enum') return `${where}: must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    return `${where}: ${e.message}`;
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const connectorValidators = new WeakMap<ConnectorFactory<any>, ValidateFunction>();
function connectorValidator(factory: ConnectorFactory<any>): ValidateFunction {
  let validate = connectorValidators.get(factory);
  if (!validate) {
    validate = new Ajv({ allErrors: true, strict: false }).compile(factory.configSchema);
    connectorValidators.set(factory, validate);
  }
  return validate;
}

type RawReceiver = Omit<ReceiverConfig, 'templates' | 'digestWindowMs' | 'rateBudget' | 'quietHours' | 'repeatEveryMs' | 'fallback' | 'resendUncertain' | 'heldNotificationsMax'> & {
  templates?: ReceiverTemplates;
  digestWindowMs?: number;
  rateBudget?: RateBudget;
  quietHours?: Omit<QuietHours, 'criticalPasses'> & { criticalPasses?: boolean };
  repeatEveryMinutes?: number;
  fallback?: string;
  resendUncertain?: boolean;
  heldNotificationsMax?: number;
};
type RawRule = Omit<RuleConfig, 'receivers' | 'stakeholders' | 'escalation' | 'final'> & {
  receivers?: string[];
  stakeholders?: Stakeholder[];
  escalation?: { afterMinutes: number; receivers: string[] };
  final?: boolean;
};
interface RawConfig {
  instanceId?: string;
  logLevel?: NotifierConfig['logLevel'];
  openAlertsMax?: number;
  nats?: Partial<NotifierNatsConfig>;
  http: Partial<NotifierHttpConfig> & { adminToken: string };
  delivery?: Partial<DeliveryConfig>;
  receivers: RawReceiver[];
  rules: RawRule[];
}

/**
 * Validate a parsed configuration against the schema and the connector registry, apply defaults,
 * freeze. Throws NotifierConfigError listing every problem found.
 */
export function buildNotifierConfig(input: unknown, registry: ReadonlyMap<string, ConnectorFactory<any>>, defaultInstanceId = 'notifier'): Readonly<NotifierConfig> {
  if (!validateFile(input)) throw new NotifierConfigError(`invalid notifier configuration: ${describe(validateFile.errors, '').join('; ')}`);
  const raw = input as unknown as RawConfig;
  const problems: string[] = [];
  const receiverIds = new Set<string>();
  raw.receivers.forEach((r, i) => {
    const where = `/receivers/${i}`;
    if (receiverIds.has(r.id)) problems.push(`${where}/id: receiver "${r.id}" is defined twice`);
    receiverIds.add(r.id);
    const factory = registry.get(r.type);
    if (!factory) {
      problems.push(`${where}/type: unknown connector type "${r.type}" (known: ${[...registry.keys()].join(', ') || 'none'})`);
    } else {
      const validate = connectorValidator(factory);
      if (!validate(r.config)) problems.push(...describe(validate.errors, `${where}/config`));
    }
    for (const [name, pair] of templatePairs(r.templates)) {
      for (const placeholder of [...placeholdersOf(pair.title), ...placeholdersOf(pair.text)]) {
        if (!TEMPLATE_PLACEHOLDERS.has(placeholder)) problems.push(`${where}/templates/${name}: unknown placeholder "{{${placeholder}}}"`);
      }
    }
    if (r.quietHours) {
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: r.quietHours.timeZone });
      } catch {
        problems.push(`${where}/quietHours/timeZone: unknown time zone "${r.quietHours.timeZone}"`);
      }
      if (r.quietHours.start === r.quietHours.end) problems.push(`${where}/quietHours: start and end are equal`);
    }
  });
  raw.receivers.forEach((r, i) => {
    if (r.fallback === undefined) return;
    if (!receiverIds.has(r.fallback)) problems.push(`/receivers/${i}/fallback: no receiver "${r.fallback}"`);
    else if (r.fallback === r.id) problems.push(`/receivers/${i}/fallback: a receiver cannot be its own fallback`);
    else if (raw.receivers.find((o) => o.id === r.fallback)?.fallback !== undefined) {
      // One level only: a chain would hide where a notice finally went.
      problems.push(`/receivers/${i}/fallback: receiver "${r.fallback}" has a fallback of its own`);
    }
  });
  const ruleNames = new Set<string>();
  raw.rules.forEach((rule, i) => {
    const where = `/rules/${i}`;
    if (ruleNames.has(rule.name)) problems.push(`${where}/name: rule "${rule.name}" is defined twice`);
    ruleNames.add(rule.name);
    (rule.receivers ?? []).forEach((r, j) => {
      if (!receiverIds.has(r)) problems.push(`${where}/receivers/${j}: no receiver "${r}"`);
    });
    (rule.escalation?.receivers ?? []).forEach((r, j) => {
      if (!receiverIds.has(r)) problems.push(`${where}/escalation/receivers/${j}: no receiver "${r}"`);
    });
    const stakeholders = rule.stakeholders ?? [];
    if ((rule.receivers ?? []).length === 0 && stakeholders.length === 0) problems.push(`${where}: names no receivers and no stakeholders`);
    for (const s of stakeholders) {
      if (!raw.receivers.some((r) => r.stakeholder === s)) problems.push(`${where}/stakeholders: no receiver belongs to "${s}"`);
    }
  });
  const config: NotifierConfig = {
    instanceId: raw.instanceId ?? defaultInstanceId,
    logLevel: raw.logLevel ?? 'info',
    openAlertsMax: raw.openAlertsMax ?? OPEN_ALERTS_MAX,
    nats: { ...DEFAULT_NOTIFIER_NATS, ...raw.nats },
    http: { host: '127.0.0.1', port: 8090, bodyBytesMax: 4096, historyLimitDefault: 100, historyLimitMax: 1000, ...raw.http },
    delivery: { ...DEFAULT_DELIVERY, ...raw.delivery },
    receivers: raw.receivers.map((r) => ({
      id: r.id,
      stakeholder: r.stakeholder,
      type: r.type,
      config: r.config,
      templates: r.templates ?? {},
      digestWindowMs: r.digestWindowMs ?? 0,
      rateBudget: r.rateBudget ?? null,
      quietHours: r.quietHours ? { criticalPasses: false, ...r.quietHours } : null,
      repeatEveryMs: (r.repeatEveryMinutes ?? 0) * 60_000,
      fallback: r.fallback ?? null,
      resendUncertain: r.resendUncertain ?? false,
      heldNotificationsMax: r.heldNotificationsMax ?? HELD_NOTIFICATIONS_MAX,
    })),
    rules: raw.rules.map((rule) => ({
      name: rule.name,
      match: rule.match,
      receivers: rule.receivers ?? [],
      stakeholders: rule.stakeholders ?? [],
      escalation: rule.escalation ? { afterMs: rule.escalation.afterMinutes * 60_000, receivers: rule.escalation.receivers } : null,
      final: rule.final ?? false,
    })),
  };
  if (config.delivery.backoffBaseMs > config.delivery.backoffMaxMs) problems.push('/delivery: backoffBaseMs exceeds backoffMaxMs');
  if (config.http.historyLimitDefault > config.http.historyLimitMax) problems.push('/http: historyLimitDefault exceeds historyLimitMax');
  if (config.delivery.claimStaleMs <= config.delivery.attemptTimeoutMs) problems.push('/delivery: claimStaleMs must exceed attemptTimeoutMs');
  if (problems.length > 0) throw new NotifierConfigError(`invalid notifier configuration: ${problems.join('; ')}`);
  return deepFreeze(config);
}

function templatePairs(t: ReceiverTemplates | undefined): [string, TemplatePair][] {
  if (!t) return [];
  const pairs: [string, TemplatePair][] = [];
  for (const [type, pair] of Object.entries(t.byType ?? {})) pairs.push([`byType/${type}`, pair]);
  for (const name of ['default', 'recovery', 'digest', 'escalation', 'reminder'] as const) {
    const pair = t[name];
    if (pair) pairs.push([name, pair]);
  }
  return pairs;
}

/** Read and validate the file named by --config (else NOTIFIER_CONFIG). */
export function loadNotifierConfig(file: string, registry: ReadonlyMap<string, ConnectorFactory<any>>, defaultInstanceId?: string): Readonly<NotifierConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NotifierConfigError(`cannot read notifier configuration ${file}: ${(err as Error).message}`);
  }
  return buildNotifierConfig(parsed, registry, defaultInstanceId);
}
