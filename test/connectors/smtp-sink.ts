// A real SMTP server for tests (the smtp-server package) on 127.0.0.1 port 0: it records each
// accepted message's envelope, authenticated user, TLS state and raw RFC 5322 text, and refuses
// MAIL FROM, RCPT TO or DATA with the SMTP reply the test chooses. STARTTLS (or TLS from the
// start) only with a certificate the test passes (selfSignedCertificate); AUTH is allowed in
// plain text so tests without a certificate can still check credentials.

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SmtpReply {
  code: number;
  message: string;
}

export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  user: string | undefined;
  /** True when the session ran over TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The message as sent: headers, blank line, MIME body. */
  raw: string;
}

export interface SmtpSinkOptions {
  /** When set, AUTH is required and only this user/password is accepted (else 535). */
  credentials?: { user: string; pass: string };
  rejectMailFrom?: (address: string) => SmtpReply | undefined;
  rejectRcptTo?: (address: string) => SmtpReply | undefined;
  /** Refuse after the message was read (or hold the answer until `holdData` settles). */
  rejectData?: () => SmtpReply | undefined;
  holdData?: Promise<unknown>;
  /** A key and certificate (PEM): STARTTLS is offered with them, or TLS from the start when `secure`. */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** Messages kept; the test fails loudly past it rather than growing without end. */
  messagesMax?: number;
}

function smtpError(reply: SmtpReply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  /** Messages whose DATA was read completely, accepted or not (counted before any hold). */
  dataReceived = 0;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  private constructor(private readonly server: SMTPServer) {}

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const messagesMax = options.messagesMax ?? 100;
    let sink: SmtpSink | undefined;
    const disabled = [...(options.tls ? [] : ['STARTTLS']), ...(options.credentials ? [] : ['AUTH'])];
    const server = new SMTPServer({
      disabledCommands: disabled,
      secure: options.secure ?? false,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      allowInsecureAuth: true,
      authOptional: !options.credentials,
      logger: false,
      onAuth(auth, _session, callback) {
        const c = options.credentials;
        if (c && auth.username === c.user && auth.password === c.pass) callback(null, { user: auth.username });
        else callback(smtpError({ code: 535, message: 'Authentication credentials invalid' }));
      },
      onMailFrom(address, _session, callback) {
        const reply = options.rejectMailFrom?.(address.address);
        callback(reply ? smtpError(reply) : null);
      },
      onRcptTo(address, _session, callback) {
        const reply = options.rejectRcptTo?.(address.address);
        callback(reply ? smtpError(reply) : null);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          sink!.dataReceived += 1;
          sink!.wake();
          void (options.holdData ?? Promise.resolve()).then(() => {
            const reply = options.rejectData?.();
            if (reply) return callback(smtpError(reply));
            if (sink!.messages.length >= messagesMax) return callback(smtpError({ code: 452, message: 'test sink full' }));
            sink!.messages.push({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              user: typeof session.user === 'string' ? session.user : undefined,
              secure: session.secure,
              raw: Buffer.concat(chunks).toString('utf8'),
            });
            sink!.wake();
            callback(null);
          });
        });
      },
    });
    sink = new SmtpSink(server);
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    return sink;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  waitForMessages(count: number): Promise<void> {
    return this.until(() => this.messages.length >= count);
  }

  /** Resolves once `count` messages were read to the end of DATA (held or refused ones too). */
  waitForData(count: number): Promise<void> {
    return this.until(() => this.dataReceived >= count);
  }

  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.ready());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** One header's value from a raw message (unfolded), or undefined. */
export function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** Undo quoted-printable (soft breaks and =XX bytes) so body text can be searched as UTF-8. */
export function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const chars = Array.from(text.replace(/=\r?\n/g, ''));
  for (let i = 0; i < chars.length; i++) {
    const hex = `${chars[i + 1] ?? ''}${chars[i + 2] ?? ''}`;
    if (chars[i] === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(chars[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A throw-away key and self-signed certificate for 127.0.0.1 (made by the openssl binary, in a
 * temporary directory removed at once): the connector trusts it through `tlsCa`.
 */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stockade-smtp-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
