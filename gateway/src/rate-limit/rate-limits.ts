import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../../lib/logger.js';
import { argumentKey, type RateLimitedField, type StrictBudget } from '../supergraph-directives.js';
import { createBatchedLimiter } from './batched-limiter.js';
import type { RootFieldCall } from './root-fields.js';

/** A budget: `points` requests (or calls) per key within a fixed window. */
export type RateLimit = { points: number; windowSeconds: number };

export type RateLimitConfig = {
  /** HTTP requests per client IP; past it the whole request is refused with 429. */
  perIp: RateLimit;
  /** Operations per authenticated user (HTTP and WebSocket). */
  perUser: RateLimit;
  /**
   * Calls of the root fields declared `@rateLimit(budget: "auth")` (sign-in: brute force, token
   * stuffing) per client IP, and per value of their `per` argument (the email of a login).
   */
  auth: RateLimit;
  /** Calls of the root fields declared `@rateLimit(budget: "inference")` per user (anonymous callers per IP): they cost compute. */
  inference: RateLimit;
  /** Prefix of the counters' Redis keys: gateways sharing Redis and this prefix share their budgets. @default 'rl' */
  keyPrefix?: string;
};

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
  /** The root fields that spend a strict budget, as the served supergraph declares them (supergraph-directives.ts). */
  rateLimitedFields: () => ReadonlyMap<string, RateLimitedField>;
  /**
   * With Redis: the share of a budget a gateway may admit without Redis having counted it
   * (batched-limiter.ts: across N gateways a caller gets at most `points × (1 + N × share)`, rounded
   * down per gateway). The sign-in budgets are always counted in Redis first. @default 0.05
   */
  localShare?: number;
  /** With Redis: longest a locally admitted call waits before it is reported. @default 200 */
  reportMs?: number;
};

/** The budgets `createRateLimits` counts locally and reports in batches; the sign-in ones (auth) are strict. */
const BATCHED = new Set(['ip', 'user', 'inference', 'inference-arg']);

type Limiter = { consume(key: string, points: number): Promise<unknown> };

export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const { config, redis, logger, rateLimitedFields } = options;
  const prefix = config.keyPrefix ?? 'rl';

  const localShare = options.localShare ?? 0.05;
  const limiter = (name: string, limit: RateLimit): Limiter => {
    if (!redis) {
      return new RateLimiterMemory({
        keyPrefix: `${prefix}:${name}`,
        points: limit.points,
        duration: limit.windowSeconds,
      });
    }
    return createBatchedLimiter({
      redis,
      keyPrefix: `${prefix}:${name}`,
      points: limit.points,
      windowSeconds: limit.windowSeconds,
      slack: BATCHED.has(name) ? Math.floor(limit.points * localShare) : 0,
      flushMs: options.reportMs ?? 200,
      onError: (error) => logger.debug({ err: error, limit: name }, 'rate limit report failed'),
    });
  };
  const limiters = {
    perIp: limiter('ip', config.perIp),
    perUser: limiter('user', config.perUser),
    authByIp: limiter('auth-ip', config.auth),
    authByArgument: limiter('auth-arg', config.auth),
    inference: limiter('inference', config.inference),
    inferenceByArgument: limiter('inference-arg', config.inference),
  };

  /** Spends `points` of every budget given; refused when any one of them is spent. */
  async function spend(
    charges: Array<{ limiter: Limiter; key: string; points: number; limit: Refusal['limit'] }>,
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
      const declared = rateLimitedFields();
      const calls = { auth: 0, inference: 0 };
      const byArgument = { auth: new Map<string, number>(), inference: new Map<string, number>() };
      for (const field of fields) {
        const spends = declared.get(field.name);
        if (!spends) continue;
        calls[spends.budget]++;
        const key = spends.per && argumentKey(field.args, spends.per);
        if (key) byArgument[spends.budget].set(key, (byArgument[spends.budget].get(key) ?? 0) + 1);
      }
      const perArgument = (limiter: Limiter, budget: StrictBudget, counts: Map<string, number>) =>
        [...counts].map(([key, points]) => ({ limiter, key, points, limit: budget }));
      return spend([
        ...(userId ? [{ limiter: limiters.perUser, key: userId, points: 1, limit: 'perUser' as const }] : []),
        { limiter: limiters.authByIp, key: ip, points: calls.auth, limit: 'auth' },
        ...perArgument(limiters.authByArgument, 'auth', byArgument.auth),
        {
          limiter: limiters.inference,
          key: userId ? `user:${userId}` : `ip:${ip}`,
          points: calls.inference,
          limit: 'inference',
        },
        ...perArgument(limiters.inferenceByArgument, 'inference', byArgument.inference),
      ]);
    },
  };
}
