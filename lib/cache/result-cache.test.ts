import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/helpers/env.js';
import { createMemoryResultCache, createRedisResultCache, type ResultCache } from './result-cache.js';

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
    expect(await cache.get('k')).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
  });
});
