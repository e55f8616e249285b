// The server side of OAuth 1.0 (RFC 5849): parse an Authorization header and check its
// HMAC-SHA256 signature, written apart from the connector's signer so one cannot excuse the other.

import { createHmac } from 'node:crypto';

const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

export function parseOAuthHeader(header: string): Map<string, string> {
  if (!header.startsWith('OAuth ')) throw new Error(`not an OAuth header: ${header}`);
  const fields = new Map<string, string>();
  for (const part of header.slice('OAuth '.length).split(',')) {
    const match = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!match) throw new Error(`bad OAuth field: ${part}`);
    fields.set(match[1], decodeURIComponent(match[2]));
  }
  return fields;
}

/** Recompute the signature the client should have sent for `method url` with these fields. */
export function expectedSignature(method: string, url: string, fields: Map<string, string>, consumerSecret: string, tokenSecret: string): string {
  const u = new URL(url);
  const params: string[] = [];
  for (const [k, v] of fields) if (k !== 'realm' && k !== 'oauth_signature') params.push(`${rfc3986(k)}=${rfc3986(v)}`);
  for (const [k, v] of u.searchParams) params.push(`${rfc3986(k)}=${rfc3986(v)}`);
  params.sort();
  const baseString = [method, rfc3986(`${u.origin}${u.pathname}`), rfc3986(params.join('&'))].join('&');
  return createHmac('sha256', `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`).update(baseString).digest('base64');
}
