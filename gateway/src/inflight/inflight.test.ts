import { describe, expect, it } from 'vitest';
import { createInflight } from './inflight.js';

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

describe('inflight', () => {
  it('runs concurrent calls with one key once, and every caller gets the answer', async () => {
    const inflight = createInflight<string>();
    const answer = deferred<string>();
    let starts = 0;
    const start = () => (starts++, answer.promise);
    const calls = [inflight.run('k', start), inflight.run('k', start), inflight.run('k', start)];
    expect(inflight.size()).toBe(1);
    answer.resolve('done');
    expect(await Promise.all(calls)).toEqual(['done', 'done', 'done']);
    expect(starts).toBe(1);
  });

  it('runs different keys separately', async () => {
    const inflight = createInflight<string>();
    let starts = 0;
    await Promise.all(['a', 'b'].map((key) => inflight.run(key, async () => (starts++, key))));
    expect(starts).toBe(2);
  });

  it('keeps nothing once a call settles: the next call runs again', async () => {
    const inflight = createInflight<number>();
    let starts = 0;
    await inflight.run('k', async () => ++starts);
    expect(inflight.size()).toBe(0);
    expect(await inflight.run('k', async () => ++starts)).toBe(2);
  });

  it('hands a failure to every sharer and does not keep it', async () => {
    const inflight = createInflight<string>();
    const answer = deferred<string>();
    const calls = [inflight.run('k', () => answer.promise), inflight.run('k', () => answer.promise)];
    answer.reject(new Error('boom'));
    for (const call of calls) await expect(call).rejects.toThrow('boom');
    expect(await inflight.run('k', async () => 'again')).toBe('again');
  });
});
