import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { IDENTITY_HEADER } from '../../../lib/auth/identity.js';
import type { Caller } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { createInflight } from '../inflight/inflight.js';
import { createSubgraphClient, subgraphEndpoint, type SubgraphAnswer } from './subgraph-client.js';
import { cacheHint, SubgraphDataSource, SubgraphTimeoutError } from './subgraph-data-source.js';

type Received = { headers: IncomingHttpHeaders; body: { query: string; variables?: Record<string, unknown> } };
type Reply = { status?: number; contentType?: string; body: string; delayMs?: number };

// A real subgraph over HTTP: records what arrives, answers what the test says.
let server: Server;
let url: string;
let received: Received[] = [];
// Requests whose connection the client closed before the answer was written.
let abandoned: Received[] = [];
let reply: (request: Received) => Reply = () => ({ body: '{"data":{"ok":true}}' });
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) };
      received.push(request);
      res.once('close', () => {
        if (!res.writableEnded) abandoned.push(request);
      });
      const answer = reply(request);
      setTimeout(() => {
        res.statusCode = answer.status ?? 200;
        res.setHeader('content-type', answer.contentType ?? 'application/json');
        res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  received = [];
  abandoned = [];
  reply = () => ({ body: '{"data":{"ok":true}}' });
});

const client = createSubgraphClient();
afterAll(() => client.close());

const caller = (userId: string): Caller => ({
  identity: { userId, role: 'USER', expiresAt: 2_000_000_000 },
  identityHeader: `signed-${userId}`,
});

type Policy = { restrict(hint: unknown): void };

// What @apollo/gateway's plan executor hands a data source, reduced to what this one reads.
const fetchOf = (
  query: string,
  who: Caller | null,
  variables: Record<string, unknown> = {},
  policy?: Policy,
): GraphQLDataSourceProcessOptions<GatewayContext> =>
  ({
    kind: 'incoming operation',
    request: { query, variables },
    context: { caller: who },
    incomingRequestContext: { overallCachePolicy: policy ?? null },
  }) as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;

const QUERY = 'query Q__users__0{me{id}}';
const anonymousHeader = () => 'signed-anonymous';

