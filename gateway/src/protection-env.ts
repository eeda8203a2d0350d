import { z } from 'zod';
import { httpTimeoutEnvShape, httpTimeouts, redisEnvShape } from '../../lib/config/common-env.js';
import { booleanFlag } from '../../lib/config/env.js';
import { DEFAULT_MAX_CONNECTIONS_PER_IP, type HttpLimits } from '../../lib/http/limits.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '../../lib/http/service-server.js';
import type { ProtectionOptions } from './protections.js';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * The gateway's protections against abuse and slow upstreams (see docs/security.md). Read by the
 * gateway process and by the platform, which hands them to its embedded gateway.
 */
export const protectionEnvShape = {
  ...redisEnvShape,
  /** HTTP requests per client IP per RATE_LIMIT_PER_IP_WINDOW seconds; past it, 429 with Retry-After. */
  RATE_LIMIT_PER_IP: count(600),
  RATE_LIMIT_PER_IP_WINDOW: count(60),
  /** Operations per signed-in user per window. */
  RATE_LIMIT_PER_USER: count(300),
  RATE_LIMIT_PER_USER_WINDOW: count(60),
  /** login, signup and refreshToken calls per client IP, and login calls per email, per window. */
  RATE_LIMIT_AUTH: count(10),
  RATE_LIMIT_AUTH_WINDOW: count(60),
  /** predict and startPrediction calls per user per window. */
  RATE_LIMIT_INFERENCE: count(60),
  RATE_LIMIT_INFERENCE_WINDOW: count(60),
  /**
   * Reverse proxies in front of the gateway. 0: the client is the socket's peer and X-Forwarded-For
   * is ignored (a client could write anything there). N: the client is the N-th address from the
   * right of X-Forwarded-For, the one the outermost proxy saw.
   */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** Time a subgraph has to answer one fetch of a query plan, milliseconds. */
  SUBGRAPH_TIMEOUT_MS: count(10_000),
  /** Lifetime of an automatic persisted query in the cache, seconds. */
  APQ_TTL: count(24 * 3600),
  /** A JSON manifest `{ operations: [{ id, body }] }` of registered operations (scripts/persisted-operations.ts). */
  PERSISTED_OPERATIONS_MANIFEST: z.string().optional(),
  /** Run only the manifest's operations (by id or exact body). */
  SAFELIST: booleanFlag(false),
};

type ProtectionEnv = z.infer<z.ZodObject<typeof protectionEnvShape>>;

/** Shutdown of the process serving clients (gateway, platform). */
export const drainEnvShape = {
  /** On SIGTERM, how long requests in flight get to finish before they are cut, ms. */
  DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(300_000).default(DEFAULT_DRAIN_TIMEOUT_MS),
};

/** Slow and greedy clients of the process serving clients (gateway, platform). */
export const clientConnectionEnvShape = {
  ...httpTimeoutEnvShape,
  /**
   * Open connections (WebSocket ones included) from one peer address; past it, new ones are closed
   * as they are accepted. The socket's address, not X-Forwarded-For: behind a reverse proxy every
   * connection is the proxy's, so raise it or set 0 (off) there. 0: no cap.
   */
  MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(0).default(DEFAULT_MAX_CONNECTIONS_PER_IP),
};

type ClientConnectionEnv = z.infer<z.ZodObject<typeof clientConnectionEnvShape>>;

/** What the connection variables say, as createGateway's `http` option. */
export const clientHttpLimits = (env: ClientConnectionEnv): HttpLimits => ({
  ...httpTimeouts(env),
  maxConnectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
});

/** What the protection variables say, as createGateway options (the manifest is read at start). */
export function protectionOptions(env: ProtectionEnv): ProtectionOptions {
  return {
    redisUrl: env.REDIS_URL,
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
