import { describe, expect, it, vi } from 'vitest';
import { ANONYMOUS_HEADER_TTL_SECONDS, verifyCaller, verifyIdentity } from '../../lib/auth/identity.js';
import { generateApiKeySecret, hashApiKeySecret, type ResolvedApiKey } from '../../lib/auth/api-keys.js';
import {
  apiKeyRevocation,
  createMemoryRevocationFeed,
  roleChangeRevocation,
  sessionRevocation,
  watchRevocations,
  type RevocationCheck,
} from '../../lib/auth/revocations.js';
import { signAccessToken } from '../../lib/auth/tokens.js';
import { bearerToken, createAuthenticator } from './auth.js';

const config = { secret: 's'.repeat(32), issuer: 'ai-code', audience: 'ai-code-api', ttlSeconds: 60 };
const internalSecret = 'i'.repeat(32);

describe('bearerToken', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['Bearer abc', 'abc'],
    ['bearer   abc ', 'abc'],
    ['Basic abc', null],
    ['Bearer a b', null],
  ])('%j → %j', (header, expected) => expect(bearerToken(header)).toBe(expected));
});

describe('authenticator', () => {
  it('signs an identity header the subgraphs accept', async () => {
    const auth = createAuthenticator(config, internalSecret);
    const caller = await auth.authenticate(`Bearer ${signAccessToken(config, { id: 'u1', role: 'USER' })}`);
    expect(verifyIdentity(internalSecret, caller!.identityHeader)).toMatchObject({ userId: 'u1', role: 'USER' });
  });

  it('signs an anonymous header the subgraphs accept as nobody, and keeps using it while it is fresh', async () => {
    vi.useFakeTimers();
    try {
      const auth = createAuthenticator(config, internalSecret);
      const header = auth.anonymousHeader();
      expect(verifyCaller(internalSecret, header)).toEqual({ identity: null });
      expect(verifyCaller('x'.repeat(32), header)).toBeUndefined();
      expect(verifyIdentity(internalSecret, header)).toBeNull();
      expect(auth.anonymousHeader()).toBe(header);
      // Signed again before it expires: a header in use is never an expired one.
      vi.advanceTimersByTime((ANONYMOUS_HEADER_TTL_SECONDS / 2 + 1) * 1000);
      const renewed = auth.anonymousHeader();
      expect(renewed).not.toBe(header);
      expect(verifyCaller(internalSecret, renewed)).toEqual({ identity: null });
    } finally {
      vi.useRealTimers();
    }
  });

  it('no header is anonymous; a bad one is UNAUTHENTICATED', async () => {
    const auth = createAuthenticator(config, internalSecret);
    expect(await auth.authenticate(undefined)).toBeNull();
    await expect(auth.authenticate('Bearer nope')).rejects.toThrow('Invalid or expired access token');
    await expect(auth.authenticate('Token nope')).rejects.toThrow('Invalid or expired access token');
  });

  it('re-checks the expiry of a token it has already verified', async () => {
    vi.useFakeTimers();
    try {
      const auth = createAuthenticator(config, internalSecret);
      const header = `Bearer ${signAccessToken({ ...config, ttlSeconds: 5 }, { id: 'u1', role: 'USER' })}`;
      expect(await auth.authenticate(header)).not.toBeNull();
      vi.advanceTimersByTime(6_000);
      await expect(auth.authenticate(header)).rejects.toThrow('Invalid or expired access token');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('authenticator with revocations', () => {
  it('refuses the tokens of a revoked session, cached ones included, and no others', async () => {
    const feed = createMemoryRevocationFeed();
    const revocations = await watchRevocations(feed);
    const auth = createAuthenticator(config, internalSecret, revocations);
    const ended = `Bearer ${signAccessToken(config, { id: 'u1', role: 'USER' }, 'session-1')}`;
    const other = `Bearer ${signAccessToken(config, { id: 'u1', role: 'USER' }, 'session-2')}`;
    expect(await auth.authenticate(ended)).not.toBeNull();
    let notified = 0;
    auth.onRevoked(() => notified++);

    await feed.publish(sessionRevocation('session-1', config.ttlSeconds));
    expect(notified).toBe(1);
    await expect(auth.authenticate(ended)).rejects.toThrow('Invalid or expired access token');
    expect(await auth.authenticate(other)).not.toBeNull();
    revocations.close();
  });
});

describe('authenticator with API keys', () => {
  const secret = generateApiKeySecret();
  const key = {
    id: 'k1',
    userId: 'u1',
    role: 'USER' as const,
    scopes: ['READ' as const],
    projectId: 'p1',
    expiresAt: null,
  };

  function withLookup(answer: () => ResolvedApiKey | null, revocations?: RevocationCheck) {
    const auth = createAuthenticator(config, internalSecret, revocations);
    const asked: Array<[string, string]> = [];
    auth.useApiKeyLookup(async (secretHash, shown) => {
      asked.push([secretHash, shown]);
      return answer();
    });
    return { auth, asked };
  }

  it("acts as the key's owner, narrowed by it, in the header the subgraphs verify; only the hash and the public prefix travel", async () => {
    const { auth, asked } = withLookup(() => key);
    const caller = (await auth.authenticate(`Bearer ${secret}`))!;
    expect(caller.identity).toMatchObject({
      userId: 'u1',
      role: 'USER',
      apiKeyId: 'k1',
      scopes: ['READ'],
      projectId: 'p1',
    });
    expect(verifyIdentity(internalSecret, caller.identityHeader)).toMatchObject({
      userId: 'u1',
      apiKeyId: 'k1',
      scopes: ['READ'],
      projectId: 'p1',
    });
    expect(asked).toEqual([[hashApiKeySecret(secret), secret.slice(0, 12)]]);
    // Cached: the next request asks nobody.
    await auth.authenticate(`Bearer ${secret}`);
    expect(asked).toHaveLength(1);
  });

  it('refuses an unknown, revoked or expired key (the lookup says null), and a malformed one without asking', async () => {
    const { auth, asked } = withLookup(() => null);
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('Invalid, revoked or expired API key');
    await expect(auth.authenticate('Bearer aic_short')).rejects.toThrow('Invalid, revoked or expired API key');
    expect(asked).toHaveLength(1);
  });

  it('refuses a key once it expires, cached or not', async () => {
    vi.useFakeTimers();
    try {
      const expiresAt = Math.floor(Date.now() / 1000) + 5;
      const { auth } = withLookup(() => ({ ...key, expiresAt }));
      expect((await auth.authenticate(`Bearer ${secret}`))!.identity.expiresAt).toBe(expiresAt);
      vi.advanceTimersByTime(6_000);
      await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('Invalid, revoked or expired API key');
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks again at once when the key is revoked, and refuses it', async () => {
    const feed = createMemoryRevocationFeed();
    const revocations = await watchRevocations(feed);
    let revoked = false;
    const { auth, asked } = withLookup(() => (revoked ? null : key), revocations);
    expect(await auth.authenticate(`Bearer ${secret}`)).not.toBeNull();
    revoked = true;
    await feed.publish(apiKeyRevocation('k1'));
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('Invalid, revoked or expired API key');
    expect(asked).toHaveLength(2);
    revocations.close();
  });

  it("takes the owner's new role after a role change", async () => {
    const feed = createMemoryRevocationFeed();
    const revocations = await watchRevocations(feed);
    let role: 'USER' | 'ADMIN' = 'ADMIN';
    const { auth } = withLookup(() => ({ ...key, role }), revocations);
    expect((await auth.authenticate(`Bearer ${secret}`))!.identity.role).toBe('ADMIN');
    role = 'USER';
    await feed.publish(roleChangeRevocation('u1', 'USER', 60));
    expect((await auth.authenticate(`Bearer ${secret}`))!.identity.role).toBe('USER');
    revocations.close();
  });

  it('refuses keys when nothing resolves them', async () => {
    const auth = createAuthenticator(config, internalSecret);
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('Invalid, revoked or expired API key');
  });
});
