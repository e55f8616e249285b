// API keys: looked up by their sha256 (configuration never holds a key), each bound to a channel
// and to scopes. Keys never reach logs: only the key's configured id does.

import { createHash } from 'node:crypto';
import type { ApiKeyConfig, Scope } from '../config.js';
import { errorBody, type ErrorBody } from '../errors.js';

export interface Principal {
  keyId: string;
  channel: string | null;
  scopes: ReadonlySet<Scope>;
}

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Longest key accepted; anything longer is not hashed at all. */
const KEY_LENGTH_MAX = 256;

export class KeyRing {
  private readonly byHash: Map<string, Principal>;

  constructor(keys: readonly ApiKeyConfig[]) {
    this.byHash = new Map(keys.map((k) => [k.sha256, { keyId: k.id, channel: k.channel, scopes: new Set(k.scopes) }]));
  }

  /** The principal for a presented key, or UNAUTHENTICATED. */
  authenticate(presented: string | undefined | null): Principal | ErrorBody {
    if (!presented || presented.length > KEY_LENGTH_MAX) return errorBody('UNAUTHENTICATED');
    return this.byHash.get(sha256Hex(presented)) ?? errorBody('UNAUTHENTICATED');
  }
}

/** The key in an `Authorization: Bearer …` or `X-Api-Key` header. */
export function keyFromHeaders(authorization: string, apiKeyHeader: string): string | null {
  if (apiKeyHeader) return apiKeyHeader;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  return match ? match[1] : null;
}

export function requireScope(principal: Principal, scope: Scope): ErrorBody | null {
  if (principal.scopes.has(scope) || principal.scopes.has('admin')) return null;
  return errorBody('FORBIDDEN', `the API key lacks the "${scope}" scope`, { keyId: principal.keyId, scope });
}

export function isPrincipal(value: Principal | ErrorBody): value is Principal {
  return 'keyId' in value;
}
