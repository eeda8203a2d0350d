import {
  API_KEY_PREFIX,
  hashApiKeySecret,
  isWellFormedApiKey,
  looksLikeApiKey,
  type ResolvedApiKey,
} from '../../lib/auth/api-keys.js';
import { ANONYMOUS_HEADER_TTL_SECONDS, signAnonymous, signIdentity, type Identity } from '../../lib/auth/identity.js';
import type { RevocationCheck } from '../../lib/auth/revocations.js';
import { verifyAccessToken, type AccessTokenConfig } from '../../lib/auth/tokens.js';
import { err, ErrorCode } from '../../lib/errors.js';

export type Caller = {
  identity: Identity;
  /** The signed identity header value forwarded to subgraphs. */
  identityHeader: string;
};

/**
 * Finds the key whose secret hashes to `secretHash` (the users service answers: api-keys.ts),
 * or null when there is none or it is revoked or expired. `shown` is the token's public prefix, for
 * the log of a refused key.
 */
export type ApiKeyLookup = (secretHash: string, shown: string) => Promise<ResolvedApiKey | null>;

export type Authenticator = {
  /**
   * The caller a credential names: an access token, or an API key (`aic_…`, resolved through the
   * users service and cached briefly). Null when none is presented; rejects with UNAUTHENTICATED
   * for one that is not valid (expired, revoked, unknown).
   */
  authenticate(authorization: string | undefined): Promise<Caller | null>;
  /** Calls `listener` when sessions, users or API keys were revoked: callers authenticated before may be refused now. */
  onRevoked(listener: () => void): () => void;
  /** The signed identity header of a caller without a token (subgraphs refuse requests without one). */
  anonymousHeader(): string;
  /** How API keys are resolved (the gateway sets it once it knows where the users service is). */
  useApiKeyLookup(lookup: ApiKeyLookup): void;
};

const MAX_CACHED_TOKENS = 10_000;
const MAX_CACHED_KEYS = 10_000;
/**
 * How long a gateway trusts its resolution of a key: a revocation reaches it at once through the
 * revocation feed; this bounds what it misses without one, and how often it asks the users service
 * about a key in use (which records lastUsedAt then).
 */
export const API_KEY_CACHE_MS = 30_000;
/** How long an unknown, revoked or expired key is refused without asking again. */
const REFUSED_KEY_CACHE_MS = 10_000;
/**
 * The lifetime of the identity header signed for a key caller (the key's expiry when sooner). A
 * WebSocket authenticated with a key closes with 4401 when it passes, as with an access token, and
 * the client connects again with the same key.
 */
export const API_KEY_IDENTITY_TTL_SECONDS = 3600;

export const invalidTokenError = () =>
  err(ErrorCode.UNAUTHENTICATED, 'Invalid or expired access token', { http: { status: 401 } });

export const invalidKeyError = () =>
  err(ErrorCode.UNAUTHENTICATED, 'Invalid, revoked or expired API key', { http: { status: 401 } });

/** Extracts the token from `Authorization: Bearer <token>` (scheme matched case-insensitively). */
export function bearerToken(authorization: string | undefined): string | null | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1]! : null;
}

type CachedKey = { caller: Caller | null; until: number };

/**
 * Verifies access tokens and API keys and signs the identity header for subgraphs. Verified tokens
 * are kept (bounded, with their expiry and revocation re-checked on every use) so a client's
 * repeated requests skip the HMAC work on the hot path. `revocations` refuses the tokens of ended
 * sessions and of users whose role changed, before they expire (lib/auth/revocations.ts); a key
 * it names is resolved again (refused when revoked; with its owner's new role after a role change).
 */
