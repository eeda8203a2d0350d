import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfig } from '../../gateway/src/config.js';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { parseGatewayEnv } from '../../gateway/src/env.js';
import { createLogger } from '../../lib/logger.js';
import { platformConfig } from '../../platform/src/config.js';
import { parsePlatformEnv } from '../../platform/src/env.js';
import { startGateway } from '../helpers/gateway.js';
import {
  GENEROUS_RATE_LIMITS,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  type TestPlatform,
} from '../helpers/platform.js';
import { tryUpgrade } from '../helpers/ws.js';

// CORS through a real gateway (CORS_ORIGINS as rest.md says), as a browser app on another origin
// meets it: every route, its errors, and WebSocket upgrades. The browser itself: browser-client.test.ts.

const APP = 'http://127.0.0.1:5099';
const VITE = 'http://localhost:5173';
const OTHER = 'https://evil.example';
const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }';

let t: TestPlatform;
let gateway: Gateway;
let base: string;
beforeAll(async () => {
  t = await startTestPlatform();
  ({ gateway, base } = await startGateway(t, 0, {
    corsOrigins: [APP, VITE],
    // Two signups a minute: the third is a 429 a browser app must be able to read.
    protections: { rateLimits: { ...GENEROUS_RATE_LIMITS, auth: { points: 2, windowSeconds: 60 } } },
  }));
});
afterAll(async () => {
  await gateway?.close();
  await t?.close();
});

const preflight = (path: string, origin: string, method: string, headers: string) =>
  fetch(base + path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

const post = (origin: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', ...headers },
    body,
  });

describe('CORS on the gateway', () => {
  it('is configured by CORS_ORIGINS, in the gateway process and the platform alike', () => {
    const CORS_ORIGINS = `${APP}, ${VITE}/`;
    const secrets = { JWT_SECRET: TEST_JWT.secret, INTERNAL_SECRET: TEST_INTERNAL_SECRET };
    expect(gatewayConfig(parseGatewayEnv({ ...secrets, CORS_ORIGINS })).corsOrigins).toEqual([APP, VITE]);
    const platform = platformConfig(
      parsePlatformEnv({ CORS_ORIGINS }),
      { jwtSecret: TEST_JWT.secret, internalSecret: TEST_INTERNAL_SECRET },
      (service) => createLogger(service, 'silent'),
    );
    expect(platform.gateway.corsOrigins).toEqual([APP, VITE]);
    expect(gatewayConfig(parseGatewayEnv(secrets)).corsOrigins).toEqual([]);
  });

  it('answers preflights of listed origins, on /graphql and the upload route alike, with no CSRF error', async () => {
    const graphql = await preflight(
      '/graphql',
      APP,
      'POST',
      'authorization,content-type,apollo-require-preflight,x-apollo-operation-name,traceparent',
    );
    expect(graphql.status).toBe(204);
    expect(graphql.headers.get('access-control-allow-origin')).toBe(APP);
    expect(graphql.headers.get('access-control-allow-methods')).toBe('POST');
    for (const header of ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name']) {
      expect(graphql.headers.get('access-control-allow-headers')).toContain(header);
    }
    expect(graphql.headers.get('access-control-allow-headers')).toContain('traceparent');
    expect(graphql.headers.get('access-control-max-age')).toBe('7200');
    expect(graphql.headers.get('vary')).toContain('Origin');
    expect(graphql.headers.get('access-control-allow-credentials')).toBeNull();

    const upload = await preflight('/uploads/models/x', VITE, 'PUT', 'content-type');
    expect(upload.status).toBe(204);
    expect(upload.headers.get('access-control-allow-origin')).toBe(VITE);
    expect(upload.headers.get('access-control-allow-methods')).toBe('PUT');
  });

  it('makes answers to a listed origin readable, its errors too (400, 401, 413, 429 with Retry-After)', async () => {
    const ok = await post(APP, JSON.stringify({ query: '{ __typename }' }));
    expect(ok.status).toBe(200);
    const badJson = await post(APP, '{');
    const badToken = await post(APP, JSON.stringify({ query: '{ me { id } }' }), { authorization: 'Bearer nope' });
    const tooLarge = await post(APP, JSON.stringify({ query: `{ __typename } #${'x'.repeat(2 * 1024 * 1024)}` }));
    const signups = [];
    for (let i = 0; i < 3; i++) {
      const input = { email: `cors-${i}-${Date.now()}@example.com`, password: 'password-123456' };
      signups.push(await post(APP, JSON.stringify({ query: SIGNUP, variables: { input } })));
    }
    const limited = signups[2]!;
    expect([badJson.status, badToken.status, tooLarge.status, limited.status]).toEqual([400, 401, 413, 429]);
    for (const res of [ok, badJson, badToken, tooLarge, limited]) {
      expect(res.headers.get('access-control-allow-origin')).toBe(APP);
      expect(res.headers.get('vary')).toContain('Origin');
      await res.arrayBuffer();
    }
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('access-control-expose-headers')).toContain('retry-after');
  });

  it('makes the upload route’s answers readable by a listed origin', async () => {
    const res = await fetch(`${base}/uploads/models/unknown?expires=1&signature=x`, {
      method: 'PUT',
      headers: { origin: VITE, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(16),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers.get('access-control-allow-origin')).toBe(VITE);
    await res.arrayBuffer();
  });

  it('gives an unlisted origin no CORS headers, on preflights and answers alike', async () => {
    const refused = await preflight('/graphql', OTHER, 'POST', 'content-type');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('access-control-allow-methods')).toBeNull();
    await refused.arrayBuffer();
    const answered = await post(OTHER, JSON.stringify({ query: '{ __typename }' }));
    expect(answered.status).toBe(200);
    expect([...answered.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    await answered.arrayBuffer();
  });

  it('sends no CORS headers when CORS_ORIGINS is empty (the platform’s default)', async () => {
    const res = await fetch(t.url, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await res.arrayBuffer();
  });

  it('refuses WebSocket upgrades from unlisted browser origins with 403; listed, own and Origin-less ones open', async () => {
    const own = new URL(base).origin;
    expect((await tryUpgrade(`${base}/graphql`)).status).toBe(101);
    expect((await tryUpgrade(`${base}/graphql`, { origin: APP })).status).toBe(101);
    expect((await tryUpgrade(`${base}/graphql`, { origin: own })).status).toBe(101);
    const refused = await tryUpgrade(`${base}/graphql`, { origin: OTHER });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('FORBIDDEN');
    // The platform's gateway lists no origin: pages elsewhere are refused, its own IDE is not.
    expect((await tryUpgrade(t.url, { origin: APP })).status).toBe(403);
    expect((await tryUpgrade(t.url, { origin: new URL(t.url).origin })).status).toBe(101);
  });
});
