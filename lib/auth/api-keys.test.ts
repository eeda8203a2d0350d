import { describe, expect, it } from 'vitest';
import {
  apiKeyPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  isWellFormedApiKey,
  mutationScope,
  scopesGrant,
} from './api-keys.js';
import { signIdentity, verifyCaller, verifyIdentity } from './identity.js';
import { apiKeyRevocation, createMemoryRevocationFeed, watchRevocations } from './revocations.js';

describe('API key secrets', () => {
  it('are aic_ and 256 random bits (43 base64url characters), different each time; only a prefix is shown', () => {
    const secrets = new Set(Array.from({ length: 100 }, generateApiKeySecret));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) {
      expect(secret).toMatch(/^aic_[A-Za-z0-9_-]{43}$/);
      expect(isWellFormedApiKey(secret)).toBe(true);
      expect(apiKeyPrefix(secret)).toBe(secret.slice(0, 12));
      expect(hashApiKeySecret(secret)).toMatch(/^[0-9a-f]{64}$/);
      expect(hashApiKeySecret(secret)).not.toContain(secret.slice(4));
    }
    expect(isWellFormedApiKey('aic_short')).toBe(false);
    expect(isWellFormedApiKey(`aic_${'a'.repeat(42)}!`)).toBe(false);
  });
});

describe('scopes', () => {
  it.each([
    [['READ'], 'predict', false],
    [['PREDICT'], 'predict', true],
    [['PREDICT'], 'cancelPrediction', true],
    [['PREDICT'], 'createProject', false],
    [['WRITE'], 'createProject', true],
    [['WRITE'], 'startPrediction', true],
    [['READ', 'PREDICT'], 'someMutationAddedLater', false],
    [['WRITE'], 'someMutationAddedLater', true],
    [['READ', 'PREDICT', 'WRITE'], 'createApiKey', false],
    [['WRITE'], 'revokeApiKey', false],
    [['WRITE'], 'setUserRole', false],
    [['WRITE'], 'logout', false],
  ] as const)('%j runs %s: %s', (scopes, field, allowed) => {
    expect(scopesGrant(scopes, mutationScope(field))).toBe(allowed);
  });
});

describe('the identity header of a key caller', () => {
  const secret = 'i'.repeat(32);
  const base = { userId: 'u1', role: 'USER' as const, expiresAt: Math.floor(Date.now() / 1000) + 60 };

  it('carries the key, its scopes and project to the subgraphs', () => {
    const identity = { ...base, apiKeyId: 'k1', scopes: ['READ' as const, 'PREDICT' as const], projectId: 'p1' };
    expect(verifyIdentity(secret, signIdentity(secret, identity))).toEqual(identity);
    const unrestricted = { ...base, apiKeyId: 'k2', scopes: ['WRITE' as const] };
    expect(verifyIdentity(secret, signIdentity(secret, unrestricted))).toEqual(unrestricted);
    // A session's identity has none of them.
    expect(verifyIdentity(secret, signIdentity(secret, base))).toEqual(base);
  });

  it('refuses a header whose key claims are malformed', async () => {
    const jwt = (await import('jsonwebtoken')).default;
    const { secretKey } = await import('./secret-key.js');
    const forged = jwt.sign(
      { sub: 'u1', role: 'USER', exp: base.expiresAt, akid: 'k1', scp: ['ALL'] },
      secretKey(secret),
      { algorithm: 'HS256', issuer: 'ai-code-gateway', audience: 'ai-code-subgraphs' },
    );
    expect(verifyCaller(secret, forged)).toBeUndefined();
  });
});

describe('API key revocations', () => {
  it('name the key until a gateway would ask again anyway', async () => {
    const feed = createMemoryRevocationFeed();
    const revocations = await watchRevocations(feed);
    const identity = { userId: 'u1', role: 'USER' as const, expiresAt: 0, apiKeyId: 'k1', scopes: [] };
    expect(revocations.isRevoked(identity)).toBe(false);
    await feed.publish(apiKeyRevocation('k1'));
    expect(revocations.isRevoked(identity)).toBe(true);
    expect(revocations.isRevoked({ ...identity, apiKeyId: 'k2' })).toBe(false);
    expect(revocations.isRevoked({ userId: 'u1', role: 'USER', expiresAt: 0 })).toBe(false);
    revocations.close();
  });
});
