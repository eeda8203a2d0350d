import { HeaderMap } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { DeduplicatingApolloServer, sharedRequestKey } from './deduplicate-requests.js';

const post = (query: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: new HeaderMap(Object.entries({ 'content-type': 'application/json', ...headers })),
  search: '',
  body: { query },
});

async function startServer(shareInflightRequests?: boolean) {
  const runs = { slow: 0, bump: 0 };
  const server = new DeduplicatingApolloServer({
    typeDefs: 'type Query { slow: Int } type Mutation { bump: Int }',
    resolvers: {
      Query: { slow: () => new Promise((resolve) => setTimeout(() => resolve(++runs.slow), 30)) },
      Mutation: { bump: () => new Promise((resolve) => setTimeout(() => resolve(++runs.bump), 30)) },
    },
    ...(shareInflightRequests === undefined ? {} : { shareInflightRequests }),
  });
  await server.start();
  const send = (request: ReturnType<typeof post>) =>
    server.executeHTTPGraphQLRequest({ httpGraphQLRequest: request, context: async () => ({}) });
  return { server, runs, send };
}

const bodyOf = (response: Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['send']>>) =>
  response.body.kind === 'complete' ? JSON.parse(response.body.string) : undefined;

describe('sharedRequestKey', () => {
  it('is the same for byte-identical queries and differs with any header, Authorization included', () => {
    expect(sharedRequestKey(post('{ slow }'))).toBe(sharedRequestKey(post('{ slow }')));
    expect(sharedRequestKey(post('{ slow }', { authorization: 'Bearer a' }))).not.toBe(
      sharedRequestKey(post('{ slow }', { authorization: 'Bearer b' })),
    );
  });

  it('is null for what must run on its own: mutations, subscriptions, GET, batches, hashes alone', () => {
    expect(sharedRequestKey(post('mutation { bump }'))).toBeNull();
    expect(sharedRequestKey(post('query A { slow } mutation B { bump }'))).toBeNull();
    expect(sharedRequestKey(post('subscription { ticks }'))).toBeNull();
    expect(sharedRequestKey({ ...post('{ slow }'), method: 'GET' })).toBeNull();
    expect(sharedRequestKey({ ...post('{ slow }'), body: [{ query: '{ slow }' }] })).toBeNull();
    expect(
      sharedRequestKey({ ...post('{ slow }'), body: { extensions: { persistedQuery: { version: 1 } } } }),
    ).toBeNull();
  });
});

describe('DeduplicatingApolloServer', () => {
  it('answers identical in-flight queries from one execution', async () => {
    const { server, runs, send } = await startServer();
    const answers = await Promise.all([1, 2, 3].map(() => send(post('{ slow }', { authorization: 'Bearer a' }))));
    expect(runs.slow).toBe(1);
    expect(answers.map(bodyOf)).toEqual([{ data: { slow: 1 } }, { data: { slow: 1 } }, { data: { slow: 1 } }]);
    await send(post('{ slow }', { authorization: 'Bearer a' }));
    expect(runs.slow).toBe(2);
    await server.stop();
  });

  it('never shares between different callers, nor a mutation', async () => {
    const { server, runs, send } = await startServer();
    await Promise.all([
      send(post('{ slow }', { authorization: 'Bearer a' })),
      send(post('{ slow }', { authorization: 'Bearer b' })),
      send(post('{ slow }')),
    ]);
    expect(runs.slow).toBe(3);
    const bumps = await Promise.all([send(post('mutation { bump }')), send(post('mutation { bump }'))]);
    expect(runs.bump).toBe(2);
    expect(bumps.map(bodyOf).map((body) => body.data.bump)).toEqual(expect.arrayContaining([1, 2]));
    await server.stop();
  });

  it('shares nothing when turned off', async () => {
    const { server, runs, send } = await startServer(false);
    await Promise.all([1, 2].map(() => send(post('{ slow }'))));
    expect(runs.slow).toBe(2);
    await server.stop();
  });
});
