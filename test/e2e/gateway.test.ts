import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

type ErrorBody = { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
const errorsOf = async (res: Response) => ((await res.json()) as ErrorBody).errors;

let t: TestPlatform;
let base: string;
beforeAll(async () => {
  t = await startTestPlatform({ maxBodyBytes: 10_000 });
  base = t.url.replace(/\/graphql$/, '');
});
afterAll(() => t?.close());

describe('runtime contract', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await t.gql({ query: '{ __typename }' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('http_requests_total{route="/graphql",method="POST",status="200",service="gateway"}');
    expect(metrics).toContain('process_cpu_seconds_total');
  });

  it('every subgraph serves /healthz, /readyz and /metrics', async () => {
    for (const url of t.platform.gateway.subgraphs().values()) {
      const subgraph = url.replace(/\/graphql$/, '');
      expect((await fetch(`${subgraph}/healthz`)).status).toBe(200);
      expect((await fetch(`${subgraph}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${subgraph}/metrics`)).text()).toContain('http_request_duration_seconds');
    }
  });

  it('/readyz turns 503 when a subgraph stops answering', async () => {
    const other = await startTestPlatform();
    try {
      const gatewayBase = other.url.replace(/\/graphql$/, '');
      await other.platform.users.close();
      expect((await fetch(`${gatewayBase}/readyz`)).status).toBe(503);
      expect((await fetch(`${gatewayBase}/healthz`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('request hygiene', () => {
  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(20_000)}` }),
    });
    expect(res.status).toBe(413);
    expect((await errorsOf(res))[0]?.extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', limit: 10_000 });
  });

  it('answers malformed JSON with 400 and a clear error', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]).toMatchObject({
      message: 'Request body is not valid JSON',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('refuses a mutation sent by GET and a simple form POST (CSRF)', async () => {
    const query = encodeURIComponent('mutation { logout(refreshToken: "x") }');
    const get = await fetch(`${t.url}?query=${query}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(405);
    const form = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=mutation%20%7B%20logout(refreshToken%3A%20%22x%22)%20%7D',
    });
    expect(form.status).toBe(400);
    expect((await errorsOf(form))[0]?.message).toContain('Cross-Site Request Forgery');
    // The other "simple" content types a page can POST cross-site without a preflight.
    for (const [contentType, body] of [
      ['text/plain', JSON.stringify({ query: 'mutation { logout(refreshToken: "x") }' })],
      [
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="query"\r\n\r\nmutation { logout(refreshToken: "x") }\r\n--b--\r\n',
      ],
    ] as const) {
      const simple = await fetch(t.url, { method: 'POST', headers: { 'content-type': contentType }, body });
      expect(simple.status).toBe(400);
      expect((await errorsOf(simple))[0]?.message).toContain('Cross-Site Request Forgery');
    }
    // A GET a browser sends from another site is refused before the operation is even looked at;
    // an API client's plain GET (no Fetch Metadata) gets as far as the 405.
    expect((await fetch(`${t.url}?query=${query}`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(400);
    expect((await fetch(`${t.url}?query=${query}`)).status).toBe(405);
  });

  it('refuses a batch (a JSON array of operations) with 400 BAD_USER_INPUT', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]).toMatchObject({
      message: 'Operation batching disabled.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('reports parse and validation failures with their codes', async () => {
    const parse = await t.gql({ query: '{ me { ' });
    expect(parse.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const validation = await t.gql({ query: '{ me { password_hash } }' });
    expect(validation.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('never sends stack traces', async () => {
    const res = await t.gql({ query: '{ me { password_hash } }' });
    expect(JSON.stringify(res)).not.toContain('stacktrace');
  });
});
