import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { signIdentity, verifyIdentity } from './identity.js';
import {
  accessTokenKeyId,
  generateRefreshToken,
  hashRefreshToken,
  signAccessToken,
  verifyAccessToken,
} from './tokens.js';

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

describe('access token key rotation', () => {
  const oldKey = 'o'.repeat(32);
  const newKey = 'n'.repeat(32);
  const before = { ...config, secret: oldKey };
  const after = { ...config, secret: newKey, previousSecrets: [oldKey] };
  const headerOf = (token: string) => jwt.decode(token, { complete: true })!.header;

  it('names the signing key in the header (kid), an id derived from the key that does not contain it', () => {
    const token = signAccessToken(before, { id: 'u1', role: 'USER' });
    expect(headerOf(token)).toMatchObject({ alg: 'HS256', kid: accessTokenKeyId(oldKey) });
    expect(accessTokenKeyId(oldKey)).not.toBe(accessTokenKeyId(newKey));
    expect(accessTokenKeyId(oldKey)).not.toContain('oooo');
  });

  it('accepts a token signed with the previous key after rotation, and signs new ones with the current key', () => {
    const issuedBefore = signAccessToken(before, { id: 'u1', role: 'USER' }, 'family-1');
    expect(verifyAccessToken(after, issuedBefore)).toMatchObject({ userId: 'u1', sessionId: 'family-1' });
    const issuedAfter = signAccessToken(after, { id: 'u1', role: 'USER' });
    expect(headerOf(issuedAfter).kid).toBe(accessTokenKeyId(newKey));
    expect(verifyAccessToken(after, issuedAfter)).toMatchObject({ userId: 'u1' });
    // A process not yet given the new key refuses the new tokens (deploy the verifiers first).
    expect(verifyAccessToken(before, issuedAfter)).toBeNull();
  });

  it('refuses the previous key’s tokens once the key is dropped', () => {
    const issuedBefore = signAccessToken(before, { id: 'u1', role: 'USER' });
    expect(verifyAccessToken({ ...config, secret: newKey }, issuedBefore)).toBeNull();
  });

  it('refuses a token whose kid names no known key, even when a known key signed it', () => {
    const forged = jwt.sign({ role: 'USER' }, newKey, {
      algorithm: 'HS256',
      keyid: 'unknown-key-id',
      subject: 'u1',
      issuer: config.issuer,
      audience: config.audience,
      expiresIn: 60,
    });
    expect(verifyAccessToken(after, forged)).toBeNull();
  });

  it('refuses a token whose kid names one known key but another known key signed it', () => {
    const mislabelled = jwt.sign({ role: 'USER' }, newKey, {
      algorithm: 'HS256',
      keyid: accessTokenKeyId(oldKey),
      subject: 'u1',
      issuer: config.issuer,
      audience: config.audience,
      expiresIn: 60,
    });
    expect(verifyAccessToken(after, mislabelled)).toBeNull();
  });

  it('accepts a token from before key ids (no kid) signed with any configured key', () => {
    const legacy = (key: string) =>
      jwt.sign({ role: 'USER' }, key, {
        algorithm: 'HS256',
        subject: 'u1',
        issuer: config.issuer,
        audience: config.audience,
        expiresIn: 60,
      });
    expect(verifyAccessToken(after, legacy(oldKey))).toMatchObject({ userId: 'u1' });
    expect(verifyAccessToken(after, legacy(newKey))).toMatchObject({ userId: 'u1' });
    expect(verifyAccessToken(after, legacy('x'.repeat(32)))).toBeNull();
  });

  it('refuses what is not a token', () => {
    expect(verifyAccessToken(after, 'not.a.token')).toBeNull();
    expect(verifyAccessToken(after, '')).toBeNull();
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
