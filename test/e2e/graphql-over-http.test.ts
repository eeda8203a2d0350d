import { request as httpRequest } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import { auditServer, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOperationLimits as limits } from '../../gateway/src/limits/operation-limits.js';
import { codes } from '../helpers/graphql.js';
import { rowCounts, signup, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

// The GraphQL over HTTP spec (graphql.github.io/graphql-over-http), as graphql-http's audit checks
// it, and what the audit leaves out: our own refusals, and CSRF prevention next to plain GETs.

type Answer = { status: number; type: string | null; body: { data?: unknown; errors?: GraphQLFormattedError[] } };

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(() => t?.close());

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Answer['body'] };
}

/** A POST of `body` with this Accept header; `undefined` sends none at all (fetch would send `*∕*`). */
async function post(body: string, accept: string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  if (accept !== undefined) {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
      body,
    });
    return answer(res);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'] ?? null,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'],
        }),
      );
    });
    req.end(body);
  });
}

/** A failed audit with what the gateway answered, so the failure says what to fix. */
async function describeFailure(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return '';
  const { response } = result;
  const body = response.bodyUsed ? '(body read by the audit)' : await response.text();
  return `${result.status} ${result.id} ${result.name}: ${result.reason}\n  ${response.status} ${response.headers.get('content-type')} ${body}`;
}

describe('graphql-http auditServer', () => {
  it('passes all 61 audits: MUST, SHOULD and MAY', async () => {
    const results = await auditServer({ url: t.url });
    const failures = await Promise.all(results.filter((r) => r.status !== 'ok').map(describeFailure));
    expect(failures.join('\n'), `${results.length - failures.length}/${results.length} ok`).toBe('');
    expect(results).toHaveLength(61);
  });
});

describe('the status of a well-formed request whose operation fails', () => {
  const aliases = Array.from({ length: limits.maxAliases + 1 }, (_, i) => `a${i}: __typename`).join(' ');
  const failures: Array<[string, Record<string, unknown>, string]> = [
    ['a document that does not parse', { query: '{' }, 'GRAPHQL_PARSE_FAILED'],
    ['an invalid document', { query: '{ nope }' }, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'variables that do not coerce',
      { query: 'query ($name: String!) { __type(name: $name) { name } }', variables: { name: null } },
      'BAD_USER_INPUT',
    ],
    [
      'an operation name not in the document',
      { query: 'query A { __typename }', operationName: 'B' },
      'BAD_USER_INPUT',
    ],
    ['two operations and no name', { query: 'query A { __typename } query B { __typename }' }, 'BAD_USER_INPUT'],
    ['an operation over a limit', { query: `{ ${aliases} }` }, 'MAX_ALIASES_EXCEEDED'],
    [
      'more tokens than the gateway parses',
      { query: `{ ${'__typename '.repeat(limits.maxTokens)} }` },
      'MAX_TOKENS_EXCEEDED',
    ],
  ];

  it.each(failures)('%s: 200 to a client that asks for application/json', async (_what, request, code) => {
    const res = await post(JSON.stringify(request), 'application/json');
    expect(res).toMatchObject({ status: 200, type: JSON_TYPE });
    expect(res.body.data).toBeUndefined();
    expect(codes(res.body)).toEqual([code]);
  });

  it.each(failures)('%s: 400 to application/graphql-response+json, */* and no Accept', async (_what, request, code) => {
    for (const [accept, type] of [
      ['application/graphql-response+json', GRAPHQL_RESPONSE_TYPE],
      ['application/graphql-response+json, application/json;q=0.9', GRAPHQL_RESPONSE_TYPE],
      // Without a preference: application/json (as the audit wants), with the statuses of
      // application/graphql-response+json (the spec's default for no Accept since 2025).
      ['*/*', JSON_TYPE],
      [undefined, JSON_TYPE],
    ] as const) {
      const res = await post(JSON.stringify(request), accept);
      expect(res, String(accept)).toMatchObject({ status: 400, type });
      expect(codes(res.body)).toEqual([code]);
    }
  });

  it('a client that names application/json keeps 200 whatever else it accepts, unless it prefers the other', async () => {
    const request = JSON.stringify({ query: '{ nope }' });
    for (const accept of [
      'application/json, */*;q=0.5',
      'application/json;charset=utf-8',
      'application/json, application/graphql-response+json',
    ])
      expect((await post(request, accept)).status, accept).toBe(200);
    expect((await post(request, 'application/graphql-response+json, application/json')).status).toBe(400);
    expect((await post(request, 'application/*')).status).toBe(400);
  });
});