export function createAuthenticator(
  config: Pick<AccessTokenConfig, 'secret' | 'previousSecrets' | 'issuer' | 'audience'>,
  internalSecret: string,
  revocations?: RevocationCheck,
): Authenticator {
  const verified = new Map<string, Caller>();
  const keys = new Map<string, CachedKey>();
  const resolving = new Map<string, Promise<Caller | null>>();
  let lookup: ApiKeyLookup | undefined;
  // One anonymous header at a time, signed again once half its lifetime is gone.
  let anonymous = { header: '', expiresAt: 0 };

  function authenticateToken(token: string): Caller {
    const nowSeconds = Date.now() / 1000;
    const cached = verified.get(token);
    if (cached) {
      if (cached.identity.expiresAt > nowSeconds && !revocations?.isRevoked(cached.identity)) return cached;
      verified.delete(token);
      throw invalidTokenError();
    }
    const identity = verifyAccessToken(config, token);
    if (!identity || revocations?.isRevoked(identity)) throw invalidTokenError();
    const caller = { identity, identityHeader: signIdentity(internalSecret, identity) };
    if (verified.size >= MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value as string);
    verified.set(token, caller);
    return caller;
  }

  function keyCaller(key: ResolvedApiKey): Caller {
    const nowSeconds = Date.now() / 1000;
    const identity: Identity = {
      userId: key.userId,
      role: key.role,
      expiresAt: Math.min(key.expiresAt ?? Infinity, Math.floor(nowSeconds) + API_KEY_IDENTITY_TTL_SECONDS),
      // For "issued before a role change": this resolution's time.
      issuedAt: Math.floor(nowSeconds),
      apiKeyId: key.id,
      scopes: key.scopes,
    };
    if (key.projectId !== null) identity.projectId = key.projectId;
    return { identity, identityHeader: signIdentity(internalSecret, identity) };
  }

  async function resolveKey(secretHash: string, token: string): Promise<Caller | null> {
    const key = await lookup!(secretHash, token.slice(0, API_KEY_PREFIX.length + 8));
    const caller = key ? keyCaller(key) : null;
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value as string);
    keys.set(secretHash, { caller, until: Date.now() + (caller ? API_KEY_CACHE_MS : REFUSED_KEY_CACHE_MS) });
    return caller;
  }

  async function authenticateKey(token: string): Promise<Caller> {
    if (!lookup || !isWellFormedApiKey(token)) throw invalidKeyError();
    const secretHash = hashApiKeySecret(token);
    const cached = keys.get(secretHash);
    if (cached && cached.until > Date.now()) {
      if (!cached.caller) throw invalidKeyError();
      const { identity } = cached.caller;
      if (identity.expiresAt > Date.now() / 1000 && !revocations?.isRevoked(identity)) return cached.caller;
      // Expired, revoked, or its owner's role changed: ask again (the users service records a refusal).
    }
    keys.delete(secretHash);
    let pending = resolving.get(secretHash);
    if (!pending) {
      pending = resolveKey(secretHash, token).finally(() => resolving.delete(secretHash));
      resolving.set(secretHash, pending);
    }
    let caller: Caller | null;
    try {
      caller = await pending;
    } catch {
      throw err(ErrorCode.INTERNAL_SERVER_ERROR, 'The API key could not be checked; try again');
    }
    if (!caller || caller.identity.expiresAt <= Date.now() / 1000 || revocations?.isRevoked(caller.identity)) {
      // A revocation that arrived while resolving, or a resolution made just before a role change.
      if (caller) keys.delete(secretHash);
      throw invalidKeyError();
    }
    return caller;
  }

  return {
    anonymousHeader() {
      const nowSeconds = Math.floor(Date.now() / 1000);
      if (anonymous.expiresAt - nowSeconds < ANONYMOUS_HEADER_TTL_SECONDS / 2) {
        const expiresAt = nowSeconds + ANONYMOUS_HEADER_TTL_SECONDS;
        anonymous = { header: signAnonymous(internalSecret, expiresAt), expiresAt };
      }
      return anonymous.header;
    },
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) return null;
      if (token === null) throw invalidTokenError();
      return looksLikeApiKey(token) ? authenticateKey(token) : authenticateToken(token);
    },
    onRevoked: (listener) => revocations?.onRevoked(listener) ?? (() => {}),
    useApiKeyLookup(next) {
      lookup = next;
    },
  };
}
