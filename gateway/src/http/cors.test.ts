import { buildSchema } from 'graphql';
import { makeServer } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnv } from '../../../lib/config/env.js';
import { createLogger } from '../../../lib/logger.js';
import { createHttpMetrics } from '../../../lib/http/metrics.js';
import {
  createGraphQLWsEndpoint,
  createServiceServer,
  sendJson,
  type ServiceServer,
  type WebSocketExtra,
} from '../../../lib/http/service-server.js';
import { tryUpgrade } from '../../../test/helpers/ws.js';
import { corsOriginsSetting, createCors } from './cors.js';
import { preventCsrf } from './csrf.js';

const APP = 'http://app.test:5173';
const OTHER = 'https://evil.test';

const parseOrigins = (value: string) =>
  parseEnv(z.object({ CORS_ORIGINS: corsOriginsSetting() }), { CORS_ORIGINS: value });

describe('CORS_ORIGINS', () => {
  it('is a list of exact origins, normalized as browsers send them', () => {
    expect(parseOrigins('').CORS_ORIGINS).toEqual([]);
    expect(parseOrigins('https://App.Example.com:443, http://localhost:5173/').CORS_ORIGINS).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it('refuses what is not an origin, naming each', () => {
    expect(() => parseOrigins('*,https://app.example.com/path,ftp://files.example.com')).toThrow(
      /CORS_ORIGINS: "\*" is not an origin[\s\S]*"https:\/\/app.example.com\/path" is not an origin[\s\S]*"ftp:/,
    );
  });
});

/** A service server as the gateway builds one: CSRF prevention on /graphql, more routes, WebSockets. */
async function serve(origins: string[]): Promise<{ service: ServiceServer; base: string }> {
  const logger = createLogger('cors-test', 'silent');
  const service = createServiceServer({
    logger,
    metrics: createHttpMetrics('cors-test'),
    crossOrigin: createCors(origins),
    graphql: preventCsrf(async (_req, res) => sendJson(res, 200, { data: { ok: true } })),
    routes: {
      '/uploads/': (_req, res) => {
        res.setHeader('retry-after', '7');
        sendJson(res, 429, { error: 'slow down' });
      },
    },
    readiness: async () => true,
    websocket: createGraphQLWsEndpoint(
      makeServer<Record<string, unknown>, WebSocketExtra>({ schema: buildSchema('type Query { ok: Boolean }') }),
      { logger, maxPayload: 1024 },
    ),
  });
  return { service, base: await service.listen(0, '127.0.0.1') };
}

const preflight = (url: string, origin: string, method = 'POST', headers = 'authorization, content-type') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

const corsHeaders = (res: Response) =>
  Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

describe('createCors', () => {
  let listed: { service: ServiceServer; base: string };
  let none: { service: ServiceServer; base: string };
  beforeAll(async () => {
    [listed, none] = await Promise.all([serve([APP]), serve([])]);
  });
  afterAll(() => Promise.all([listed?.service.close(), none?.service.close()]));

  it('answers a listed origin’s preflight itself, before CSRF prevention, on every route', async () => {
    for (const path of ['/graphql', '/uploads/abc', '/anything']) {
      const res = await preflight(listed.base + path, APP);
      expect(res.status).toBe(204);
      expect(corsHeaders(res)).toEqual({
        'access-control-allow-origin': APP,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers':
          'accept, authorization, content-type, apollo-require-preflight, x-apollo-operation-name, ' +
          'apollographql-client-name, apollographql-client-version, traceparent, tracestate, ' +
          'inference-header-content-length',
        'access-control-max-age': '7200',
        vary: 'Origin, Access-Control-Request-Method',
      });
      expect(await res.text()).toBe('');
    }
    expect(
      (await preflight(listed.base + '/uploads/abc', APP, 'PUT')).headers.get('access-control-allow-methods'),
    ).toBe('PUT');
  });

  it('leaves a method it does not serve out of the preflight’s answer', async () => {
    const res = await preflight(`${listed.base}/graphql`, APP, 'TRACE');
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('makes every answer to a listed origin readable, errors included, and never allows credentials', async () => {
    const ok = await fetch(`${listed.base}/graphql`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: '{"query":"{ok}"}',
    });
    expect(ok.status).toBe(200);
    expect(corsHeaders(ok)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'retry-after, inference-header-content-length',
      vary: 'Origin',
    });
    const csrf = await fetch(`${listed.base}/graphql`, { method: 'POST', headers: { origin: APP }, body: 'x' });
    expect(csrf.status).toBe(400);
    expect(csrf.headers.get('access-control-allow-origin')).toBe(APP);
    const limited = await fetch(`${listed.base}/uploads/abc`, { method: 'PUT', headers: { origin: APP } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('access-control-allow-origin')).toBe(APP);
    expect(limited.headers.get('access-control-expose-headers')).toContain('retry-after');
    expect(limited.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives an unlisted origin, or none, no CORS headers: its preflight meets the route as before', async () => {
    const res = await preflight(`${listed.base}/graphql`, OTHER);
    expect(res.status).toBe(400);
    expect(corsHeaders(res)).toEqual({ vary: 'Origin' });
    const plain = await fetch(`${listed.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ok}"}',
    });
    expect(corsHeaders(plain)).toEqual({ vary: 'Origin' });
  });

  it('adds nothing at all when no origin is listed', async () => {
    const res = await preflight(`${none.base}/graphql`, APP);
    expect(res.status).toBe(400);
    expect(corsHeaders(res)).toEqual({});
  });

  it('refuses WebSockets from pages on other origins (403), not from its own, listed ones or non-browsers', async () => {
    const own = new URL(listed.base).host;
    const upgrade = (headers: Record<string, string>) => tryUpgrade(`${listed.base}/graphql`, headers);
    expect((await upgrade({})).status).toBe(101);
    expect((await upgrade({ origin: APP })).status).toBe(101);
    expect((await upgrade({ origin: `http://${own}` })).status).toBe(101);
    // Behind a proxy that rewrites Host, the host the browser asked for.
    expect((await upgrade({ origin: 'https://api.example.com', 'x-forwarded-host': 'api.example.com' })).status).toBe(
      101,
    );
    const refused = await upgrade({ origin: OTHER });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await upgrade({ origin: 'null' })).status).toBe(403);
    // With no origin listed, only the gateway's own pages.
    expect((await tryUpgrade(`${none.base}/graphql`, { origin: APP })).status).toBe(403);
    expect((await tryUpgrade(`${none.base}/graphql`, { origin: none.base })).status).toBe(101);
  });
});
