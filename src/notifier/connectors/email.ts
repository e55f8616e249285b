// Email over SMTP with nodemailer: one message to the receiver's `to` list with a text and an
// HTML body. The Message-ID is derived from the delivery id, so a resend after a crash carries
// the same Message-ID and mail systems and clients can fold the duplicate.
// SMTP says itself what is worth retrying: 4xx replies are transient, 5xx permanent (RFC 5321).

import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import type { NodemailerError } from 'nodemailer';
import type { Connector, ConnectorDependencies, ConnectorFactory, DeliveryOutcome, Notification } from '../connector.js';
import { alertFacts, checkedConfig, digestLines, isDigest, truncate } from './common.js';

/** Recipients of one message; a larger audience is several receivers (or a list address). */
export const EMAIL_RECIPIENTS_MAX = 50;
/** SMTP connections kept open per receiver. */
export const SMTP_CONNECTIONS_MAX_DEFAULT = 2;
export const SMTP_CONNECTION_TIMEOUT_MS_DEFAULT = 10_000;
/** Subjects are one header line; RFC 5322 caps a line at 998 characters. */
const SUBJECT_CHARS_MAX = 250;
const TEXT_CHARS_MAX = 20_000;

// Nodemailer errors without an SMTP reply that a retry cannot fix: bad configuration, no
// credentials, an envelope it refuses to send, a server without the TLS we require.
const PERMANENT_LOCAL_CODES = new Set(['ECONFIG', 'ENOAUTH', 'EENVELOPE', 'EMAXRECIPIENTS', 'EREQUIRETLS']);

/** Node's codes for a server certificate that failed verification (expired, self-signed, wrong name …). */
const TLS_CERTIFICATE_CODES = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)|ERR_TLS_CERT_ALTNAME_INVALID$)/;

export interface EmailConfig {
  host: string;
  port: number;
  /** true: TLS from the first byte (usually port 465). false: plain, upgraded by STARTTLS when offered. */
  secure?: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS (recommended when secure is false). */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /**
   * PEM of the CA(s) that signed the server's certificate, for a relay with a private CA. Trusted
   * besides Node's roots; there is no way to skip verification.
   */
  tlsCa?: string;
  /** Sender, e.g. "Stockade alerts <alerts@example.com>". */
  from: string;
  to: string[];
  connectionsMax?: number;
  connectionTimeoutMs?: number;
}

const ADDRESS = { type: 'string', pattern: '^[^\\s@<>]+@[^\\s@<>]+$', maxLength: 320 } as const;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Subject, text and HTML bodies of a notification. */
export function emailContent(notification: Notification): { subject: string; text: string; html: string } {
  const alert = notification.alert;
  const subject = truncate((notification.title || alert.summary).replace(/[\r\n]+/g, ' '), SUBJECT_CHARS_MAX);
  const text: string[] = [];
  const html: string[] = [`<h2>${escapeHtml(subject)}</h2>`];
  if (notification.text) {
    text.push(notification.text, '');
    html.push(`<p>${escapeHtml(notification.text).replace(/\n/g, '<br>')}</p>`);
  }
  if (isDigest(notification)) {
    const lines = digestLines(notification.alerts);
    text.push(...lines.map((line) => `- ${line}`));
    html.push(`<ul>${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`);
  } else {
    const facts = alertFacts(alert);
    text.push(...facts.map((fact) => `${fact.label}: ${fact.value}`));
    html.push(
      `<table>${facts.map((fact) => `<tr><th align="left">${escapeHtml(fact.label)}</th><td>${escapeHtml(fact.value)}</td></tr>`).join('')}</table>`,
    );
    if (alert.status === 'firing' && alert.suggestedAction) {
      text.push('', `Suggested action: ${alert.suggestedAction}`);
      html.push(`<p><strong>Suggested action:</strong> ${escapeHtml(alert.suggestedAction)}</p>`);
    }
  }
  const footer = `Stockade ${notification.kind} · alert ${alert.id}`;
  text.push('', footer);
  html.push(`<p style="color:#666;font-size:small">${escapeHtml(footer)}</p>`);
  return { subject, text: truncate(text.join('\n'), TEXT_CHARS_MAX), html: truncate(html.join('\n'), TEXT_CHARS_MAX * 2) };
}

/** The same delivery always gets the same Message-ID, on the sender's domain. */
export function messageIdOf(deliveryId: string, from: string): string {
  const domain = /@([^\s@<>]+)>?\s*$/.exec(from)?.[1] ?? 'stockade.invalid';
  return `<${createHash('sha256').update(deliveryId).digest('hex').slice(0, 40)}.stockade@${domain}>`;
}

