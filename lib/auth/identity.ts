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
