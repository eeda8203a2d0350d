import { newRedis } from './redis-client.js';
import { inSpan, SpanKind } from '../telemetry/tracing.js';
import { redisConnectionOptions } from '../tls/redis.js';

/**
 * Recent results, keyed by a hash of what produced them. A cache only: a miss, an outage or an
 * eviction costs a recomputation, never a wrong answer, so every failure degrades to a miss.
 */
export interface ResultCache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  /**
   * What this process holds for `key`, with no round trip: the whole cache in memory; Redis's
   * local copy of what this process computed or fetched lately.
   */
  peek(key: string): string | undefined;
  /**
   * Values larger than the cache's per-entry bound are not kept. `share: false` keeps it in this
   * process only (Redis: not written there, where no other replica would be faster for it).
   */
  set(key: string, value: string, ttlSeconds: number, options?: { share?: boolean }): Promise<void>;
  /**
   * How long asking the shared store has taken lately (a moving average of the lookups that went
   * to Redis), ms; undefined before the first and for the in-process cache.
   */
  sharedRoundTripMs(): number | undefined;
  close(): Promise<void>;
}

export type ResultCacheOptions = {
  /** Largest value kept, bytes. */
  maxValueBytes: number;
  /** In-process only: total bytes kept (values), least recently used evicted first. */
  maxBytes: number;
  onError?: (error: unknown) => void;
};

export function createMemoryResultCache(options: ResultCacheOptions): ResultCache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  let bytes = 0;
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    bytes -= entry.value.length;
    entries.delete(key);
  };
  const peek = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      remove(key);
      return undefined;
    }
    // Re-insert: Map order is the LRU order.
    entries.delete(key);
    entries.set(key, entry);
    return entry.value;
  };
  return {
    kind: 'memory',
    async get(key) {
      return peek(key);
    },
    peek,
    sharedRoundTripMs: () => undefined,
    async set(key, value, ttlSeconds) {
      if (value.length > options.maxValueBytes) return;
      remove(key);
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
      bytes += value.length;
      for (const oldest of entries.keys()) {
        if (bytes <= options.maxBytes) break;
        remove(oldest);
      }
    },
    async close() {
      entries.clear();
      bytes = 0;
    },
  };
}

// Client spans of the cache's Redis commands (while tracing is on), without keys or values.
const REDIS_GET = { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', 'db.operation.name': 'GET' } };
const REDIS_SET = { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', 'db.operation.name': 'SET' } };

// A value found in Redis (written by another replica) is kept here this long: it cannot go stale
// (a key names the model file and the inputs), this only bounds how long it takes memory.
const LOCAL_COPY_SECONDS = 60;

/**
 * Redis, shared by the replicas, behind an in-process copy (`maxBytes`, least recently used out)
 * that answers without a round trip what this process computed or fetched lately. A set is kept
 * here at once and written to Redis without waiting for it: the caller answers first.
 */
export function createRedisResultCache(
  options: ResultCacheOptions & { url: string; caFile?: string | undefined; prefix: string },
): ResultCache {
  // Fail fast while Redis is away: a prediction must not wait on its cache.
  const redis = newRedis(options.url, {
    ...redisConnectionOptions(options.url, options.caFile),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
  redis.on('error', (error) => options.onError?.(error));
  const local = createMemoryResultCache(options);
  const key = (k: string) => `${options.prefix}${k}`;
  let roundTripMs: number | undefined;
  return {
    kind: 'redis',
    peek: (k) => local.peek(k),
    sharedRoundTripMs: () => roundTripMs,
    async get(k) {
      const kept = local.peek(k);
      if (kept !== undefined) return kept;
      try {
        const asked = performance.now();
        const value = (await inSpan('GET', REDIS_GET, () => redis.get(key(k)))) ?? undefined;
        roundTripMs = movingAverage(roundTripMs, performance.now() - asked);
        if (value !== undefined) await local.set(k, value, LOCAL_COPY_SECONDS);
        return value;
      } catch (error) {
        options.onError?.(error);
        return undefined;
      }
    },
    async set(k, value, ttlSeconds, setOptions) {
      if (Buffer.byteLength(value) > options.maxValueBytes) return;
      await local.set(k, value, ttlSeconds);
      if (setOptions?.share === false) return;
      inSpan('SET', REDIS_SET, () => redis.set(key(k), value, 'EX', ttlSeconds)).catch((error: unknown) =>
        options.onError?.(error),
      );
    },
    async close() {
      await local.close();
      // QUIT after the writes already queued, so the last results reach Redis.
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** An exponentially weighted moving average (weight 1/5 to the newest sample); the first sample starts it. */
export function movingAverage(average: number | undefined, sample: number): number {
  return average === undefined ? sample : average + (sample - average) / 5;
}

export function createResultCache(
  options: ResultCacheOptions & { redisUrl?: string | undefined; redisCaFile?: string | undefined; prefix: string },
): ResultCache {
  return options.redisUrl
    ? createRedisResultCache({ ...options, url: options.redisUrl, caFile: options.redisCaFile })
    : createMemoryResultCache(options);
}
