import type { PersistedQueryOptions } from '@apollo/server';
import type { Redis } from 'ioredis';

/** Apollo Server's KeyValueCache for persisted queries. */
export type DocumentCache = NonNullable<PersistedQueryOptions['cache']>;

/**
 * A bounded in-process cache (least recently used goes first), with per-entry TTL: the APQ cache
 * of a gateway without Redis, and the fallback of one whose Redis is down.
 */
export function createMemoryDocumentCache(maxEntries = 10_000): DocumentCache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= Date.now()) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    async set(key, value, options) {
      entries.delete(key);
      const ttl = options?.ttl;
      entries.set(key, { value, expiresAt: ttl ? Date.now() + ttl * 1000 : Infinity });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}

/**
 * The APQ cache over ioredis, shared by every gateway (keys `<keyPrefix>apq:<sha256>`; Apollo Server
 * adds the `apq:`). Each entry goes to the in-process fallback too, which answers while Redis does
 * not: a client then gets PERSISTED_QUERY_NOT_FOUND at worst and sends the document, as APQ expects.
 */
export function createRedisDocumentCache(redis: Redis, fallback: DocumentCache, keyPrefix = ''): DocumentCache {
  return {
    async get(key) {
      try {
        return (await redis.get(keyPrefix + key)) ?? (await fallback.get(key));
      } catch {
        return fallback.get(key);
      }
    },
    async set(key, value, options) {
      await fallback.set(key, value, options);
      try {
        if (options?.ttl) await redis.set(keyPrefix + key, value, 'EX', Math.ceil(options.ttl));
        else await redis.set(keyPrefix + key, value);
      } catch {
        // Kept in the fallback only.
      }
    },
    async delete(key) {
      await fallback.delete(key);
      await redis.del(keyPrefix + key).catch(() => undefined);
    },
  };
}
