import { z } from 'zod';
import { httpTimeoutEnvShape, httpTimeouts, redisEnvShape } from '../../lib/config/common-env.js';
import { booleanFlag, positiveInt, type EnvOf } from '../../lib/config/env.js';
import { DEFAULT_MAX_CONNECTIONS_PER_IP, type HttpLimits } from '../../lib/http/limits.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '../../lib/http/service-server.js';
import { defaultProtections, type ProtectionOptions } from './protections.js';

const { perIp, perUser, auth, inference } = defaultProtections.rateLimits;

/** The gateway's protections against abuse and slow upstreams (see docs/security.md). */
export const protectionEnvShape = {
  ...redisEnvShape,
  RATE_LIMIT_PER_IP: positiveInt(perIp.points).describe(
    'HTTP requests per client IP per `RATE_LIMIT_PER_IP_WINDOW` (429 with Retry-After beyond)',
  ),
  RATE_LIMIT_PER_IP_WINDOW: positiveInt(perIp.windowSeconds).describe('Window of `RATE_LIMIT_PER_IP`, seconds'),
  RATE_LIMIT_PER_USER: positiveInt(perUser.points).describe('Operations per signed-in user per window'),
  RATE_LIMIT_PER_USER_WINDOW: positiveInt(perUser.windowSeconds).describe('Window of `RATE_LIMIT_PER_USER`, seconds'),
  RATE_LIMIT_AUTH: positiveInt(auth.points).describe(
    'Calls of root fields declared `@rateLimit(budget: "auth")` (`login`, `signup`, `refreshToken`) per client IP, and per the directive\'s `per` argument (`login`: the email), per window',
  ),
  RATE_LIMIT_AUTH_WINDOW: positiveInt(auth.windowSeconds).describe('Window of `RATE_LIMIT_AUTH`, seconds'),
  RATE_LIMIT_INFERENCE: positiveInt(inference.points).describe(
    'Calls of root fields declared `@rateLimit(budget: "inference")` (`predict`, `startPrediction`) per user per window',
  ),
  RATE_LIMIT_INFERENCE_WINDOW: positiveInt(inference.windowSeconds).describe(
    'Window of `RATE_LIMIT_INFERENCE`, seconds',
  ),
  TRUST_PROXY: z.coerce
    .number()
    .int()
    .min(0)
    .max(10)
    .default(defaultProtections.trustedProxies)
    .describe(
      'Reverse-proxy hops whose `X-Forwarded-For` is trusted for the client IP; 0: the socket’s peer, `X-Forwarded-For` ignored',
    ),
  SUBGRAPH_TIMEOUT_MS: positiveInt(defaultProtections.subgraphTimeoutMs).describe(
    'Time a subgraph has to answer one fetch of a query plan, ms: partial data with `SUBGRAPH_UNAVAILABLE` beyond',
  ),
  APQ_TTL: positiveInt(defaultProtections.apqTtlSeconds).describe(
    'Automatic persisted queries’ lifetime, seconds (in Redis when `REDIS_URL` is set)',
  ),
  PERSISTED_OPERATIONS_MANIFEST: z
    .string()
    .optional()
    .describe(
      'A JSON manifest `{ operations: [{ id, body }] }` of registered operations (`operations/manifest.json` holds the walkthrough’s, the CLI’s and the IDE’s)',
    ),
  SAFELIST: booleanFlag(false).describe('Run only the manifest’s operations (by id or exact body)'),
};

/** Shutdown of the process serving clients (gateway, platform). */
export const drainEnvShape = {
  DRAIN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(DEFAULT_DRAIN_TIMEOUT_MS)
    .describe('On SIGTERM, how long requests in flight get to finish before they are cut, ms'),
};

/** Slow and greedy clients of the process serving clients (gateway, platform). */
export const clientConnectionEnvShape = {
  ...httpTimeoutEnvShape,
  MAX_CONNECTIONS_PER_IP: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_MAX_CONNECTIONS_PER_IP)
    .describe(
      'Open connections (WebSocket ones included) per socket peer address, not `X-Forwarded-For`; 0: no cap (set 0 behind an Ingress and cap there)',
    ),
};

/** What the connection variables say, as createGateway's `http` option. */
export const clientHttpLimits = (env: EnvOf<typeof clientConnectionEnvShape>): HttpLimits => ({
  ...httpTimeouts(env),
  maxConnectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
});

/** What the protection variables say, as createGateway options (the manifest is read at start). */
export function protectionOptions(env: EnvOf<typeof protectionEnvShape>): ProtectionOptions {
  return {
    redisUrl: env.REDIS_URL,
    redisCaFile: env.REDIS_CA_FILE,
    rateLimits: {
      perIp: { points: env.RATE_LIMIT_PER_IP, windowSeconds: env.RATE_LIMIT_PER_IP_WINDOW },
      perUser: { points: env.RATE_LIMIT_PER_USER, windowSeconds: env.RATE_LIMIT_PER_USER_WINDOW },
      auth: { points: env.RATE_LIMIT_AUTH, windowSeconds: env.RATE_LIMIT_AUTH_WINDOW },
      inference: { points: env.RATE_LIMIT_INFERENCE, windowSeconds: env.RATE_LIMIT_INFERENCE_WINDOW },
    },
    trustedProxies: env.TRUST_PROXY,
    subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
    persistedOperations: {
      ttlSeconds: env.APQ_TTL,
      manifestPath: env.PERSISTED_OPERATIONS_MANIFEST,
      safelist: env.SAFELIST,
    },
  };
}
