import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { signIdentity, verifyIdentity } from './identity.js';
import { generateRefreshToken, hashRefreshToken, signAccessToken, verifyAccessToken } from './tokens.js';

const config = { secret: 's'.repeat(32), issuer: 'ai-code', audience: 'ai-code-api', ttlSeconds: 60 };

describe('access tokens', () => {
  it('round-trips the identity with its expiry', () => {
    const token = signAccessToken(config, { id: 'u1', role: 'ADMIN' });
    const identity = verifyAccessToken(config, token);
    expect(identity).toMatchObject({ userId: 'u1', role: 'ADMIN' });
    expect(identity!.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it('carries the session id (sid) and the time of issue (iat) when given a session', () => {
    const identity = verifyAccessToken(config, signAccessToken(config, { id: 'u1', role: 'USER' }, 'family-1'));
    expect(identity).toMatchObject({ userId: 'u1', sessionId: 'family-1' });
    expect(identity!.issuedAt).toBe(Math.floor(identity!.expiresAt - config.ttlSeconds));
    expect(verifyAccessToken(config, signAccessToken(config, { id: 'u1', role: 'USER' }))).not.toHaveProperty(
      'sessionId',
    );
  });

  it('pins the algorithm: HS512 with the right key and alg none are refused', () => {
    const claims = { role: 'USER', sub: 'u1', iss: config.issuer, aud: config.audience };
    expect(
      verifyAccessToken(config, jwt.sign(claims, config.secret, { algorithm: 'HS512', expiresIn: 60 })),
    ).toBeNull();
    expect(verifyAccessToken(config, jwt.sign(claims, '', { algorithm: 'none' }))).toBeNull();
  });

  it('refuses a token with an unknown role or no expiry', () => {
    const base = { sub: 'u1', iss: config.issuer, aud: config.audience };
    expect(verifyAccessToken(config, jwt.sign({ ...base, role: 'ROOT' }, config.secret, { expiresIn: 60 }))).toBeNull();
    expect(verifyAccessToken(config, jwt.sign({ ...base, role: 'USER' }, config.secret))).toBeNull();
  });

  it('refuses the internal identity header as an access token, and vice versa', () => {
    const header = signIdentity('i'.repeat(32), { userId: 'u1', role: 'ADMIN', expiresAt: Date.now() / 1000 + 60 });
    expect(verifyAccessToken({ ...config, secret: 'i'.repeat(32) }, header)).toBeNull();
    expect(verifyIdentity(config.secret, signAccessToken(config, { id: 'u1', role: 'ADMIN' }))).toBeNull();
  });
});

describe('refresh tokens', () => {
  it('are random, URL-safe and stored only as a hash', () => {
    const token = generateRefreshToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateRefreshToken()).not.toBe(token);
    expect(hashRefreshToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRefreshToken(token)).not.toContain(token);
  });
});
