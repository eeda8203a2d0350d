import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/helpers/env.js';
import { createMemoryResultCache, createRedisResultCache, type ResultCache } from './result-cache.js';

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

const options = { maxValueBytes: 1000, maxBytes: 2500 };
const caches: ResultCache[] = [];
afterAll(async () => {
  for (const cache of caches) await cache.close();
});

describe.each([
  ['memory', () => createMemoryResultCache(options)],
  [
    'redis',
    () =>
      createRedisResultCache({ ...options, url: testEnv.redisUrl, prefix: `test:${randomBytes(4).toString('hex')}:` }),
  ],
])('result cache (%s)', (_, create) => {
  const cache = create();
  caches.push(cache);

  it('returns what was set until it expires', async () => {
    await cache.set('a', 'value-a', 1);
    expect(await cache.get('a')).toBe('value-a');
    expect(cache.peek('a')).toBe('value-a');
    expect(await cache.get('missing')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await cache.get('a')).toBeUndefined();
  });

  it('does not keep values over the per-entry bound', async () => {
    await cache.set('big', 'x'.repeat(1001), 60);
    expect(await cache.get('big')).toBeUndefined();
  });
});

describe('in-process cache', () => {
  it('evicts the least recently used entries past its byte bound', async () => {
    const cache = createMemoryResultCache(options);
    await cache.set('one', '1'.repeat(1000), 60);
    await cache.set('two', '2'.repeat(1000), 60);
    await cache.get('one');
    await cache.set('three', '3'.repeat(1000), 60);
    expect(await cache.get('two')).toBeUndefined();
    expect(await cache.get('one')).toBeDefined();
    expect(await cache.get('three')).toBeDefined();
  });
});

describe('Redis cache with its in-process copy', () => {
  const prefix = `test:${randomBytes(4).toString('hex')}:`;
  const observer = new Redis(testEnv.redisUrl);
  afterAll(() => observer.disconnect());
  // Set again until it lands: a set while the connection is still opening is not written (no offline queue).
  const setUntilInRedis = (cache: ResultCache, key: string, value: string) =>
    until(async () => {
      await cache.set(key, value, 60);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return (await observer.get(`${prefix}${key}`)) === value;
    });

  it('answers what it set without Redis, and writes it to Redis for the other replicas', async () => {
    const writer = createRedisResultCache({ ...options, url: testEnv.redisUrl, prefix });
    const reader = createRedisResultCache({ ...options, url: testEnv.redisUrl, prefix });
    caches.push(writer, reader);
    await setUntilInRedis(writer, 'k', 'v');
    // Gone from Redis: the writer still answers from its copy, so it did not ask Redis.
    await observer.del(`${prefix}k`);
    expect(await writer.get('k')).toBe('v');
    expect(writer.peek('k')).toBe('v');
    expect(await reader.get('k')).toBeUndefined();
    // Another replica's result: not in this process (peek never asks Redis), found by get and kept,
    // so the next get or peek needs no Redis.
    await observer.set(`${prefix}j`, 'w', 'EX', 60);
    expect(reader.peek('j')).toBeUndefined();
    expect(await reader.get('j')).toBe('w');
    await observer.del(`${prefix}j`);
    expect(await reader.get('j')).toBe('w');
    expect(reader.peek('j')).toBe('w');
  });

  it('keeps a value not worth sharing in this process only, and measures the round trips of its lookups', async () => {
    const cache = createRedisResultCache({ ...options, url: testEnv.redisUrl, prefix });
    caches.push(cache);
    expect(cache.sharedRoundTripMs()).toBeUndefined();
    // A shared set lands first, so the local one below is not missing from Redis for want of a connection.
    await setUntilInRedis(cache, 'shared', 'v');
    await cache.set('local', 'l', 60, { share: false });
    expect(cache.peek('local')).toBe('l');
    expect(await cache.get('local')).toBe('l');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await observer.get(`${prefix}local`)).toBeNull();
    // A lookup that went to Redis (a miss) is timed.
    expect(await cache.get('absent')).toBeUndefined();
    expect(cache.sharedRoundTripMs()).toBeGreaterThan(0);
  });
});

describe('Redis cache without Redis', () => {
  it('degrades to misses instead of failing', async () => {
    const errors: unknown[] = [];
    const cache = createRedisResultCache({
      ...options,
      url: 'redis://127.0.0.1:1',
      prefix: 'x:',
      onError: (e) => errors.push(e),
    });
    caches.push(cache);
    await cache.set('k', 'v', 60);
    // What this process set is still answered from its own copy; anything else is a miss.
    expect(await cache.get('k')).toBe('v');
    expect(await cache.get('other')).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
  });
});