/** A nodemailer failure → outcome: the SMTP reply class decides, else the kind of failure. */
export function smtpErrorOutcome(err: unknown): DeliveryOutcome {
  const e = err as NodemailerError;
  const reply = e.response ? `: ${String(e.response).slice(0, 300)}` : e.message ? `: ${e.message.slice(0, 300)}` : '';
  if (typeof e.responseCode === 'number') {
    const reason = `SMTP server answered ${e.responseCode}${e.command ? ` to ${e.command}` : ''}${reply}`;
    // nodemailer sets `permanent` from the reply class (5xx except 503); fall back to it by hand.
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return permanent ? { kind: 'permanent', reason } : { kind: 'retry', reason };
  }
  const reason = `SMTP ${e.code ?? 'error'}${e.originalCode ? ` (${e.originalCode})` : ''}${reply}`;
  if (e.code && PERMANENT_LOCAL_CODES.has(e.code)) return { kind: 'permanent', reason };
  // A certificate we do not trust stays untrusted until a person acts (tlsCa, or the server's cert).
  if (e.originalCode && TLS_CERTIFICATE_CODES.test(e.originalCode)) return { kind: 'permanent', reason };
  return { kind: 'retry', reason };
}

export const emailConnector: ConnectorFactory<EmailConfig> = {
  type: 'email',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'port', 'from', 'to'],
    properties: {
      host: { type: 'string', minLength: 1, maxLength: 255 },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      secure: { type: 'boolean' },
      requireTLS: { type: 'boolean' },
      tlsCa: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----', maxLength: 64 * 1024 },
      auth: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'pass'],
        properties: { user: { type: 'string', minLength: 1, maxLength: 320 }, pass: { type: 'string', minLength: 1, maxLength: 1024 } },
      },
      from: { type: 'string', pattern: '@', minLength: 3, maxLength: 400 },
      to: { type: 'array', minItems: 1, maxItems: EMAIL_RECIPIENTS_MAX, uniqueItems: true, items: ADDRESS },
      connectionsMax: { type: 'integer', minimum: 1, maximum: 20 },
      connectionTimeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 },
    },
  },
  doc: {
    sends:
      'Email over SMTP (nodemailer, pooled connections): one message to the `to` list, subject = title, a text and an HTML body with the alert facts and suggested action; Message-ID derived from the delivery id, headers X-Stockade-Delivery-Id and X-Stockade-Alert-Id. `secure: true` for TLS from the start (465), or STARTTLS (587) with `requireTLS: true`.',
    exampleConfig: {
      host: 'smtp.example.com',
      port: 587,
      requireTLS: true,
      auth: { user: 'alerts@example.com', pass: 'REPLACE-ME' },
      from: 'Stockade alerts <alerts@example.com>',
      to: ['logistics@example.com', 'procurement@example.com'],
    },
    rateLimits:
      'SMTP replies decide: 4xx (and 503) → retry; 5xx → permanent (nodemailer’s reply class). Connection failures and timeouts → retry; missing credentials, a refused envelope, a server that cannot do the required STARTTLS or whose certificate fails verification → permanent. If the server accepts some recipients and refuses others, the message counts as delivered and the refused addresses are named in the receipt (a retry would duplicate it for the others).',
  },
  create(config: EmailConfig, _deps: ConnectorDependencies): Connector {
    const c = checkedConfig<EmailConfig>(emailConnector, config);
    const connectionTimeoutMs = c.connectionTimeoutMs ?? SMTP_CONNECTION_TIMEOUT_MS_DEFAULT;
    const transport = nodemailer.createTransport({
      pool: true,
      host: c.host,
      port: c.port,
      secure: c.secure ?? false,
      requireTLS: c.requireTLS ?? false,
      auth: c.auth ? { user: c.auth.user, pass: c.auth.pass } : undefined,
      // `ca` replaces Node's roots, so the configured CA joins them rather than standing alone.
      tls: c.tlsCa ? { ca: [...rootCertificates, c.tlsCa] } : undefined,
      maxConnections: c.connectionsMax ?? SMTP_CONNECTIONS_MAX_DEFAULT,
      // The notifier owns retries: a message whose connection dropped comes back as `retry`.
      maxRequeues: 0,
      connectionTimeout: connectionTimeoutMs,
      greetingTimeout: connectionTimeoutMs,
      socketTimeout: connectionTimeoutMs * 3,
    });
    return {
      type: 'email',
      async send(notification, { signal }) {
        const content = emailContent(notification);
        try {
          const info = await transport.sendMail({
            from: c.from,
            to: c.to,
            subject: content.subject,
            text: content.text,
            html: content.html,
            messageId: messageIdOf(notification.deliveryId, c.from),
            headers: { 'X-Stockade-Delivery-Id': notification.deliveryId, 'X-Stockade-Alert-Id': notification.alert.id },
            signal,
          });
          const rejected = info.rejected ?? [];
          const receipt = rejected.length > 0 ? `${info.messageId}; refused: ${rejected.join(', ')}` : info.messageId;
          return { kind: 'delivered', receipt };
        } catch (err) {
          return smtpErrorOutcome(err);
        }
      },
      async close() {
        transport.close();
      },
    };
  },
};
