import jwt, { type JwtPayload } from 'jsonwebtoken';
import { secretKey } from './secret-key.js';
import type { Role } from '../db/schema.js';

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
  return jwt.sign({ sub: identity.userId, role: identity.role, exp: identity.expiresAt }, secretKey(internalSecret), {
    algorithm: ALGORITHM,
    issuer: ISSUER,
    audience: AUDIENCE,
    noTimestamp: true,
  });
}

export function verifyIdentity(internalSecret: string, value: string): Identity | null {
  try {
    return identityFromClaims(
      jwt.verify(value, secretKey(internalSecret), { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE }),
    );
  } catch {
    return null;
  }
}

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
