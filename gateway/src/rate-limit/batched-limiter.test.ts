import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../test/helpers/env.js';
import { createBatchedLimiter, type BatchedLimiterOptions } from './batched-limiter.js';

// Two connections: two gateways sharing one Redis, as replicas do.
let a: Redis;
let b: Redis;
let observer: Redis;
beforeAll(async () => {
  a = new Redis(testEnv.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  b = new Redis(testEnv.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  observer = new Redis(testEnv.redisUrl);
  await Promise.all([a.connect(), b.connect()]);
});
afterAll(() => {
  for (const redis of [a, b, observer]) redis.disconnect();
});

const settings = (keyPrefix: string): Omit<BatchedLimiterOptions, 'redis'> => ({
  keyPrefix,
  points: 100,
  windowSeconds: 60,
  slack: 5,
  // Reports only when asked (flush()) or near the limit, so the test sees what each step sends.
  flushMs: 60_000,
});

/** Calls until the first refusal; returns how many were admitted. */
async function admittedUntilRefused(consume: () => Promise<void>, most: number): Promise<number> {
  for (let admitted = 0; admitted < most; admitted++) {
    try {
      await consume();
    } catch {
      return admitted;
    }
  }
  return most;
}

const counted = async (key: string) => Number((await observer.get(key)) ?? 0);
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('batched rate limiter', () => {
  it('admits calls without Redis until its slack is spent, then reports them', async () => {
    const prefix = `test-${randomUUID()}:ip`;
    const limiter = createBatchedLimiter({ redis: a, ...settings(prefix) });
    // The key's first call in the window is counted in Redis before it is admitted.
    await limiter.consume('k', 1);
    expect(await counted(`${prefix}:k`)).toBe(1);
    // The next `slack` calls are admitted here alone.
    for (let i = 0; i < 5; i++) await limiter.consume('k', 1);
    expect(await counted(`${prefix}:k`)).toBe(1);
    // One more: Redis counts it with the five before it.
    await limiter.consume('k', 1);
    expect(await counted(`${prefix}:k`)).toBe(7);
    // Flushed: what was admitted locally reaches Redis.
    await limiter.consume('k', 1);
    limiter.flush();
    await until(async () => (await counted(`${prefix}:k`)) === 8);
  });

  it('one gateway admits exactly the limit', async () => {
    const limiter = createBatchedLimiter({ redis: a, ...settings(`test-${randomUUID()}:ip`) });
    expect(await admittedUntilRefused(() => limiter.consume('k', 1), 500)).toBe(100);
    // Refused calls keep being refused, with when to retry.
    await expect(limiter.consume('k', 1)).rejects.toMatchObject({ msBeforeNext: expect.any(Number) });
  });

  it('two gateways together admit at most limit + 2 × slack, alternating or one after the other', async () => {
    const alternating = settings(`test-${randomUUID()}:ip`);
    const first = createBatchedLimiter({ redis: a, ...alternating });
    const second = createBatchedLimiter({ redis: b, ...alternating });
    // A caller keeps asking both, turn by turn, long past the limit.
    let admitted = 0;
    for (let i = 0; i < 500; i++) {
      await (i % 2 === 0 ? first : second).consume('k', 1).then(
        () => admitted++,
        () => undefined,
      );
    }
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(100 + 2 * 5);

    const sequential = settings(`test-${randomUUID()}:ip`);
    const one = createBatchedLimiter({ redis: a, ...sequential });
    const other = createBatchedLimiter({ redis: b, ...sequential });
    const onOne = await admittedUntilRefused(() => one.consume('k', 1), 500);
    const onOther = await admittedUntilRefused(() => other.consume('k', 1), 500);
    expect(onOne).toBe(100);
    // The first gateway reported what it admitted on reaching the limit: nothing is left for the second.
    expect(onOther).toBe(0);
  });

  it('with no slack every call is counted in Redis first (the sign-in budgets)', async () => {
    const strict = { ...settings(`test-${randomUUID()}:auth`), points: 3, slack: 0 };
    const first = createBatchedLimiter({ redis: a, ...strict });
    const second = createBatchedLimiter({ redis: b, ...strict });
    await first.consume('k', 1);
    await second.consume('k', 1);
    await first.consume('k', 1);
    expect(await counted(`${strict.keyPrefix}:k`)).toBe(3);
    await expect(second.consume('k', 1)).rejects.toBeDefined();
    await expect(first.consume('k', 1)).rejects.toBeDefined();
  });

  it('counts in memory while Redis cannot be reached', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    try {
      const limiter = createBatchedLimiter({ redis: down, ...settings(`test-${randomUUID()}:ip`), points: 3 });
      expect(await admittedUntilRefused(() => limiter.consume('k', 1), 10)).toBe(3);
    } finally {
      down.disconnect();
    }
  });
});
