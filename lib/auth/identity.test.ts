import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCallerVerifier, signAnonymous, signIdentity, verifyCaller, type Identity } from './identity.js';

const secret = randomBytes(32).toString('hex');
const now = Math.floor(Date.now() / 1000);

describe('createCallerVerifier', () => {
  it('answers as verifyCaller does, for users, API keys and anonymous callers', () => {
    const verify = createCallerVerifier(secret);
    const user: Identity = { userId: 'u1', role: 'USER', expiresAt: now + 600 };
    const key: Identity = {
      userId: 'u2',
      role: 'ADMIN',
      expiresAt: now + 600,
      apiKeyId: 'k1',
      scopes: ['READ'],
      projectId: 'p1',
    };
    for (const header of [signIdentity(secret, user), signIdentity(secret, key), signAnonymous(secret, now + 600)]) {
      expect(verify(header)).toEqual(verifyCaller(secret, header));
      expect(verify(header)).toEqual(verifyCaller(secret, header)); // remembered
      expect(verify(header)).toBeDefined();
    }
  });

  it('refuses a forged, garbled or absent header every time', () => {
    const verify = createCallerVerifier(secret);
    const forged = signIdentity(randomBytes(32).toString('hex'), { userId: 'u1', role: 'ADMIN', expiresAt: now + 600 });
    for (const header of [forged, forged, 'nope', undefined, ['a', 'b']]) expect(verify(header)).toBeUndefined();
    // A valid header whose last character is changed is not the remembered one.
    const valid = signIdentity(secret, { userId: 'u1', role: 'USER', expiresAt: now + 600 });
    expect(verify(valid)).toBeDefined();
    expect(verify(`${valid.slice(0, -2)}${valid.at(-2) === 'A' ? 'B' : 'A'}${valid.at(-1)}`)).toBeUndefined();
  });

  it('refuses a remembered header from its expiry on', () => {
    let clock = now;
    const verify = createCallerVerifier(secret, { nowSeconds: () => clock });
    const user = signIdentity(secret, { userId: 'u1', role: 'USER', expiresAt: now + 5 });
    const anonymous = signAnonymous(secret, now + 5);
    expect(verify(user)?.identity?.userId).toBe('u1');
    expect(verify(anonymous)).toEqual({ identity: null });
    clock = now + 4;
    expect(verify(user)).toBeDefined();
    expect(verify(anonymous)).toBeDefined();
    clock = now + 5;
    expect(verify(user)).toBeUndefined();
    expect(verify(anonymous)).toBeUndefined();
  });

  it('gives every caller its own identity object, and forgets the oldest past its size', () => {
    const verify = createCallerVerifier(secret, { maxEntries: 2 });
    const header = signIdentity(secret, {
      userId: 'u1',
      role: 'USER',
      expiresAt: now + 600,
      apiKeyId: 'k',
      scopes: ['READ'],
    });
    const first = verify(header)!.identity!;
    first.userId = 'changed';
    first.scopes!.push('WRITE');
    expect(verify(header)!.identity).toMatchObject({ userId: 'u1', scopes: ['READ'] });
    for (const userId of ['a', 'b', 'c'])
      expect(verify(signIdentity(secret, { userId, role: 'USER', expiresAt: now + 600 }))).toBeDefined();
    expect(verify(header)!.identity!.userId).toBe('u1');
  });
});