describe('requests that are not GraphQL requests stay 4xx under application/json', () => {
  it.each([
    ['invalid JSON', '{"query": '],
    ['no query', '{"qeury": "{ __typename }"}'],
    ['variables that are not an object', '{"query": "{ __typename }", "variables": [1]}'],
    ['a batch', '[{"query": "{ __typename }"}]'],
    [
      'a persisted query hash that is not the query’s',
      JSON.stringify({
        query: '{ __typename }',
        extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
      }),
    ],
  ])('%s: 400', async (_what, body) => {
    // In the media type asked for, the gateway's own answers (invalid JSON) as much as Apollo's.
    for (const [accept, type] of [
      ['application/json', JSON_TYPE],
      ['application/graphql-response+json', GRAPHQL_RESPONSE_TYPE],
      ['*/*', JSON_TYPE],
    ] as const) {
      expect(await post(body, accept), accept).toMatchObject({ status: 400, type });
    }
  });

  it('a mutation by GET: 405', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('mutation { logout(refreshToken: "x") }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('an Accept header that admits no JSON answer', () => {
  it('is refused with 406 before anything runs, a mutation included', async () => {
    const session = await signup(t);
    const before = await rowCounts(t, ['projects']);
    for (const accept of ['text/plain', 'application/xml, text/html', 'application/json;q=0']) {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${session.accessToken}` },
        body: JSON.stringify({ query: 'mutation { createProject(input: {name: "not acceptable"}) { id } }' }),
      });
      expect(res.status, accept).toBe(406);
      expect(codes((await res.json()) as Answer['body'])).toEqual(['NOT_ACCEPTABLE']);
    }
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it('still serves the IDE to a browser', async () => {
    const ide = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(ide.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('CSRF prevention and plain GETs', () => {
  const query = `?query=${encodeURIComponent('{ __typename }')}`;

  it('serves a query by GET without any preflight header: API clients, and a same-origin page', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { accept: 'application/json' },
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
    ];
    for (const headers of cases) {
      const res = await fetch(`${t.url}${query}`, { headers });
      expect(await answer(res), JSON.stringify(headers)).toMatchObject({
        status: 200,
        body: { data: { __typename: 'Query' } },
      });
    }
  });

  it('refuses a GET a browser says comes from another site, unless it carries a preflight header', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const res = await answer(await fetch(`${t.url}${query}`, { headers: { 'sec-fetch-site': site } }));
      expect(res.status, site).toBe(400);
      expect(res.body.errors?.[0]?.message).toContain('Cross-Site Request Forgery');
      const preflighted = await fetch(`${t.url}${query}`, {
        headers: { 'sec-fetch-site': site, 'apollo-require-preflight': 'true' },
      });
      expect(preflighted.status).toBe(200);
    }
  });

  it('refuses a simple POST even from the same origin: only GET has the exception', async () => {
    const session = await signup(t);
    const before = await rowCounts(t, ['projects']);
    for (const site of [undefined, 'same-origin']) {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          authorization: `Bearer ${session.accessToken}`,
          ...(site ? { 'sec-fetch-site': site } : {}),
        },
        body: JSON.stringify({ query: 'mutation { createProject(input: {name: "csrf"}) { id } }' }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Answer['body']).errors?.[0]?.message).toContain('Cross-Site Request Forgery');
    }
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });
});
