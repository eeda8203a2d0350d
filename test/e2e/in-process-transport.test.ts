import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAnonymous, signIdentity, IDENTITY_HEADER } from '../../lib/auth/identity.js';
import type { InProcessRequest } from '../../lib/http/in-process.js';
import { GENEROUS_RATE_LIMITS } from '../helpers/platform.js';
import { signToken, TEST_SECRETS } from '../helpers/subscription-subgraphs.js';
import { startTestSubgraph, type TestSubgraph } from '../helpers/test-subgraph.js';

// The one-process platform's gateway hands plan fetches to the subgraph servers in its process
// (ServiceServer.inject, createInProcessSubgraphClient) instead of over loopback HTTP. The subgraph
// must not be able to tell: the same request gets the same answer, refusals included.
const SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    whoami: String
    cached: String
    broken: String
    slow(ms: Int!): Int!
  }
`;

type Context = { identity: { userId: string } | null };
let slowFinished = 0;
let subgraph: TestSubgraph;
/** TCP connections the subgraph's server accepted: none for in-process requests. */
let connections = 0;
beforeAll(async () => {
  subgraph = await startTestSubgraph('inproc', SDL, {
    Query: {
      whoami: (_: unknown, __: unknown, context: Context) => context.identity?.userId ?? null,
      cached: (_: unknown, __: unknown, ___: unknown, info: { cacheControl: { setCacheHint(hint: object): void } }) => {
        info.cacheControl.setCacheHint({ maxAge: 30, scope: 'PRIVATE' });
        return 'kept';
      },
      broken: () => {
        throw new Error('resolver failed');
      },
      slow: async (_: unknown, { ms }: { ms: number }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        slowFinished++;
        return ms;
      },
    },
  });
  subgraph.server.server.on('connection', () => connections++);
});
afterAll(() => subgraph?.close());

const identity = (userId: string, secret = TEST_SECRETS.internal) =>
  signIdentity(secret, { userId, role: 'USER', expiresAt: Math.floor(Date.now() / 1000) + 600 });

type Answer = { status: number; contentType: string | undefined; cacheControl: string | undefined; body: string };

async function overHttp(request: Omit<InProcessRequest, 'method' | 'path'>): Promise<Answer> {
  const response = await fetch(subgraph.url, { method: 'POST', headers: request.headers, body: request.body });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? undefined,
    cacheControl: response.headers.get('cache-control') ?? undefined,
    body: await response.text(),
  };
}

async function inProcess(request: Omit<InProcessRequest, 'method' | 'path'>): Promise<Answer> {
  const before = connections;
  const answer = await subgraph.server.inject({ method: 'POST', path: '/graphql', ...request });
  expect(connections).toBe(before);
  const header = (name: string) => {
    const value = answer.headers[name];
    return value === undefined ? undefined : String(value);
  };
  return {
    status: answer.status,
    contentType: header('content-type'),
    cacheControl: header('cache-control'),
    body: answer.body,
  };
}

/** The same request both ways: the answers must be the same. */
async function both(headers: Record<string, string>, body: string): Promise<Answer> {
  const http = await overHttp({ headers, body });
  const local = await inProcess({ headers, body });
  expect(local).toEqual(http);
  return local;
}

const json = { 'content-type': 'application/json' };

describe('a subgraph server serving a request in process', () => {
  it('answers a signed caller as over HTTP, its identity verified by the subgraph', async () => {
    const answer = await both(
      { ...json, [IDENTITY_HEADER]: identity('user-1') },
      JSON.stringify({ query: '{ whoami }' }),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { whoami: 'user-1' } });
  });

  it('sends the same Cache-Control', async () => {
    const answer = await both(
      { ...json, [IDENTITY_HEADER]: identity('user-1') },
      JSON.stringify({ query: '{ cached }' }),
    );
    expect(answer.cacheControl).toBe('max-age=30, private');
  });

  it('refuses a request without the identity header, or with a forged one, before anything runs', async () => {
    const query = JSON.stringify({ query: '{ whoami }' });
    const absent = await both(json, query);
    expect(absent.status).toBe(401);
    expect(JSON.parse(absent.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const forged = await both(
      { ...json, [IDENTITY_HEADER]: identity('user-1', randomBytes(32).toString('hex')) },
      query,
    );
    expect(forged.status).toBe(401);
    const garbage = await both({ ...json, [IDENTITY_HEADER]: 'not-a-token' }, query);
    expect(garbage.status).toBe(401);
  });

  it('answers the anonymous header, resolver errors, bad JSON and invalid operations alike', async () => {
    const anonymous = signAnonymous(TEST_SECRETS.internal, Math.floor(Date.now() / 1000) + 600);
    const headers = { ...json, [IDENTITY_HEADER]: anonymous };
    expect(JSON.parse((await both(headers, JSON.stringify({ query: '{ whoami }' }))).body)).toEqual({
      data: { whoami: null },
    });
    const broken = await both(headers, JSON.stringify({ query: '{ broken }' }));
    expect(JSON.parse(broken.body).errors).toHaveLength(1);
    expect((await both(headers, '{"query": ')).status).toBe(400);
    expect((await both(headers, JSON.stringify({ query: '{ nope }' }))).status).toBe(400);
  });

  it('holds a body to the same size limit', async () => {
    const headers = { ...json, [IDENTITY_HEADER]: identity('user-1') };
    const big = JSON.stringify({ query: '{ whoami }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    const answer = await both(headers, big);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('counts the request in the subgraph metrics', async () => {
    const metrics = async () => {
      const text = await (await fetch(subgraph.url.replace('/graphql', '/metrics'))).text();
      const line = text
        .split('\n')
        .find(
          (l) => l.startsWith('http_requests_total{') && l.includes('route="/graphql"') && l.includes('status="200"'),
        );
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await metrics();
    await inProcess({
      headers: { ...json, [IDENTITY_HEADER]: identity('user-1') },
      body: JSON.stringify({ query: '{ whoami }' }),
    });
    expect(await metrics()).toBe(before + 1);
  });

  // A 100 ms operation handed to the subgraph in process, with how the caller may go away.
  const slowInProcess = (goAway: Pick<InProcessRequest, 'signal' | 'deadline'>) =>
    subgraph.server.inject({
      method: 'POST',
      path: '/graphql',
      headers: { ...json, [IDENTITY_HEADER]: identity('user-1') },
      body: JSON.stringify({ query: '{ slow(ms: 100) }' }),
      ...goAway,
    });

  it('rejects with the reason when the caller aborts, and the subgraph carries on unharmed', async () => {
    const controller = new AbortController();
    const finished = slowFinished;
    const pending = slowInProcess({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 10);
    await expect(pending).rejects.toThrow('gave up');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(slowFinished).toBe(finished + 1);
    // And it still serves.
    expect(
      (
        await inProcess({
          headers: { ...json, [IDENTITY_HEADER]: identity('user-2') },
          body: JSON.stringify({ query: '{ whoami }' }),
        })
      ).status,
    ).toBe(200);
  });

  it("rejects with the deadline's reason once it passes, and the subgraph carries on unharmed", async () => {
    const finished = slowFinished;
    const pending = slowInProcess({ deadline: { ms: 10, reason: () => new Error('too slow') } });
    await expect(pending).rejects.toThrow('too slow');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(slowFinished).toBe(finished + 1);
    // An answer within its deadline is the answer, and nothing fires later.
    const answer = await subgraph.server.inject({
      method: 'POST',
      path: '/graphql',
      headers: { ...json, [IDENTITY_HEADER]: identity('user-2') },
      body: JSON.stringify({ query: '{ whoami }' }),
      deadline: { ms: 5_000, reason: () => new Error('too slow') },
    });
    expect(answer.status).toBe(200);
  });
});

describe('a gateway with the subgraph in its process', () => {
  let local: string;
  let remote: string;
  beforeAll(async () => {
    const protections = { rateLimits: GENEROUS_RATE_LIMITS, subgraphTimeoutMs: 2000 };
    local = `${(await subgraph.startGateway({ inProcessSubgraphs: { inproc: subgraph.server.inject }, protections })).base}/graphql`;
    remote = `${(await subgraph.startGateway({ protections })).base}/graphql`;
  });

  async function ask(url: string, query: string, token?: string) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return {
      status: response.status,
      cacheControl: response.headers.get('cache-control'),
      body: await response.json(),
    };
  }

  it('answers as the gateway over HTTP does, without a connection to the subgraph', async () => {
    const token = signToken('user-7');
    for (const [query, withToken] of [
      ['{ whoami }', true],
      ['{ whoami }', false],
      ['{ cached }', true],
      ['{ broken }', true],
    ] as const) {
      const viaHttp = await ask(remote, query, withToken ? token : undefined);
      const before = connections;
      const viaProcess = await ask(local, query, withToken ? token : undefined);
      expect(connections).toBe(before);
      expect(viaProcess).toEqual(viaHttp);
    }
    expect((await ask(local, '{ whoami }', token)).body).toEqual({ data: { whoami: 'user-7' } });
    expect((await ask(local, '{ cached }', token)).cacheControl).toBe('max-age=30, private');
  });

  it('cancels a fetch past the subgraph timeout as over HTTP', async () => {
    const viaProcess = await ask(local, '{ slow(ms: 4000) }', signToken('user-7'));
    const viaHttp = await ask(remote, '{ slow(ms: 4000) }', signToken('user-7'));
    expect(viaProcess).toEqual(viaHttp);
    expect(viaProcess.body.errors?.length).toBeGreaterThan(0);
  });
});
