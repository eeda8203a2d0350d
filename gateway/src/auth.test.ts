import { describe, expect, it, vi } from 'vitest';
import { ANONYMOUS_HEADER_TTL_SECONDS, verifyCaller, verifyIdentity } from '../../lib/auth/identity.js';
import { createMemoryRevocationFeed, sessionRevocation, watchRevocations } from '../../lib/auth/revocations.js';
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
  it('signs an identity header the subgraphs accept', () => {
    const auth = createAuthenticator(config, internalSecret);
    const caller = auth.authenticate(`Bearer ${signAccessToken(config, { id: 'u1', role: 'USER' })}`);
    expect(verifyIdentity(internalSecret, caller!.identityHeader)).toMatchObject({ userId: 'u1', role: 'USER' });
  });

  it('signs an anonymous header the subgraphs accept as nobody, and keeps using it while it is fresh', () => {
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

  it('no header is anonymous; a bad one is UNAUTHENTICATED', () => {
    const auth = createAuthenticator(config, internalSecret);
    expect(auth.authenticate(undefined)).toBeNull();
    expect(() => auth.authenticate('Bearer nope')).toThrow('Invalid or expired access token');
    expect(() => auth.authenticate('Token nope')).toThrow('Invalid or expired access token');
  });

  it('re-checks the expiry of a token it has already verified', () => {
    vi.useFakeTimers();
    try {
      const auth = createAuthenticator(config, internalSecret);
      const header = `Bearer ${signAccessToken({ ...config, ttlSeconds: 5 }, { id: 'u1', role: 'USER' })}`;
      expect(auth.authenticate(header)).not.toBeNull();
      vi.advanceTimersByTime(6_000);
      expect(() => auth.authenticate(header)).toThrow('Invalid or expired access token');
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
    expect(auth.authenticate(ended)).not.toBeNull();
    let notified = 0;
    auth.onRevoked(() => notified++);

    await feed.publish(sessionRevocation('session-1', config.ttlSeconds));
    expect(notified).toBe(1);
    expect(() => auth.authenticate(ended)).toThrow('Invalid or expired access token');
    expect(auth.authenticate(other)).not.toBeNull();
    revocations.close();
  });
});
