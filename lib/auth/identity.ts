import jwt, { type JwtPayload } from 'jsonwebtoken';
import { secretKey } from './secret-key.js';
import type { ApiKeyScope, Role } from '../db/schema.js';

/** Who is calling, as the gateway established it from a verified access token. */
export type Identity = {
  userId: string;
  role: Role;
  /** Unix seconds at which the access token it came from expires. */
  expiresAt: number;
  /**
   * The session (refresh-token family) the access token was issued for, so that ending the
   * session stops it at the gateway; absent in tokens issued before sessions were named.
   */
  sessionId?: string;
  /** Unix seconds at which the access token was issued (`iat`), for "issued before a role change". */
  issuedAt?: number;
  /**
   * Set when the caller authenticated with an API key (not an access token): the key's id. The
   * identity is then the key's owner (with the owner's current role) narrowed by `scopes` and
   * `projectId`; `expiresAt` is when the gateway's resolution of the key stops being trusted.
   */
  apiKeyId?: string;
  /** What the API key may do (lib/auth/api-key-scopes.ts); absent for an access token (everything). */
  scopes?: ApiKeyScope[];
  /** The one project an API key is limited to: nothing of any other project is visible. */
  projectId?: string;
};

/**
 * The header through which the gateway tells subgraphs who is calling. Its value is signed with
 * the internal secret that only the gateway and the subgraphs hold, so a client that sets it
 * directly (or reaches a subgraph directly) cannot forge an identity; the gateway never forwards
 * a client's own value.
 */
export const IDENTITY_HEADER = 'x-ai-code-identity';

const ISSUER = 'ai-code-gateway';
const AUDIENCE = 'ai-code-subgraphs';
const ALGORITHM = 'HS256' as const;

export function signIdentity(internalSecret: string, identity: Identity): string {
  const claims: Record<string, unknown> = { sub: identity.userId, role: identity.role, exp: identity.expiresAt };
  // An API key's narrowing travels with the identity: subgraphs enforce it where the data lives.
  if (identity.apiKeyId !== undefined) {
    claims.akid = identity.apiKeyId;
    claims.scp = identity.scopes ?? [];
    if (identity.projectId !== undefined) claims.pid = identity.projectId;
  }
  return jwt.sign(claims, secretKey(internalSecret), {
    algorithm: ALGORITHM,
    issuer: ISSUER,
    audience: AUDIENCE,
    noTimestamp: true,
  });
}

export function verifyIdentity(internalSecret: string, value: string): Identity | null {
  return verifyCaller(internalSecret, value)?.identity ?? null;
}

/**
 * Claims of the header the gateway sends for a caller without a token: subgraphs answer nothing
 * without a signed header, so that reaching one directly (past the gateway) gets nowhere.
 */
export const ANONYMOUS_CLAIMS = { anonymous: true } as const;

/** Lifetime of a signed anonymous header; the gateway signs a new one before half of it is gone. */
export const ANONYMOUS_HEADER_TTL_SECONDS = 3600;

export function signAnonymous(internalSecret: string, expiresAt: number): string {
  return jwt.sign({ ...ANONYMOUS_CLAIMS, exp: expiresAt }, secretKey(internalSecret), {
    algorithm: ALGORITHM,
    issuer: ISSUER,
    audience: AUDIENCE,
    noTimestamp: true,
  });
}

/**
 * The caller a signed header names: a user's identity, or null for an anonymous caller the gateway
 * vouches for. Undefined when the header is not one the gateway signed (missing, forged, expired).
 */
export function verifyCaller(internalSecret: string, value: unknown): { identity: Identity | null } | undefined {
  if (typeof value !== 'string') return undefined;
  let claims: JwtPayload | string;
  try {
    claims = jwt.verify(value, secretKey(internalSecret), {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
  } catch {
    return undefined;
  }
  if (typeof claims !== 'string' && claims.anonymous === true && claims.sub === undefined) return { identity: null };
  const identity = identityFromClaims(claims);
  if (!identity || typeof claims === 'string') return undefined;
  if (claims.akid !== undefined) {
    const { akid, scp, pid } = claims;
    if (typeof akid !== 'string' || !Array.isArray(scp) || !scp.every(isApiKeyScope)) return undefined;
    if (pid !== undefined && typeof pid !== 'string') return undefined;
    identity.apiKeyId = akid;
    identity.scopes = scp;
    if (pid !== undefined) identity.projectId = pid;
  }
  return { identity };
}

const isApiKeyScope = (value: unknown): value is ApiKeyScope =>
  value === 'READ' || value === 'PREDICT' || value === 'WRITE';

/**
 * The identity in verified JWT claims (`sub`, `role`, `exp`; `sid` and `iat` when present), or
 * null when a required one is missing or malformed.
 */
export function identityFromClaims(claims: JwtPayload | string): Identity | null {
  if (typeof claims === 'string') return null;
  const { sub, role, exp, sid, iat } = claims;
  if (typeof sub !== 'string' || (role !== 'ADMIN' && role !== 'USER') || typeof exp !== 'number') return null;
  const identity: Identity = { userId: sub, role, expiresAt: exp };
  if (typeof sid === 'string') identity.sessionId = sid;
  if (typeof iat === 'number') identity.issuedAt = iat;
  return identity;
}

/** Default of CallerVerifierOptions.maxEntries. */
export const DEFAULT_VERIFIED_CALLERS = 10_000;

export type CallerVerifierOptions = {
  /** Headers remembered as verified; past it the oldest is forgotten. @default DEFAULT_VERIFIED_CALLERS */
  maxEntries?: number;
  /** Unix seconds now. @default the clock */
  nowSeconds?: () => number;
};

/**
 * verifyCaller for one secret, remembering the headers it verified: the gateway sends the same
 * signed header for every request of a caller (it signs one per verified token), so a subgraph
 * checks a header's signature and claims once, not on every request. A remembered header is
 * still refused from its expiry on, as jwt.verify refuses it; what failed is never remembered (a
 * forged or expired header is checked, and refused, every time). Each call gets its own copy of
 * the identity.
 */
export function createCallerVerifier(
  internalSecret: string,
  options: CallerVerifierOptions = {},
): (value: unknown) => { identity: Identity | null } | undefined {
  const maxEntries = options.maxEntries ?? DEFAULT_VERIFIED_CALLERS;
  const nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000);
  const verified = new Map<string, { identity: Identity | null; expiresAt: number }>();
  return (value) => {
    if (typeof value !== 'string') return undefined;
    const known = verified.get(value);
    if (known) {
      // jwt.verify's rule: expired once now >= exp.
      if (Math.floor(nowSeconds()) < known.expiresAt) return { identity: copyIdentity(known.identity) };
      verified.delete(value);
      return undefined;
    }
    const caller = verifyCaller(internalSecret, value);
    if (!caller) return undefined;
    const expiresAt = caller.identity ? caller.identity.expiresAt : anonymousExpiry(value);
    if (expiresAt === undefined) return caller;
    if (verified.size >= maxEntries) verified.delete(verified.keys().next().value!);
    verified.set(value, { identity: copyIdentity(caller.identity), expiresAt });
    return caller;
  };
}

function copyIdentity(identity: Identity | null): Identity | null {
  if (!identity) return null;
  const copy = { ...identity };
  if (identity.scopes) copy.scopes = [...identity.scopes];
  return copy;
}

/** The `exp` of a verified anonymous header (decoded only: its signature was just checked). */
function anonymousExpiry(value: string): number | undefined {
  const claims = jwt.decode(value);
  return typeof claims === 'object' && claims !== null && typeof claims.exp === 'number' ? claims.exp : undefined;
}
