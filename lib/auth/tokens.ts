import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role } from '../db/schema.js';
import { identityFromClaims, type Identity } from './identity.js';
import { secretKey } from './secret-key.js';

export type AccessTokenConfig = {
  secret: string;
  issuer: string;
  audience: string;
  /** Lifetime in seconds. */
  ttlSeconds: number;
};

// Pinned: tokens signed with any other algorithm (including `none`) are rejected.
const ALGORITHM = 'HS256' as const;

/**
 * An access token for the user; `sessionId` (the refresh-token family) goes in the `sid` claim, so
 * that ending the session revokes the token at the gateway (see revocations.ts).
 */
export function signAccessToken(
  config: AccessTokenConfig,
  user: { id: string; role: Role },
  sessionId?: string,
): string {
  return jwt.sign(sessionId ? { role: user.role, sid: sessionId } : { role: user.role }, secretKey(config.secret), {
    algorithm: ALGORITHM,
    subject: user.id,
    issuer: config.issuer,
    audience: config.audience,
    expiresIn: config.ttlSeconds,
  });
}

/** Returns the identity in a valid access token, or null for an expired, tampered, foreign or unsigned one. */
export function verifyAccessToken(
  config: Pick<AccessTokenConfig, 'secret' | 'issuer' | 'audience'>,
  token: string,
): Identity | null {
  try {
    return identityFromClaims(
      jwt.verify(token, secretKey(config.secret), {
        algorithms: [ALGORITHM],
        issuer: config.issuer,
        audience: config.audience,
      }),
    );
  } catch {
    return null;
  }
}

/** An opaque refresh token: 256 random bits, URL-safe. */
export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Refresh tokens are high-entropy, so a fast hash is enough to make a stolen table useless. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
