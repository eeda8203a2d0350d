import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
  type RateLimiterStoreAbstract,
} from 'rate-limiter-flexible';
import type { Logger } from '../../../lib/logger.js';
import type { RootFieldCall } from './root-fields.js';

/** A budget: `points` requests (or calls) per key within a fixed window. */
export type RateLimit = { points: number; windowSeconds: number };

export type RateLimitConfig = {
  /** HTTP requests per client IP; past it the whole request is refused with 429. */
  perIp: RateLimit;
  /** Operations per authenticated user (HTTP and WebSocket). */
  perUser: RateLimit;
  /** Calls of `login`, `signup` and `refreshToken` per client IP, and of `login` per email (brute force). */
  auth: RateLimit;
  /** Calls of `predict` and `startPrediction` per user (anonymous callers per IP): they cost compute. */
  inference: RateLimit;
  /** Prefix of the counters' Redis keys: gateways sharing Redis and this prefix share their budgets. @default 'rl' */
  keyPrefix?: string;
};

/** Root fields guarded against password guessing and token stuffing. */
export const AUTH_FIELDS: ReadonlySet<string> = new Set(['login', 'signup', 'refreshToken']);
/** Root fields that run models. */
export const INFERENCE_FIELDS: ReadonlySet<string> = new Set(['predict', 'startPrediction']);

/** Why a request or operation is refused, and when the client may try again. */
export type Refusal = { limit: keyof Omit<RateLimitConfig, 'keyPrefix'>; retryAfterSeconds: number };

export type RateLimits = {
  /** Counts one HTTP request of a client IP. */
  request(ip: string): Promise<Refusal | null>;
  /** Counts one operation: against its caller's budget, and the strict budgets of the root fields it calls. */
  operation(call: { ip: string; userId: string | null; fields: readonly RootFieldCall[] }): Promise<Refusal | null>;
};

export type RateLimitsOptions = {
  config: RateLimitConfig;
  /**
   * Shared counters, so that limits hold across gateway replicas. While Redis cannot answer, each
   * gateway counts in its own memory instead (the insurance limiter): limits stay on, per replica.
   */
  redis?: Redis | undefined;
  logger: Logger;
};

const loginEmail = (args: Record<string, unknown>): string | undefined => {
  const input = args['input'];
  const email = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['email'] : undefined;
  return typeof email === 'string' ? email.trim().toLowerCase() : undefined;
};

export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const { config, redis, logger } = options;
  const prefix = config.keyPrefix ?? 'rl';

  const limiter = (name: string, limit: RateLimit): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({
      keyPrefix: `${prefix}:${name}`,
      points: limit.points,
      duration: limit.windowSeconds,
    });
    if (!redis) return memory;
    const shared: RateLimiterStoreAbstract = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:${name}`,
      points: limit.points,
      duration: limit.windowSeconds,
      // Straight to the in-memory insurance while the connection is down, rather than queueing.
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
    return shared;
  };
  const limiters = {
    perIp: limiter('ip', config.perIp),
    perUser: limiter('user', config.perUser),
    authByIp: limiter('auth-ip', config.auth),
    authByEmail: limiter('auth-email', config.auth),
    inference: limiter('inference', config.inference),
  };

  /** Spends `points` of every budget given; refused when any one of them is spent. */
  async function spend(
    charges: Array<{ limiter: RateLimiterAbstract; key: string; points: number; limit: Refusal['limit'] }>,
  ): Promise<Refusal | null> {
    const results = await Promise.all(
      charges
        .filter((charge) => charge.points > 0)
        .map(async ({ limiter, key, points, limit }): Promise<Refusal | null> => {
          try {
            await limiter.consume(key, points);
            return null;
          } catch (rejection) {
            if (rejection instanceof RateLimiterRes) {
              return { limit, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
            }
            // Neither Redis nor the insurance limiter answered: let the request through, loudly.
            logger.error({ err: rejection, limit }, 'rate limiter failed; request allowed');
            return null;
          }
        }),
    );
    const refusals = results.filter((r): r is Refusal => r !== null);
    if (refusals.length === 0) return null;
    return refusals.reduce((a, b) => (b.retryAfterSeconds > a.retryAfterSeconds ? b : a));
  }

  return {
    request: (ip) => spend([{ limiter: limiters.perIp, key: ip, points: 1, limit: 'perIp' }]),
    operation: ({ ip, userId, fields }) => {
      const auth = fields.filter((f) => AUTH_FIELDS.has(f.name));
      const inference = fields.filter((f) => INFERENCE_FIELDS.has(f.name)).length;
      const emails = new Map<string, number>();
      for (const field of auth) {
        const email = field.name === 'login' ? loginEmail(field.args) : undefined;
        if (email) emails.set(email, (emails.get(email) ?? 0) + 1);
      }
      return spend([
        ...(userId ? [{ limiter: limiters.perUser, key: userId, points: 1, limit: 'perUser' as const }] : []),
        { limiter: limiters.authByIp, key: ip, points: auth.length, limit: 'auth' },
        ...[...emails].map(([email, points]) => ({
          limiter: limiters.authByEmail,
          key: email,
          points,
          limit: 'auth' as const,
        })),
        {
          limiter: limiters.inference,
          key: userId ? `user:${userId}` : `ip:${ip}`,
          points: inference,
          limit: 'inference',
        },
      ]);
    },
  };
}
