import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import { projectRoot } from '../../../lib/project-root.js';
import { loadSupergraph } from '../subscriptions/supergraph.js';
import { connectGatewayRedis } from '../redis.js';
import { readSupergraphDirectives } from '../supergraph-directives.js';
import { clientIp } from './client-ip.js';
import { rateLimitCaller } from './use-rate-limits.js';
import { createRateLimits, type RateLimitConfig } from './rate-limits.js';
import { rootFieldCalls } from './root-fields.js';

const supergraphSdl = readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8');
const { apiSchema: schema } = loadSupergraph(supergraphSdl);
// The root fields the platform's schema declares @rateLimit (login: auth, per input.email).
const { rateLimits: declared } = readSupergraphDirectives(supergraphSdl);
const rateLimitedFields = () => declared;

const logger = createLogger('test', 'silent');
const config = (auth: number): RateLimitConfig => ({
  perIp: { points: 1000, windowSeconds: 60 },
  perUser: { points: 1000, windowSeconds: 60 },
  auth: { points: auth, windowSeconds: 60 },
  inference: { points: 1000, windowSeconds: 60 },
  keyPrefix: `test-${randomUUID()}`,
});
const login = (email: string) => [{ name: 'login', args: { input: { email, password: 'x' } } }];

describe('rootFieldCalls', () => {
  it('lists every root field call with its arguments, aliases and fragments included', () => {
    const document = parse(`
      mutation Guess($e: String!) { a: login(input: { email: $e, password: "1" }) { accessToken } ...More }
      fragment More on Mutation { b: login(input: { email: "B@x.io", password: "2" }) { accessToken } }
    `);
    expect(rootFieldCalls(schema, document, 'Guess', { e: 'a@x.io' })).toEqual([
      { name: 'login', args: { input: { email: 'a@x.io', password: '1' } } },
      { name: 'login', args: { input: { email: 'B@x.io', password: '2' } } },
    ]);
  });

  it('reads arguments as execution will: variable defaults, whole and nested, included', () => {
    const email = (query: string, variables?: Record<string, unknown>) =>
      (rootFieldCalls(schema, parse(query), undefined, variables)[0]?.args['input'] as { email?: string })?.email;
    expect(email('mutation ($e: String = "v@x.io") { login(input: {email: $e, password: "p"}) { accessToken } }')).toBe(
      'v@x.io',
    );
    expect(
      email('mutation ($i: LoginInput = {email: "v@x.io", password: "p"}) { login(input: $i) { accessToken } }'),
    ).toBe('v@x.io');
    // A value sent wins over the default, as in execution.
    expect(
      email('mutation ($e: String = "v@x.io") { login(input: {email: $e, password: "p"}) { accessToken } }', {
        e: 'w@x.io',
      }),
    ).toBe('w@x.io');
  });
});

describe('clientIp', () => {
  const req = (xff?: string) =>
    ({ socket: { remoteAddress: '10.0.0.1' }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as IncomingMessage;
  it('is the socket peer unless proxies are trusted, then the address the outermost one saw', () => {
    expect(clientIp(req('1.1.1.1'), 0)).toBe('10.0.0.1');
    expect(clientIp(req('6.6.6.6, 1.1.1.1'), 1)).toBe('1.1.1.1');
    expect(clientIp(req('6.6.6.6, 1.1.1.1, 10.0.0.2'), 2)).toBe('1.1.1.1');
    expect(clientIp(req(), 1)).toBe('10.0.0.1');
  });
});

describe('rate limits', () => {
  it('count login attempts per IP and per email, case-insensitively', async () => {
    const limits = createRateLimits({ config: config(3), logger, rateLimitedFields });
    for (let i = 0; i < 3; i++)
      expect(await limits.operation({ ip: 'a', userId: null, fields: login('X@y.io') })).toBeNull();
    expect(await limits.operation({ ip: 'a', userId: null, fields: login('other@y.io') })).toMatchObject({
      limit: 'auth',
    });
    // Another address, same email: refused by the email's budget.
    expect(await limits.operation({ ip: 'b', userId: null, fields: login('x@y.io ') })).toMatchObject({
      limit: 'auth',
    });
    const refusal = await limits.operation({ ip: 'c', userId: null, fields: login('z@y.io') });
    expect(refusal).toBeNull();
  });

  it('keep limiting in process while Redis cannot be reached', async () => {
    const redis = await connectGatewayRedis('redis://127.0.0.1:1', logger, 200);
    try {
      const limits = createRateLimits({ config: config(2), redis, logger, rateLimitedFields });
      expect(await limits.operation({ ip: 'a', userId: null, fields: login('a@y.io') })).toBeNull();
      expect(await limits.operation({ ip: 'a', userId: null, fields: login('a@y.io') })).toBeNull();
      const refused = await limits.operation({ ip: 'a', userId: null, fields: login('a@y.io') });
      expect(refused?.limit).toBe('auth');
      expect(refused?.retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('whose budget a caller spends', () => {
  it("an API key's own, apart from its owner's sessions and other keys", () => {
    const session = { userId: 'u1', role: 'USER' as const, expiresAt: 0 };
    expect(rateLimitCaller(session)).toBe('u1');
    expect(rateLimitCaller({ ...session, apiKeyId: 'k1', scopes: [] })).toBe('key:k1');
    expect(rateLimitCaller({ ...session, apiKeyId: 'k2', scopes: [] })).toBe('key:k2');
  });
});
