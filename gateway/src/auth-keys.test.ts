import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { verifyIdentity } from '../../lib/auth/identity.js';
import { signAccessToken } from '../../lib/auth/tokens.js';
import { createAuthenticator } from './auth.js';

// The authenticator verifies and signs with lib/auth; these pin that it checks exactly what
// lib/auth does, and that the subgraphs' verifyIdentity accepts what it signs.
const config = { secret: 's'.repeat(32), issuer: 'ai-code', audience: 'ai-code-api', ttlSeconds: 60 };
const internalSecret = 'i'.repeat(32);
const auth = createAuthenticator(config, internalSecret);
const user = { id: 'u1', role: 'USER' as const };

describe('authenticator keys', () => {
  it('signs an identity header with the claims the subgraphs check', async () => {
    const token = signAccessToken(config, user);
    const caller = (await auth.authenticate(`Bearer ${token}`))!;
    const { exp, iat } = jwt.decode(token) as { exp: number; iat: number };
    expect(caller.identity).toEqual({ userId: 'u1', role: 'USER', expiresAt: exp, issuedAt: iat });
    // What the subgraphs need: the gateway alone checks revocations (sid, iat).
    expect(verifyIdentity(internalSecret, caller.identityHeader)).toEqual({
      userId: 'u1',
      role: 'USER',
      expiresAt: exp,
    });
    expect(verifyIdentity('x'.repeat(32), caller.identityHeader)).toBeNull();
  });

  it('accepts a token of the previous key after rotation, and refuses one whose key id is unknown', async () => {
    const previous = { ...config, secret: 'p'.repeat(32) };
    const rotated = createAuthenticator({ ...config, previousSecrets: [previous.secret] }, internalSecret);
    expect((await rotated.authenticate(`Bearer ${signAccessToken(previous, user)}`))!.identity.userId).toBe('u1');
    expect((await rotated.authenticate(`Bearer ${signAccessToken(config, user)}`))!.identity.userId).toBe('u1');
    const unknownKid = jwt.sign({ role: 'USER' }, config.secret, {
      algorithm: 'HS256',
      keyid: 'no-such-key',
      subject: 'u1',
      issuer: config.issuer,
      audience: config.audience,
      expiresIn: 60,
    });
    await expect(rotated.authenticate(`Bearer ${unknownKid}`)).rejects.toThrow('Invalid or expired access token');
    // Without the previous key, its tokens are refused.
    await expect(auth.authenticate(`Bearer ${signAccessToken(previous, user)}`)).rejects.toThrow(
      'Invalid or expired access token',
    );
  });

  it.each([
    ['another secret', signAccessToken({ ...config, secret: 'o'.repeat(32) }, user)],
    ['another issuer', signAccessToken({ ...config, issuer: 'someone' }, user)],
    ['another audience', signAccessToken({ ...config, audience: 'elsewhere' }, user)],
    ['an expired token', signAccessToken({ ...config, ttlSeconds: -10 }, user)],
    [
      'another algorithm',
      jwt.sign({ role: 'USER' }, config.secret, {
        algorithm: 'HS512',
        subject: 'u1',
        issuer: config.issuer,
        audience: config.audience,
        expiresIn: 60,
      }),
    ],
    [
      'an unsigned token',
      jwt.sign({ role: 'USER', sub: 'u1', iss: config.issuer, aud: config.audience }, '', { algorithm: 'none' }),
    ],
  ])('refuses %s', async (_, token) => {
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toThrow('Invalid or expired access token');
  });
});
