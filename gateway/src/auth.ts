import { ANONYMOUS_HEADER_TTL_SECONDS, signAnonymous, signIdentity, type Identity } from '../../lib/auth/identity.js';
import type { RevocationCheck } from '../../lib/auth/revocations.js';
import { verifyAccessToken, type AccessTokenConfig } from '../../lib/auth/tokens.js';
import { err, ErrorCode } from '../../lib/errors.js';

export type Caller = {
  identity: Identity;
  /** The signed identity header value forwarded to subgraphs. */
  identityHeader: string;
};

export type Authenticator = {
  /** Null when no token is presented; throws UNAUTHENTICATED for a token that is not valid. */
  authenticate(authorization: string | undefined): Caller | null;
  /** Calls `listener` when sessions or users were revoked: callers authenticated before may be refused now. */
  onRevoked(listener: () => void): () => void;
  /** The signed identity header of a caller without a token (subgraphs refuse requests without one). */
  anonymousHeader(): string;
};

const MAX_CACHED_TOKENS = 10_000;

export const invalidTokenError = () =>
  err(ErrorCode.UNAUTHENTICATED, 'Invalid or expired access token', { http: { status: 401 } });

/** Extracts the token from `Authorization: Bearer <token>` (scheme matched case-insensitively). */
export function bearerToken(authorization: string | undefined): string | null | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1]! : null;
}

/**
 * Verifies access tokens and signs the identity header for subgraphs. Verified tokens are kept
 * (bounded, with their expiry and revocation re-checked on every use) so a client's repeated
 * requests skip the HMAC work on the hot path. `revocations` refuses the tokens of ended sessions
 * and of users whose role changed, before they expire (lib/auth/revocations.ts).
 */
export function createAuthenticator(
  config: Pick<AccessTokenConfig, 'secret' | 'previousSecrets' | 'issuer' | 'audience'>,
  internalSecret: string,
  revocations?: RevocationCheck,
): Authenticator {
  const verified = new Map<string, Caller>();
  // One anonymous header at a time, signed again once half its lifetime is gone.
  let anonymous = { header: '', expiresAt: 0 };
  return {
    anonymousHeader() {
      const nowSeconds = Math.floor(Date.now() / 1000);
      if (anonymous.expiresAt - nowSeconds < ANONYMOUS_HEADER_TTL_SECONDS / 2) {
        const expiresAt = nowSeconds + ANONYMOUS_HEADER_TTL_SECONDS;
        anonymous = { header: signAnonymous(internalSecret, expiresAt), expiresAt };
      }
      return anonymous.header;
    },
    authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) return null;
      if (token === null) throw invalidTokenError();
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
    },
    onRevoked: (listener) => revocations?.onRevoked(listener) ?? (() => {}),
  };
}
