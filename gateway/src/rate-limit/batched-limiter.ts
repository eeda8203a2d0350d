import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * A fixed-window budget counted in Redis, shared by every gateway using the same Redis and key,
 * without a Redis round trip per request: each gateway counts in its own memory and reports what
 * it admitted to Redis in batches, learning the other gateways' counts from each report's answer.
 *
 * Per key, a gateway holds the window's total as Redis last reported it (`shared`) and what it
 * admitted since and has not seen counted yet (`unreported`: points not sent, and points sent
 * whose answer has not come). A call is:
 * - refused locally when `shared + unreported + points > limit` (nothing sent);
 * - admitted locally when `unreported + points <= slack` (the report follows within
 *   `flushMs`, or at once when the key is near its limit);
 * - otherwise (the key's first call in a window on this gateway, or `slack` points unreported)
 *   decided by Redis, as a limiter without batching does: the points are added there and the
 *   call is refused when the total passes the limit.
 *
 * **Bound**: at most `slack` points of a key are admitted on a gateway without Redis having
 * counted them, so across N gateways sharing a budget a caller gets at most `limit + N × slack`
 * points in a window (one gateway: exactly `limit`, its own count being complete). `slack` 0 is a
 * round trip per call, as strict budgets (sign-in) want.
 *
 * While Redis cannot answer, each gateway counts in its own memory instead (the insurance
 * limiter), as before: limits stay on, per replica.
 */
export type BatchedLimiterOptions = {
  redis: Redis;
  /** Redis key of a caller: `${keyPrefix}:${key}` (the key rate-limiter-flexible used, so both count alike). */
  keyPrefix: string;
  points: number;
  windowSeconds: number;
  /** Points a gateway may admit for one key without Redis having counted them. */
  slack: number;
  /** Longest a locally admitted point waits before being reported. */
  flushMs: number;
  onError?: (error: unknown) => void;
};

export type BatchedLimiter = {
  /** Resolves when admitted; rejects with a RateLimiterRes (its msBeforeNext says when to retry) when refused. */
  consume(key: string, points: number): Promise<void>;
  /** Sends what is unreported now. */
  flush(): void;
};

type KeyState = {
  /** The window's total in Redis, from its latest answer. */
  shared: number;
  /** Admitted here, not sent yet. */
  pending: number;
  /** Sent, answer not in yet. */
  inFlight: number;
  /** When the window ends (ms since the epoch), from Redis's PTTL. */
  resetAt: number;
};

// One script: create the window's counter with its expiry if absent, add, read the total and what is left of the window.
const CONSUME_SCRIPT = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local total = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2]) * 1000
end
return {total, ttl}`;

type ConsumingRedis = Redis & {
  rateLimitConsume(key: string, points: number, windowSeconds: number): Promise<[number, number]>;
};

function withConsumeCommand(redis: Redis): ConsumingRedis {
  const consuming = redis as ConsumingRedis;
  if (typeof consuming.rateLimitConsume !== 'function') {
    redis.defineCommand('rateLimitConsume', { numberOfKeys: 1, lua: CONSUME_SCRIPT });
  }
  return consuming;
}

const refusal = (msBeforeNext: number, consumed: number) =>
  new RateLimiterRes(0, Math.max(1, msBeforeNext), consumed, false);

// Keys whose window ended and that hold nothing unreported are dropped this often.
const PRUNE_MS = 10_000;

export function createBatchedLimiter(options: BatchedLimiterOptions): BatchedLimiter {
  const { keyPrefix, points: limit, windowSeconds, slack, flushMs } = options;
  const redis = withConsumeCommand(options.redis);
  const insurance = new RateLimiterMemory({ keyPrefix, points: limit, duration: windowSeconds });
  const keys = new Map<string, KeyState>();
  const dirty = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let prunedAt = Date.now();

  const redisKey = (key: string) => `${keyPrefix}:${key}`;

  /** Adds `points` in Redis and takes its answer as the key's new shared total. */
  async function report(key: string, state: KeyState, points: number): Promise<number> {
    state.inFlight += points;
    try {
      const [total, ttl] = await redis.rateLimitConsume(redisKey(key), points, windowSeconds);
      // Answers on one connection come in order: the latest is the newest total.
      state.shared = total;
      state.resetAt = Date.now() + ttl;
      return total;
    } finally {
      state.inFlight -= points;
    }
  }

  function sendPending(key: string): void {
    const state = keys.get(key);
    dirty.delete(key);
    if (!state || state.pending === 0) return;
    const points = state.pending;
    state.pending = 0;
    // Lost on failure: Redis undercounts this gateway by at most `slack`, the bound above.
    report(key, state, points).catch((error: unknown) => options.onError?.(error));
  }

  function flush(): void {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    for (const key of [...dirty]) sendPending(key);
    const now = Date.now();
    if (now - prunedAt >= PRUNE_MS) {
      prunedAt = now;
      for (const [key, state] of keys) {
        if (state.resetAt <= now && state.pending === 0 && state.inFlight === 0) keys.delete(key);
      }
    }
  }

  async function consume(key: string, points: number): Promise<void> {
    if (redis.status !== 'ready') {
      await insurance.consume(key, points);
      return;
    }
    const now = Date.now();
    let state = keys.get(key);
    if (state && state.resetAt <= now && state.pending === 0 && state.inFlight === 0) {
      keys.delete(key);
      state = undefined;
    }
    if (state) {
      const unreported = state.pending + state.inFlight;
      if (state.shared + unreported + points > limit) {
        throw refusal(state.resetAt - now, state.shared + unreported);
      }
      if (unreported + points <= slack) {
        state.pending += points;
        dirty.add(key);
        // Near the limit, the other gateways should see it now rather than after flushMs.
        if (state.shared + state.pending + state.inFlight + slack >= limit) sendPending(key);
        else flushTimer ??= setTimeout(flush, flushMs).unref();
        return;
      }
    } else {
      state = { shared: 0, pending: 0, inFlight: 0, resetAt: now + windowSeconds * 1000 };
      keys.set(key, state);
    }
    // Decided by Redis: this call's points, with what is pending of the key.
    const pending = state.pending;
    state.pending = 0;
    dirty.delete(key);
    let total: number;
    try {
      total = await report(key, state, pending + points);
    } catch {
      // Redis failed this command: the insurance limiter decides, as while Redis is down.
      await insurance.consume(key, points);
      return;
    }
    if (total > limit) throw refusal(state.resetAt - Date.now(), total);
  }

  return { consume, flush };
}
