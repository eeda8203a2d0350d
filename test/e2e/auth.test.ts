import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signIdentity } from '../../lib/auth/identity.js';
import { codes } from '../helpers/graphql.js';
import {
  login,
  loginAdmin,
  rowCounts,
  signup,
  startTestPlatform,
  TEST_ADMIN,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  uniqueEmail,
  type TestPlatform,
} from '../helpers/platform.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(() => t?.close());

const ME = '{ me { id email role } }';
const REFRESH =
  'mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken user { id } } }';
const LOGOUT = 'mutation ($token: String!) { logout(refreshToken: $token) }';
const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken user { id } } }';
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }';

describe('session lifecycle', () => {
  it('signup → login → me → refresh rotates → reuse revokes the family → logout', async () => {
    const email = uniqueEmail('life');
    const password = 'a long enough password';
    const created = await signup(t, email, password);
    const session = await login(t, email, password);
    expect(session.userId).toBe(created.userId);

    const me = await t.gql({ query: ME, token: session.accessToken });
    expect(me.data?.me).toEqual({ id: created.userId, email, role: 'USER' });

    const rotated = await t.gql({ query: REFRESH, variables: { token: session.refreshToken } });
    const next = rotated.data?.refreshToken;
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(next.user.id).toBe(created.userId);
    expect((await t.gql({ query: ME, token: next.accessToken })).data?.me.id).toBe(created.userId);

    // The spent token no longer works, and presenting it revokes the whole family...
    const reused = await t.gql({ query: REFRESH, variables: { token: session.refreshToken } });
    expect(codes(reused)).toEqual(['UNAUTHENTICATED']);
    // ...so the newer token, never used, fails too.
    const newer = await t.gql({ query: REFRESH, variables: { token: next.refreshToken } });
    expect(codes(newer)).toEqual(['UNAUTHENTICATED']);

    // Tokens from the signup's own family are unaffected until logout revokes them.
    const logout = await t.gql({ query: LOGOUT, variables: { token: created.refreshToken } });
    expect(logout.data?.logout).toBe(true);
    const afterLogout = await t.gql({ query: REFRESH, variables: { token: created.refreshToken } });
    expect(codes(afterLogout)).toEqual(['UNAUTHENTICATED']);
    expect((await t.gql({ query: LOGOUT, variables: { token: 'not-a-token' } })).data?.logout).toBe(false);
  });

  it('two concurrent refreshes with one token cannot both succeed', async () => {
    const session = await signup(t);
    const results = await Promise.all(
      [1, 2].map(() => t.gql({ query: REFRESH, variables: { token: session.refreshToken } })),
    );
    expect(results.filter((r) => r.data?.refreshToken).length).toBeLessThanOrEqual(1);
  });

  it('me is null without a token', async () => {
    const res = await t.gql({ query: ME });
    expect(res.data?.me).toBeNull();
    expect(res.errors).toBeUndefined();
  });

  it('creates the ADMIN account from ADMIN_EMAIL/ADMIN_PASSWORD', async () => {
    const admin = await loginAdmin(t);
    const me = await t.gql({ query: ME, token: admin.accessToken });
    expect(me.data?.me).toMatchObject({ email: TEST_ADMIN.email, role: 'ADMIN' });
  });
});

describe('bad credentials and inputs change nothing', () => {
  it('wrong password and unknown email give the same UNAUTHENTICATED error', async () => {
    const email = uniqueEmail('known');
    await signup(t, email, 'the right password');
    const before = await rowCounts(t, ['users', 'refresh_tokens']);
    const wrongPassword = await t.gql({
      query: LOGIN,
      variables: { input: { email, password: 'the wrong password' } },
    });
    const unknownEmail = await t.gql({
      query: LOGIN,
      variables: { input: { email: uniqueEmail('unknown'), password: 'the right password' } },
    });
    expect(codes(wrongPassword)).toEqual(['UNAUTHENTICATED']);
    expect(wrongPassword.errors).toEqual(unknownEmail.errors);
    expect(wrongPassword.errors?.[0]?.message).toBe('Invalid email or password');
    expect(await rowCounts(t, ['users', 'refresh_tokens'])).toEqual(before);
  });

  it('a duplicate email in any letter case is a CONFLICT', async () => {
    const email = uniqueEmail('dup');
    await signup(t, email);
    const before = await rowCounts(t, ['users', 'refresh_tokens']);
    const res = await t.gql({
      query: SIGNUP,
      variables: { input: { email: email.toUpperCase(), password: 'another password' } },
    });
    expect(codes(res)).toEqual(['CONFLICT']);
    expect(await rowCounts(t, ['users', 'refresh_tokens'])).toEqual(before);
  });

  it.each([
    ['a weak password', { email: 'weak@example.com', password: 'short' }, 'password'],
    ['a malformed email', { email: 'not-an-email', password: 'long enough password' }, 'email'],
    ['an email with spaces', { email: 'a b@example.com', password: 'long enough password' }, 'email'],
    ['a huge password', { email: 'huge@example.com', password: 'x'.repeat(10_000) }, 'password'],
  ])('%s is BAD_USER_INPUT naming the field', async (_, input, field) => {
    const before = await rowCounts(t, ['users', 'refresh_tokens']);
    const res = await t.gql({ query: SIGNUP, variables: { input } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(field);
    expect(await rowCounts(t, ['users', 'refresh_tokens'])).toEqual(before);
  });
});

describe('access tokens', () => {
  const sign = (payload: object, secret: string, options: jwt.SignOptions = {}) =>
    jwt.sign(payload, secret, { algorithm: 'HS256', issuer: TEST_JWT.issuer, audience: TEST_JWT.audience, ...options });

  it.each([
    ['expired', () => sign({ role: 'ADMIN' }, TEST_JWT.secret, { subject: 'x', expiresIn: -10 })],
    [
      'signed with another key',
      () => sign({ role: 'ADMIN' }, 'another-secret-another-secret-xx', { subject: 'x', expiresIn: 60 }),
    ],
    [
      'for another audience',
      () => sign({ role: 'ADMIN' }, TEST_JWT.secret, { subject: 'x', expiresIn: 60, audience: 'other' }),
    ],
    [
      'unsigned (alg: none)',
      () =>
        jwt.sign({ role: 'ADMIN', sub: 'x', iss: TEST_JWT.issuer, aud: TEST_JWT.audience }, '', { algorithm: 'none' }),
    ],
    ['not a JWT', () => 'garbage'],
  ])('an access token %s is UNAUTHENTICATED', async (_, makeToken) => {
    const res = await t.gql({ query: ME, token: makeToken() });
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('a tampered token (role changed, signature kept) is UNAUTHENTICATED', async () => {
    const { accessToken } = await signup(t);
    const [header, payload, signature] = accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url');
    const res = await t.gql({ query: '{ users { nodes { id } } }', token: `${header}.${forged}.${signature}` });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('ignores an identity header set by the client, even a correctly signed one', async () => {
    const admin = await loginAdmin(t);
    const forged = signIdentity(TEST_INTERNAL_SECRET, {
      userId: admin.userId,
      role: 'ADMIN',
      expiresAt: Date.now() / 1000 + 60,
    });
    const anonymous = await t.gql({ query: ME, headers: { [IDENTITY_HEADER]: forged } });
    expect(anonymous.data?.me).toBeNull();
    const user = await signup(t);
    const asUser = await t.gql({
      query: '{ users { nodes { id } } }',
      token: user.accessToken,
      headers: { [IDENTITY_HEADER]: forged },
    });
    expect(codes(asUser)).toEqual(['FORBIDDEN']);
  });
});
