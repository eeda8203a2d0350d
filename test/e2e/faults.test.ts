import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { createPlatformLog } from '../../lib/platform-log/index.js';
import type { ServiceServer } from '../../lib/http/service-server.js';
import { createUsersSubgraph } from '../../subgraphs/users/src/server.js';
import { testEnv } from '../helpers/env.js';
import { codes } from '../helpers/graphql.js';
import { createProject } from '../helpers/models.js';
import {
  rowCounts,
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { until } from '../helpers/wait.js';

// Faults injected into real services while the platform is in use. Killing a worker mid-job is
// covered by worker-failover.test.ts (SIGKILL of a worker process over RabbitMQ).
const keyPrefix = `test-${randomUUID()}:`;
let t: TestPlatform;
let alice: Session;
let usersUrl: URL;
let admin: Redis;
const replacements: ServiceServer[] = [];

/** A new users subgraph on the port of the one that was closed (a stopped Apollo server cannot restart). */
async function restartUsers(): Promise<void> {
  const logger = createLogger('users', testEnv.logLevel);
  const users = await createUsersSubgraph({
    db: t.platform.database.db,
    internalSecret: TEST_INTERNAL_SECRET,
    production: false,
    logger,
    // Its log entries go to stdout only: the central log is not what these tests check.
    events: createPlatformLog({ service: 'users', logger }),
    accessTokens: { ...TEST_JWT, ttlSeconds: 900 },
    refreshTokenTtlSeconds: 3600,
    revocations: t.platform.revocations,
  });
  await users.listen(Number(usersUrl.port), usersUrl.hostname);
  replacements.push(users);
}

async function stopUsers(): Promise<void> {
  await (replacements.pop() ?? t.platform.users).close();
}

beforeAll(async () => {
  t = await startTestPlatform({
    redisUrl: testEnv.redisUrl,
    gatewayProtections: {
      subgraphTimeoutMs: 1_000,
      redisKeyPrefix: keyPrefix,
      trustedProxies: 1,
      rateLimits: {
        perIp: { points: 100_000, windowSeconds: 60 },
        perUser: { points: 100_000, windowSeconds: 60 },
        auth: { points: 5, windowSeconds: 60 },
        inference: { points: 100_000, windowSeconds: 60 },
      },
    },
  });
  alice = await signup(t);
  for (const name of ['first', 'second']) await createProject(t, alice, name);
  usersUrl = new URL(t.platform.gateway.subgraphs().get('users')!);
  admin = new Redis(testEnv.redisUrl);
});
afterAll(async () => {
  admin?.disconnect();
  for (const users of replacements) await users.close();
  await t?.close();
});

// `me` comes from the users subgraph, `projects` from the projects subgraph.
const MIXED = '{ me { email } projects { nodes { name } } }';
const base = () => t.url.replace(/\/graphql$/, '');

describe('a subgraph that fails', () => {
  it('down: the fields it owns are null with SUBGRAPH_UNAVAILABLE, the rest arrives; back: all of it', async () => {
    await stopUsers();
    try {
      const partial = await t.gql({ query: MIXED, token: alice.accessToken });
      expect(partial.data).toEqual({ me: null, projects: { nodes: [{ name: 'second' }, { name: 'first' }] } });
      expect(partial.errors).toEqual([
        expect.objectContaining({
          message: "Subgraph 'users' is unavailable",
          extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'users' },
        }),
      ]);
      expect((await fetch(`${base()}/readyz`)).status).toBe(503);
    } finally {
      await restartUsers();
    }
    await until(async () => (await fetch(`${base()}/readyz`)).status === 200, 'the gateway to be ready again');
    const full = await t.gql({ query: MIXED, token: alice.accessToken });
    expect(full).toEqual({
      status: 200,
      data: { me: { email: alice.email }, projects: { nodes: [{ name: 'second' }, { name: 'first' }] } },
    });
  });

  it('slow: cut at SUBGRAPH_TIMEOUT_MS with a clear error, mutations elsewhere unaffected and not repeated', async () => {
    await stopUsers();
    // Accepts connections and requests, never answers; counts the requests the gateway gives up on.
    let cancelled = 0;
    const hanging = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      // Query plans' fetches, not readiness probes (`{__typename}`).
      res.once('close', () => {
        if (body.includes('email')) cancelled++;
      });
    });
    await new Promise<void>((resolve) => hanging.listen(Number(usersUrl.port), usersUrl.hostname, resolve));
    try {
      const partial = await t.gql({ query: MIXED, token: alice.accessToken });
      expect(partial.data?.me).toBeNull();
      expect(partial.data?.projects.nodes).toHaveLength(2);
      expect(partial.errors?.[0]).toMatchObject({
        message: "Subgraph 'users' did not answer in time",
        extensions: { code: 'SUBGRAPH_UNAVAILABLE' },
      });
      // The request was cancelled, not left hanging on the subgraph's connection.
      await until(() => cancelled >= 1, 'the gateway to cancel its request to users');
      // A mutation of another subgraph runs once.
      await createProject(t, alice, 'third');
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
      await restartUsers();
    }
    const full = await t.gql({ query: MIXED, token: alice.accessToken });
    expect(full.errors).toBeUndefined();
    expect(full.data?.projects.nodes.map((p: { name: string }) => p.name)).toEqual(['third', 'second', 'first']);
    expect(await rowCounts(t, ['projects'])).toEqual({ projects: 3 });
  });
});

describe('Redis connections dropped', () => {
  const killGatewayConnections = async () => {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=gateway-${keyPrefix} `))
      .map((line) => /^id=(\d+)/.exec(line)![1]!);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    return ids.length;
  };
  const wrongLogin = (ip: string) =>
    t.gql({
      query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      variables: { input: { email: `${ip}@example.com`, password: 'wrong' } },
      headers: { 'x-forwarded-for': ip },
    });

  it('rate limits hold and requests are served while the gateway reconnects', async () => {
    for (let i = 0; i < 3; i++) expect(codes(await wrongLogin('192.0.2.10'))).toEqual(['UNAUTHENTICATED']);
    expect(await killGatewayConnections()).toBeGreaterThan(0);
    // Right after the cut, counting falls back to this process: the address gets a fresh budget
    // here, but is still limited. If the connection comes back within these requests, the rest are
    // counted in Redis again (2 left there): at worst 5 + 2 get through, never all 8.
    const during = [];
    for (let i = 0; i < 8; i++) during.push(codes(await wrongLogin('192.0.2.10'))[0]);
    expect(during).toContain('RATE_LIMITED');
    expect(during.filter((c) => c === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(5 + 2);

    // Reconnected: shared counting again, and the service never stopped answering.
    await until(
      async () => ((await admin.client('LIST')) as string).includes(` name=gateway-${keyPrefix} `),
      'the gateway to reconnect',
    );
    const me = await t.gql({ query: '{ me { email } }', token: alice.accessToken });
    expect(me).toEqual({ status: 200, data: { me: { email: alice.email } } });
    expect(await rowCounts(t, ['projects'])).toEqual({ projects: 3 });
  });
});