describe('SubgraphDataSource', () => {
  it("sends the caller's signed identity, and the gateway's anonymous one for a caller without a token", async () => {
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    expect(await source.process(fetchOf(QUERY, caller('u1')))).toEqual({ data: { ok: true } });
    await source.process(fetchOf(QUERY, null));
    expect(received[0]!.headers[IDENTITY_HEADER]).toBe('signed-u1');
    expect(received[1]!.headers[IDENTITY_HEADER]).toBe('signed-anonymous');
    expect(received[0]!.body).toEqual({ query: QUERY, variables: {} });
  });

  it('shares an identical in-flight query of the same caller', async () => {
    reply = () => ({ body: '{"data":{"me":{"id":"1"}}}', delayMs: 50 });
    const source = new SubgraphDataSource({ url, client, anonymousHeader, inflight: createInflight<SubgraphAnswer>() });
    const answers = await Promise.all([1, 2, 3].map(() => source.process(fetchOf(QUERY, caller('u1')))));
    expect(received).toHaveLength(1);
    expect(answers.map((answer) => answer.data)).toEqual([
      { me: { id: '1' } },
      { me: { id: '1' } },
      { me: { id: '1' } },
    ]);
    // Each caller parses its own copy: the plan executor merges into it.
    expect(answers[0]!.data).not.toBe(answers[1]!.data);
  });

  it('never shares between callers, nor a mutation, nor different variables', async () => {
    reply = () => ({ body: '{"data":{"ok":true}}', delayMs: 50 });
    const source = new SubgraphDataSource({ url, client, anonymousHeader, inflight: createInflight<SubgraphAnswer>() });
    const mutation = 'mutation M__users__0{logout}';
    await Promise.all([
      source.process(fetchOf(QUERY, caller('u1'))),
      source.process(fetchOf(QUERY, caller('u2'))),
      source.process(fetchOf(QUERY, null)),
      source.process(fetchOf(QUERY, caller('u1'), { first: 2 })),
      source.process(fetchOf(mutation, caller('u1'))),
      source.process(fetchOf(mutation, caller('u1'))),
    ]);
    expect(received).toHaveLength(6);
  });

  it('sends each distinct representation once and answers for every one it was given', async () => {
    reply = ({ body }) => {
      const representations = body.variables!.representations as Array<{ upc: string }>;
      return { body: JSON.stringify({ data: { _entities: representations.map(({ upc }) => ({ name: `p${upc}` })) } }) };
    };
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    const representations = ['1', '2', '1', '1'].map((upc) => ({ __typename: 'Product', upc }));
    const answer = await source.process(
      fetchOf(
        'query Q__inventory__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{name}}}',
        null,
        {
          representations,
        },
      ),
    );
    expect(received[0]!.body.variables!.representations).toEqual([
      { __typename: 'Product', upc: '1' },
      { __typename: 'Product', upc: '2' },
    ]);
    expect(answer.data!._entities).toEqual([{ name: 'p1' }, { name: 'p2' }, { name: 'p1' }, { name: 'p1' }]);
  });

  it("answers a 400 carrying the subgraph's own errors with those errors", async () => {
    const refusal = { errors: [{ message: 'Expected a DateTime', extensions: { code: 'BAD_USER_INPUT' } }] };
    reply = () => ({ status: 400, body: JSON.stringify(refusal) });
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    expect(await source.process(fetchOf(QUERY, null))).toEqual(refusal);
  });

  it('turns a non-2xx answer into an error carrying the response', async () => {
    reply = () => ({ status: 401, body: '{"errors":[{"message":"who are you"}]}' });
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    const failure = await source.process(fetchOf(QUERY, null)).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      message: '401: Unauthorized',
      extensions: {
        code: 'UNAUTHENTICATED',
        response: { url, status: 401, statusText: 'Unauthorized', body: { errors: [{ message: 'who are you' }] } },
      },
    });
  });

  it('cancels a fetch at its deadline: the subgraph sees the request go, every sharer gets the timeout', async () => {
    reply = () => ({ body: '{"data":{"ok":true}}', delayMs: 5_000 });
    const source = new SubgraphDataSource({
      url,
      client,
      anonymousHeader,
      timeoutMs: 200,
      inflight: createInflight<SubgraphAnswer>(),
    });
    const [first, second] = await Promise.allSettled([
      source.process(fetchOf(QUERY, caller('u1'))),
      source.process(fetchOf(QUERY, caller('u1'))),
    ]);
    for (const outcome of [first, second]) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(SubgraphTimeoutError) });
    }
    expect(received).toHaveLength(1);
    await vi.waitFor(() => expect(abandoned).toHaveLength(1));
  });

  it('never sends a fetch whose deadline passed while it waited for a connection', async () => {
    const oneConnection = createSubgraphClient({ connectionsPerSubgraph: 1 });
    try {
      reply = (request) => ({ body: '{"data":{"ok":true}}', delayMs: request.body.query === '{ slow }' ? 400 : 0 });
      const patient = new SubgraphDataSource({ url, client: oneConnection, anonymousHeader, timeoutMs: 5_000 });
      const hurried = new SubgraphDataSource({ url, client: oneConnection, anonymousHeader, timeoutMs: 100 });
      const slow = patient.process(fetchOf('{ slow }', caller('u1')));
      await vi.waitFor(() => expect(received).toHaveLength(1));
      await expect(hurried.process(fetchOf(QUERY, caller('u2')))).rejects.toBeInstanceOf(SubgraphTimeoutError);
      expect(await slow).toEqual({ data: { ok: true } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received.map((request) => request.body.query)).toEqual(['{ slow }']);
    } finally {
      await oneConnection.close();
    }
  });

  it('rejects a request undici refuses at once, not at its deadline', async () => {
    // A deadline far past the test's own timeout: waiting for it would fail the test.
    const deadline = { ms: 600_000, reason: () => new SubgraphTimeoutError(600_000) };
    await expect(client.post(subgraphEndpoint(url), { 'x-bad': 'a\nb' }, '{}', deadline)).rejects.toThrow(
      /invalid x-bad header/,
    );
    expect(received).toEqual([]);
  });

  it('decodes an answer whose characters are split across chunks', async () => {
    const text = 'é€😀'.repeat(40_000);
    reply = () => ({ body: JSON.stringify({ data: { text } }) });
    const source = new SubgraphDataSource({ url, client, anonymousHeader, timeoutMs: 2_000 });
    expect(await source.process(fetchOf(QUERY, null))).toEqual({ data: { text } });
  });

  it('leaves a fetch that answers in time alone', async () => {
    reply = () => ({ body: '{"data":{"ok":true}}', delayMs: 50 });
    const source = new SubgraphDataSource({ url, client, anonymousHeader, timeoutMs: 2_000 });
    expect(await source.process(fetchOf(QUERY, caller('u1')))).toEqual({ data: { ok: true } });
    expect(abandoned).toEqual([]);
  });

  it('refuses an answer that is not JSON', async () => {
    reply = () => ({ contentType: 'text/plain', body: 'hello' });
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    await expect(source.process(fetchOf(QUERY, null))).rejects.toThrow('Expected JSON response body');
  });

  it("folds the subgraph's Cache-Control into the operation's cache policy", async () => {
    const hints: unknown[] = [];
    const source = new SubgraphDataSource({ url, client, anonymousHeader });
    await source.process(fetchOf(QUERY, null, {}, { restrict: (hint) => hints.push(hint) }));
    expect(hints).toEqual([{ maxAge: 0 }]);
    expect(cacheHint('public, max-age=60')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(cacheHint('private, max-age=abc')).toEqual({ maxAge: 0, scope: 'PRIVATE' });
  });
});
