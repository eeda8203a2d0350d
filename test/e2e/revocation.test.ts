import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createRedisRevocationFeed, watchRevocations, type RevocationFeed } from '../../lib/auth/revocations.js';
import { signAccessToken } from '../../lib/auth/tokens.js';
import { testEnv } from '../helpers/env.js';
import { startGateway } from '../helpers/gateway.js';
import { codes, gql } from '../helpers/graphql.js';
import {
  login,
  loginAdmin,
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  uniqueEmail,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { closeOf, subscribe, wsClient, type Outcome } from '../helpers/ws.js';

// Logout, refresh-family revocation and role changes stop access tokens at the gateway within
// seconds, not when the token expires (15 minutes by default).

const ME = '{ me { id role } }';
const LOGOUT = 'mutation ($token: String!) { logout(refreshToken: $token) }';
const REFRESH = 'mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }';
const SET_ROLE = 'mutation ($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }';
const TAIL = 'subscription { logTail { message } }';

const PASSWORD = 'correct horse battery';

/** Whether the gateway at `url` accepts the access token (me answers) or refuses it (UNAUTHENTICATED). */
async function accepted(url: string, token: string): Promise<boolean> {
  const res = await gql(url, { query: ME, token });
  if (codes(res).includes('UNAUTHENTICATED')) return false;
  if (!res.data?.me) throw new Error(`unexpected answer: ${JSON.stringify(res)}`);
  return true;
}

const refusedWithin = (url: string, token: string, what: string) =>
  until(async () => !(await accepted(url, token)), what, 5_000);

async function logout(t: TestPlatform, session: Session): Promise<void> {
  const res = await t.gql({ query: LOGOUT, variables: { token: session.refreshToken } });
  expect(res.data?.logout).toBe(true);
}

describe('revocation on the embedded platform (in-process)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    // WebSockets held by socket owner processes: a revoked session's socket closes on whichever holds it.
    t = await startTestPlatform({ worker: false, socketProcesses: 2 });
  });
  afterAll(() => t?.close());

  it('logout stops that session’s access token; the user’s other sessions keep working', async () => {
    const email = uniqueEmail('logout');
    const first = await signup(t, email, PASSWORD);
    const second = await login(t, email, PASSWORD);
    expect(await accepted(t.url, first.accessToken)).toBe(true);

    await logout(t, first);
    await refusedWithin(t.url, first.accessToken, 'the logged-out token to be refused');
    const res = await t.gql({ query: ME, token: first.accessToken });
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(await accepted(t.url, second.accessToken)).toBe(true);
  });

  it('reusing a spent refresh token stops every access token of its family', async () => {
    const session = await signup(t);
    const rotated = (await t.gql({ query: REFRESH, variables: { token: session.refreshToken } })).data?.refreshToken;
    const other = await login(t, session.email, PASSWORD);
    expect(await accepted(t.url, rotated.accessToken)).toBe(true);

    const reused = await t.gql({ query: REFRESH, variables: { token: session.refreshToken } });
    expect(codes(reused)).toEqual(['UNAUTHENTICATED']);
    await refusedWithin(t.url, rotated.accessToken, 'the rotated token to be refused');
    expect(await accepted(t.url, session.accessToken)).toBe(false);
    expect(await accepted(t.url, other.accessToken)).toBe(true);
  });

  it('a role change stops the tokens issued before it; a new login carries the new role', async () => {
    const admin = await loginAdmin(t);
    const user = await signup(t);
    const changed = await t.gql({
      query: SET_ROLE,
      token: admin.accessToken,
      variables: { userId: user.userId, role: 'ADMIN' },
    });
    expect(changed.data?.setUserRole.role).toBe('ADMIN');

    await refusedWithin(t.url, user.accessToken, 'the token with the old role to be refused');
    const again = await login(t, user.email, PASSWORD);
    expect((await t.gql({ query: ME, token: again.accessToken })).data?.me.role).toBe('ADMIN');
    // A refresh issues the new role too.
    const refreshed = (await t.gql({ query: REFRESH, variables: { token: user.refreshToken } })).data?.refreshToken;
    expect((await t.gql({ query: ME, token: refreshed.accessToken })).data?.me.role).toBe('ADMIN');
    // The ADMIN who changed it is not affected.
    expect(await accepted(t.url, admin.accessToken)).toBe(true);
  });

  it('closes a logged-out session’s WebSocket with 4401; another session’s stays open', async () => {
    const email = uniqueEmail('ws');
    const leaving = await signup(t, email, PASSWORD);
    const staying = await login(t, email, PASSWORD);
    const leavingClient = wsClient(t.url, { token: leaving.accessToken });
    const stayingClient = wsClient(t.url, { token: staying.accessToken });
    try {
      const open = () => t.platform.gateway.subscriptionStats().subscriptions;
      const before = open();
      let ended: Outcome | undefined;
      const leavingTail = subscribe(leavingClient, TAIL);
      void leavingTail.end.then((outcome) => (ended = outcome));
      const stayingTail = subscribe(stayingClient, TAIL);
      let stayingEnded = false;
      void stayingTail.end.then(() => (stayingEnded = true));
      await until(() => open() === before + 2, 'the subscriptions');

      await logout(t, leaving);
      await until(() => ended !== undefined, 'the logged-out session’s connection to close', 5_000);
      expect(closeOf(ended!)).toMatchObject({ code: 4401 });
      await until(() => open() === before + 1, 'the closed subscription to end');
      expect(stayingEnded).toBe(false);
    } finally {
      await Promise.all([leavingClient.dispose(), stayingClient.dispose()]);
    }
  });

  it('a token without a session id (issued before revocation existed) keeps working until it expires', async () => {
    const session = await signup(t);
    const legacy = signAccessToken({ ...TEST_JWT, ttlSeconds: 900 }, { id: session.userId, role: 'USER' });
    await logout(t, session);
    await refusedWithin(t.url, session.accessToken, 'the session’s token to be refused');
    expect(await accepted(t.url, legacy)).toBe(true);
  });
});

