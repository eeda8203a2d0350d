import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationId } from '../../gateway/src/persisted-operations/manifest.js';
import { testEnv } from '../helpers/env.js';
import { codes } from '../helpers/graphql.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const REGISTERED = 'query Registered { __typename }';
const hashOf = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: operationId(query) } });

async function post(url: string, body: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    ...((await res.json()) as { data?: unknown; errors?: GraphQLFormattedError[] }),
  };
}

let apq: TestPlatform;
let safelisted: TestPlatform;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-manifest-'));
  const manifest = join(dir, 'manifest.json');
  await writeFile(manifest, JSON.stringify({ operations: [{ id: operationId(REGISTERED), body: REGISTERED }] }));
  const redisKeyPrefix = `test-${randomUUID()}:`;
  apq = await startTestPlatform({ redisUrl: testEnv.redisUrl, gatewayProtections: { redisKeyPrefix } });
  safelisted = await startTestPlatform({
    gatewayProtections: { persistedOperations: { manifestPath: manifest, safelist: true } },
  });
});
afterAll(async () => {
  await apq?.close();
  await safelisted?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('automatic persisted queries', () => {
  it('a hash alone is PERSISTED_QUERY_NOT_FOUND, then stored with its document and served by hash', async () => {
    const query = `query Apq${randomUUID().replace(/-/g, '')} { __typename }`;
    const miss = await post(apq.url, { extensions: hashOf(query) });
    expect(codes(miss)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(await post(apq.url, { query, extensions: hashOf(query) })).toEqual({
      status: 200,
      data: { __typename: 'Query' },
    });
    expect(await post(apq.url, { extensions: hashOf(query) })).toEqual({ status: 200, data: { __typename: 'Query' } });
  });

  it('a hash that does not match the document is refused', async () => {
    const wrong = await post(apq.url, { query: '{ __typename }', extensions: hashOf('{ me { id } }') });
    // Apollo Server's own error here has no code (so it is masked); the status and the absent data say enough.
    expect(wrong.status).toBe(400);
    expect(wrong.data).toBeUndefined();
  });
});

describe('safelist', () => {
  it('runs a registered operation by id or by its exact body', async () => {
    const expected = { status: 200, data: { __typename: 'Query' } };
    expect(await post(safelisted.url, { extensions: hashOf(REGISTERED) })).toEqual(expected);
    expect(await post(safelisted.url, { query: REGISTERED })).toEqual(expected);
  });

  it('refuses anything else with PERSISTED_QUERY_NOT_IN_LIST', async () => {
    for (const query of [
      '{ __typename }',
      'query Registered {  __typename }',
      'mutation { logout(refreshToken: "x") }',
    ]) {
      const refused = await post(safelisted.url, { query });
      expect(refused.status).toBe(400);
      expect(codes(refused)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    }
    // Registering through APQ does not get an operation onto the list.
    const sneaky = '{ me { id } }';
    expect(codes(await post(safelisted.url, { query: sneaky, extensions: hashOf(sneaky) }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
  });
});
