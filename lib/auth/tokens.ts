import { createHash, createHmac, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role } from '../db/schema.js';
import { identityFromClaims, type Identity } from './identity.js';
import { secretKey } from './secret-key.js';

export type AccessTokenConfig = {
  /** The current key: it signs every new token. */
  secret: string;
  /**
   * Earlier keys, still accepted for the tokens they signed until those expire, so that rotating
   * the key (the old one moves here) logs nobody out.
   */
  previousSecrets?: readonly string[] | undefined;
  issuer: string;
  audience: string;
  /** Lifetime in seconds. */
  ttlSeconds: number;
};

// Pinned: tokens signed with any other algorithm (including `none`) are rejected.
const ALGORITHM = 'HS256' as const;

const keyIds = new Map<string, string>();

/**
 * The key id (`kid` header) of a signing key: derived from the key itself (an HMAC of a fixed
 * label, so it reveals nothing of the key), so that rotating needs no id to be chosen or kept.
 */
export function accessTokenKeyId(secret: string): string {
  let id = keyIds.get(secret);
  if (id === undefined) {
    id = createHmac('sha256', secret).update('ai-code access token key id').digest('base64url').slice(0, 16);
    keyIds.set(secret, id);
  }
  return id;
}

/**
 * An access token for the user, its header naming the signing key (`kid`); `sessionId` (the
 * refresh-token family) goes in the `sid` claim, so that ending the session revokes the token at
 * the gateway (see revocations.ts).
 */
export function signAccessToken(
  config: AccessTokenConfig,
  user: { id: string; role: Role },
  sessionId?: string,
): string {
  return jwt.sign(sessionId ? { role: user.role, sid: sessionId } : { role: user.role }, secretKey(config.secret), {
    algorithm: ALGORITHM,
    keyid: accessTokenKeyId(config.secret),
    subject: user.id,
    issuer: config.issuer,
    audience: config.audience,
    expiresIn: config.ttlSeconds,
  });
}

type VerifyConfig = Pick<AccessTokenConfig, 'secret' | 'previousSecrets' | 'issuer' | 'audience'>;

/**
 * The keys a token may have been signed with: the one its `kid` names (none when the id is
 * unknown: the token is refused), or, for a token without one (signed before key ids), every key.
 */
function candidateKeys(config: VerifyConfig, token: string): string[] {
  const keys = [config.secret, ...(config.previousSecrets ?? [])];
  const header = jwt.decode(token, { complete: true })?.header;
  if (!header) return [];
  if (header.kid === undefined) return keys;
  return keys.filter((key) => accessTokenKeyId(key) === header.kid).slice(0, 1);
}

/**
 * Returns the identity in a valid access token, or null for an expired, tampered, foreign or
 * unsigned one, or one signed by a key that is neither the current nor a previous one.
 */
export function verifyAccessToken(config: VerifyConfig, token: string): Identity | null {
  for (const key of candidateKeys(config, token)) {
    try {
      return identityFromClaims(
        jwt.verify(token, secretKey(key), {
          algorithms: [ALGORITHM],
          issuer: config.issuer,
          audience: config.audience,
        }),
      );
    } catch {
      // the next key, if any
    }
  }
  return null;
}

/** An opaque refresh token: 256 random bits, URL-safe. */
export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Refresh tokens are high-entropy, so a fast hash is enough to make a stolen table useless. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