describe('revocation across processes through Redis', () => {
  let t: TestPlatform;
  let admin: Redis;
  const feeds: RevocationFeed[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    t = await startTestPlatform({ redisUrl: testEnv.redisUrl, worker: false });
    admin = new Redis(testEnv.redisUrl);
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    for (const feed of feeds) await feed.close();
    await admin?.quit();
    await t?.close();
  });

  /** A gateway replica of its own, watching revocations on its own Redis connection, as another process would. */
  async function replica(connectionName = `revocations-${randomUUID()}`): Promise<string> {
    const feed = createRedisRevocationFeed({ url: testEnv.redisUrl, connectionName });
    feeds.push(feed);
    const revocations = await watchRevocations(feed);
    const { gateway, base } = await startGateway(t, 0, {
      authenticator: createAuthenticator(TEST_JWT, TEST_INTERNAL_SECRET, revocations),
    });
    closers.push(async () => {
      await gateway.close();
      revocations.close();
    });
    return `${base}/graphql`;
  }

  it('a logout through one gateway stops the token at another', async () => {
    const other = await replica();
    const session = await signup(t);
    expect(await accepted(other, session.accessToken)).toBe(true);
    await logout(t, session);
    await refusedWithin(other, session.accessToken, 'the other gateway to refuse the token');
  });

  it('a gateway started after a revocation refuses the token from its start', async () => {
    const session = await signup(t);
    await logout(t, session);
    await refusedWithin(t.url, session.accessToken, 'the platform gateway to refuse the token');
    const late = await replica();
    expect(await accepted(late, session.accessToken)).toBe(false);
  });

  it('a gateway whose Redis connection was cut misses no revocation', async () => {
    const name = `revocations-${randomUUID()}`;
    const other = await replica(name);
    const session = await signup(t);
    expect(await accepted(other, session.accessToken)).toBe(true);
    // The revocation is made while the replica's reader is disconnected (or reconnecting).
    const line = String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .find((entry) => entry.split(' ').includes(`name=${name}-reader`));
    const id = line?.match(/^id=(\d+) /)?.[1];
    expect(id).toBeDefined();
    await admin.call('CLIENT', 'KILL', 'ID', id!);
    await logout(t, session);
    await refusedWithin(other, session.accessToken, 'the reconnected gateway to refuse the token');
  });
});
