import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createGateway, type Gateway } from '../../gateway/src/create-gateway.js';
import type { RateLimitConfig } from '../../gateway/src/rate-limit/rate-limits.js';
import { createLogger } from '../../lib/logger.js';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from '../helpers/env.js';
import { codes, gql } from '../helpers/graphql.js';
import { codesOf, fromAddress, subscribe, wsClient } from '../helpers/ws.js';
import {
  rowCounts,
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  uniqueEmail,
  type TestPlatform,
} from '../helpers/platform.js';

// Strict budgets, counted in the real Redis under a prefix of this run's own, so two gateways
// (the platform's and a second one) share them as replicas do.
const STRICT: RateLimitConfig = {
  perIp: { points: 40, windowSeconds: 60 },
  perUser: { points: 1000, windowSeconds: 60 },
  auth: { points: 10, windowSeconds: 60 },
  inference: { points: 3, windowSeconds: 60 },
};
const protections = { rateLimits: STRICT, trustedProxies: 1, redisKeyPrefix: `test-${randomUUID()}:` };
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }';

let t: TestPlatform;
let second: Gateway;
let secondUrl: string;
beforeAll(async () => {
  t = await startTestPlatform({ redisUrl: testEnv.redisUrl, gatewayProtections: protections });
  second = await createGateway({
    supergraphSdl: readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
    subgraphUrls: Object.fromEntries(t.platform.gateway.subgraphs()),
    authenticator: createAuthenticator(TEST_JWT, TEST_INTERNAL_SECRET),
    logger: createLogger('gateway-2', testEnv.logLevel),
    maxBodyBytes: 1024 * 1024,
    introspection: false,
    protections: { redisUrl: testEnv.redisUrl, ...protections },
  });
  secondUrl = `${await second.listen(0, '127.0.0.1')}/graphql`;
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const login = (url: string, ip: string, email: string, password: string) =>
  gql(url, { query: LOGIN, variables: { input: { email, password } }, headers: from(ip) });

describe('rate limits', () => {
  it('slows 30 wrong logins from one IP to RATE_LIMITED; another IP is unaffected', async () => {
    // Signups count against the auth budget too: made from addresses of their own.
    const victim = await signup(t, uniqueEmail('victim'));
    const bystander = uniqueEmail('bystander');
    await gql(t.url, {
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
      variables: { input: { email: bystander, password: 'correct horse battery' } },
      headers: from('198.51.100.9'),
    });
    const before = await rowCounts(t, ['refresh_tokens']);

    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await login(t.url, '203.0.113.1', victim.email, `wrong-${i}`));
    expect(answers.slice(0, 10).map((a) => codes(a)[0])).toEqual(Array(10).fill('UNAUTHENTICATED'));
    expect(answers.slice(10).map((a) => codes(a)[0])).toEqual(Array(20).fill('RATE_LIMITED'));
    const refused = answers[29]!;
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions?.['retryAfter']).toBeGreaterThanOrEqual(1);
    expect(refused.errors?.[0]?.extensions?.['retryAfter']).toBeLessThanOrEqual(60);

    // The Retry-After header comes with it.
    const raw = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from('203.0.113.1') },
      body: JSON.stringify({ query: LOGIN, variables: { input: { email: bystander, password: 'x' } } }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Another address logs in as usual; the attacked email stays protected from there too.
    const ok = await login(t.url, '203.0.113.2', bystander, 'correct horse battery');
    expect(ok.data?.login.accessToken).toEqual(expect.any(String));
    expect(codes(await login(t.url, '203.0.113.3', victim.email, 'correct horse battery'))).toEqual(['RATE_LIMITED']);
    // Only the one successful login issued a refresh token.
    expect(await rowCounts(t, ['refresh_tokens'])).toEqual({ refresh_tokens: (before.refresh_tokens ?? 0) + 1 });
  });

  it('charges the email of a login written as a variable default, whole or nested, once its budget is spent', async () => {
    const victim = await signup(t, uniqueEmail('defaults'));
    for (let i = 0; i < 10; i++) await login(t.url, `198.51.100.${100 + i}`, victim.email, `wrong-${i}`);
    const before = await rowCounts(t, ['refresh_tokens']);
    const password = 'correct horse battery';
    const byDefault = [
      `mutation ($e: String = "${victim.email}") { login(input: {email: $e, password: "${password}"}) { accessToken } }`,
      `mutation ($i: LoginInput = {email: "${victim.email}", password: "${password}"}) { login(input: $i) { accessToken } }`,
    ];
    for (const [n, query] of byDefault.entries()) {
      const answer = await gql(t.url, { query, headers: from(`198.51.100.${120 + n}`) });
      expect(codes(answer), query).toEqual(['RATE_LIMITED']);
    }
    // Refused before the users service ran it: no session was opened.
    expect(await rowCounts(t, ['refresh_tokens'])).toEqual(before);
  });

  it('over WebSocket, sign-in attempts count per address: one address spending its budget leaves others alone', async () => {
    const mallory = await signup(t, uniqueEmail('ws-mallory'));
    const alice = await signup(t, uniqueEmail('ws-alice'));
    const over = (ip: string, token: string) => wsClient(t.url, { token, webSocketImpl: fromAddress(ip) });
    const loginOver = async (client: ReturnType<typeof wsClient>, email: string, password: string) => {
      const sub = subscribe(client, LOGIN, { input: { email, password } });
      await sub.end;
      return sub.events[0];
    };
    const guessing = over('203.0.113.40', mallory.accessToken);
    // Each guess at another email: only the address's budget (10 here) is spent.
    for (let i = 0; i < 10; i++) {
      expect(codesOf(await loginOver(guessing, uniqueEmail(`ws-guess-${i}`), 'x'))).toEqual(['UNAUTHENTICATED']);
    }
    expect(codesOf(await loginOver(guessing, uniqueEmail('ws-guess-10'), 'x'))).toEqual(['RATE_LIMITED']);

    const honest = over('203.0.113.41', alice.accessToken);
    const answer = await loginOver(honest, alice.email, 'correct horse battery');
    expect(codesOf(answer)).toEqual([]);
    expect((answer?.data?.['login'] as { accessToken: string }).accessToken).toEqual(expect.any(String));
    await Promise.all([guessing.dispose(), honest.dispose()]);
  });

  it('the budget is shared by two gateways through Redis', async () => {
    const email = uniqueEmail('shared');
    for (let i = 0; i < 6; i++)
      expect(codes(await login(t.url, '192.0.2.50', email, 'x'))).toEqual(['UNAUTHENTICATED']);
    for (let i = 0; i < 4; i++)
      expect(codes(await login(secondUrl, '192.0.2.50', email, 'x'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(secondUrl, '192.0.2.50', email, 'x'))).toEqual(['RATE_LIMITED']);
    expect(codes(await login(t.url, '192.0.2.50', email, 'x'))).toEqual(['RATE_LIMITED']);
  });

  it('refuses a whole request past the per-IP budget with 429 and Retry-After', async () => {
    const ask = () =>
      fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...from('192.0.2.77') },
        body: '{"query":"{ __typename }"}',
      });
    for (let i = 0; i < 40; i++) expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({
      errors: [{ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } }],
    });
    // The second gateway counts the same address in the same budget.
    expect(
      (
        await fetch(secondUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...from('192.0.2.77') },
          body: '{"query":"{ __typename }"}',
        })
      ).status,
    ).toBe(429);
    expect((await gql(t.url, { query: '{ __typename }', headers: from('192.0.2.78') })).status).toBe(200);
  });

  it('limits predictions per user, before they reach the inference service', async () => {
    const alice = await signup(t, uniqueEmail('alice'));
    const bob = await signup(t, uniqueEmail('bob'));
    const predict = (token: string) =>
      gql(t.url, {
        query: 'mutation { predict(modelId: "00000000-0000-0000-0000-000000000000", inputs: {}) { durationMs } }',
        token,
        headers: from('192.0.2.90'),
      });
    for (let i = 0; i < 3; i++) expect(codes(await predict(alice.accessToken))).not.toContain('RATE_LIMITED');
    const refused = await predict(alice.accessToken);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0]?.message).toMatch(/^Too many predictions; retry after \d+ s$/);
    expect(codes(await predict(bob.accessToken))).not.toContain('RATE_LIMITED');
    // Refused calls never reached the inference subgraph: nothing recorded for anyone.
    await t.platform.flushInferenceRequests();
    const rows = await t.platform.database.db
      .selectFrom('inference_requests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(0);
  });
});
