import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/helpers/env.js';
import { createMemoryPubSub, createPubSub, PubSubClosedError, type PubSub, type Subscription } from './index.js';
import { createRedisPubSub } from './redis.js';

// One contract, both backends: no mocks, a real Redis. On Redis the publisher and the subscriber
// are separate instances, with their own connections, as two processes would be.

type Opened = {
  publisher: PubSub;
  subscriber: PubSub;
  /** Subscribers the server knows for a channel (Redis), or null (memory: nothing outside the process). */
  serverSubscribers(channel: string): Promise<number | null>;
  close(): Promise<void>;
};

let admin: Redis;

beforeAll(() => {
  admin = new Redis(testEnv.redisUrl);
});

afterAll(async () => {
  await admin.quit();
});

const numsub = async (channel: string): Promise<number> => {
  const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
};

const backends: { name: string; open(): Promise<Opened> }[] = [
  {
    name: 'memory',
    async open() {
      // Through the factory: with no Redis URL it must pick the in-process backend.
      const pubsub = await createPubSub({ redisUrl: undefined });
      expect(pubsub.kind).toBe('memory');
      return {
        publisher: pubsub,
        subscriber: pubsub,
        serverSubscribers: async () => null,
        close: () => pubsub.close(),
      };
    },
  },
  {
    name: 'redis',
    async open() {
      const publisher = await createPubSub({ redisUrl: testEnv.redisUrl });
      const subscriber = await createRedisPubSub({ url: testEnv.redisUrl });
      expect(publisher.kind).toBe('redis');
      return {
        publisher,
        subscriber,
        serverSubscribers: numsub,
        async close() {
          await Promise.all([publisher.close(), subscriber.close()]);
        },
      };
    },
  },
];

/** The next message, or a failure once `ms` passed: a lost message fails the test instead of hanging it. */
async function nextWithin<T>(subscription: Subscription<T>, ms = 2_000): Promise<IteratorResult<T, undefined>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no message on ${subscription.channel} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([subscription.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function nextValue<T>(subscription: Subscription<T>): Promise<T> {
  const result = await nextWithin(subscription);
  if (result.done) throw new Error(`${subscription.channel} ended`);
  return result.value;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe.each(backends)('pub/sub contract: $name', (backend) => {
  let opened: Opened;
  let publisher: PubSub;
  let subscriber: PubSub;
  const channel = (name: string): string => `test:${randomUUID()}:${name}`;

  beforeEach(async () => {
    opened = await backend.open();
    ({ publisher, subscriber } = opened);
  });

  afterEach(async () => {
    await opened.close();
  });

  it('delivers what is published after subscribe resolved, as JSON', async () => {
    const ch = channel('progress');
    const sub = await subscriber.subscribe<Record<string, unknown>>(ch);
    const at = new Date('2024-05-01T12:00:00Z');
    await publisher.publish(ch, { id: 'p1', itemsDone: 3, nested: { list: [1, 'two', null] }, at, skipped: undefined });
    expect(await nextValue(sub)).toEqual({
      id: 'p1',
      itemsDone: 3,
      nested: { list: [1, 'two', null] },
      at: at.toISOString(),
    });
    await publisher.publish(ch, 'plain');
    await publisher.publish(ch, 42);
    expect([await nextValue(sub), await nextValue(sub)]).toEqual(['plain', 42]);
    sub.close();
  });

  it('gives every message, in order, to every local subscriber of a channel', async () => {
    const ch = channel('fan');
    const subs = await Promise.all([1, 2, 3].map(() => subscriber.subscribe<number>(ch)));
    expect(subscriber.stats()).toMatchObject({ channels: 1, subscribers: 3 });
    if (backend.name === 'redis') expect(await opened.serverSubscribers(ch)).toBe(1);
    for (let i = 0; i < 20; i++) await publisher.publish(ch, i);
    for (const sub of subs) {
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) seen.push(await nextValue(sub));
      expect(seen).toEqual([...Array(20).keys()]);
    }
    for (const sub of subs) sub.close();
  });

  it('never hands a message of one channel to the subscribers of another', async () => {
    const a = channel('a');
    const b = channel('b');
    const subA = await subscriber.subscribe(a);
    const subB = await subscriber.subscribe(b);
    await publisher.publish(a, 'for A');
    await publisher.publish(b, 'for B');
    // Messages of one connection arrive in publish order: B's first message is its own.
    expect(await nextValue(subB)).toBe('for B');
    expect(await nextValue(subA)).toBe('for A');
    // Neither got anything else: the marker is the next message of each.
    await publisher.publish(a, 'marker A');
    await publisher.publish(b, 'marker B');
    expect(await nextValue(subA)).toBe('marker A');
    expect(await nextValue(subB)).toBe('marker B');
    subA.close();
    subB.close();
  });

  it('unsubscribes when a for-await loop ends', async () => {
    const ch = channel('loop');
    const sub = await subscriber.subscribe<number>(ch);
    const reading = (async () => {
      const seen: number[] = [];
      for await (const n of sub) {
        seen.push(n);
        if (n === 2) break;
      }
      return seen;
    })();
    for (const n of [1, 2]) await publisher.publish(ch, n);
    expect(await reading).toEqual([1, 2]);
    expect(sub.closed).toBe(true);
    expect(subscriber.stats()).toEqual({ channels: 0, subscribers: 0, waitingReads: 0 });
    await until(async () => (await opened.serverSubscribers(ch)) !== 1, 'the UNSUBSCRIBE');
  });

  it('drops the oldest messages of a subscriber that falls behind, and counts them', async () => {
    const ch = channel('slow');
    const slow = await subscriber.subscribe<number>(ch, { bufferSize: 3 });
    const fast = await subscriber.subscribe<number>(ch);
    for (let i = 0; i < 10; i++) await publisher.publish(ch, i);
    // The fast reader has seen all of them once the slow one has dropped 7.
    for (let i = 0; i < 10; i++) expect(await nextValue(fast)).toBe(i);
    expect(slow.dropped).toBe(7);
    expect([await nextValue(slow), await nextValue(slow), await nextValue(slow)]).toEqual([7, 8, 9]);
    // Still subscribed after overflowing.
    await publisher.publish(ch, 10);
    expect(await nextValue(slow)).toBe(10);
    expect(fast.dropped).toBe(0);
    slow.close();
    fast.close();
  });

  it('serves concurrent reads in order, and ends them on close()', async () => {
    const ch = channel('reads');
    const sub = await subscriber.subscribe<string>(ch);
    const reads = [sub.next(), sub.next(), sub.next()];
    expect(subscriber.stats().waitingReads).toBe(3);
    await publisher.publish(ch, 'first');
    await publisher.publish(ch, 'second');
    expect((await reads[0])?.value).toBe('first');
    expect((await reads[1])?.value).toBe('second');
    sub.close();
    expect(await reads[2]).toEqual({ done: true, value: undefined });
    expect(await sub.next()).toEqual({ done: true, value: undefined });
    expect(subscriber.stats()).toEqual({ channels: 0, subscribers: 0, waitingReads: 0 });
  });

  it('ends a subscription when its signal aborts', async () => {
    const ch = channel('abort');
    const controller = new AbortController();
    const sub = await subscriber.subscribe(ch, { signal: controller.signal });
    const pending = sub.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(subscriber.stats().subscribers).toBe(0);
    await expect(subscriber.subscribe(ch, { signal: controller.signal })).rejects.toThrow();
    expect(subscriber.stats().subscribers).toBe(0);
  });

  it('refuses messages without a JSON form and invalid buffer sizes', async () => {
    await expect(publisher.publish(channel('x'), undefined)).rejects.toThrow(TypeError);
    await expect(publisher.publish(channel('x'), () => 1)).rejects.toThrow(TypeError);
    await expect(publisher.publish(channel('x'), 1n)).rejects.toThrow(TypeError);
    await expect(subscriber.subscribe(channel('x'), { bufferSize: 0 })).rejects.toThrow(RangeError);
    expect(subscriber.stats().channels).toBe(0);
  });

  it('leaks nothing over 1,000 subscribe/unsubscribe cycles', async () => {
    const ch = channel('cycles');
    const other = channel('other');
    const controller = new AbortController();
    const timersBefore = activeTimers();
    for (let i = 0; i < 1_000; i++) {
      // Alternate the channel and the way the subscription ends; leave a read waiting in each.
      const sub = await subscriber.subscribe(i % 3 === 0 ? other : ch, { signal: controller.signal });
      const pending = sub.next();
      if (i % 2 === 0) sub.close();
      else await sub.return();
      await pending;
    }
    // Two subscribers that overlap, so the count goes 0 → 1 → 2 → 1 → 0.
    const [first, second] = await Promise.all([subscriber.subscribe(ch), subscriber.subscribe(ch)]);
    first?.close();
    second?.close();

    expect(subscriber.stats()).toEqual({ channels: 0, subscribers: 0, waitingReads: 0 });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // UNSUBSCRIBE is sent without waiting; the server catches up right after.
    await until(async () => ((await opened.serverSubscribers(ch)) ?? 0) === 0, 'the channel to be unsubscribed');
    expect(await opened.serverSubscribers(other)).toBe(backend.name === 'redis' ? 0 : null);
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);

    // And the channel still works after all that.
    const sub = await subscriber.subscribe(ch);
    await publisher.publish(ch, 'still here');
    expect(await nextValue(sub)).toBe('still here');
    sub.close();
  });

  it('ends every subscription on close() and refuses use afterwards', async () => {
    const ch = channel('closing');
    const sub = await subscriber.subscribe(ch);
    const pending = sub.next();
    await subscriber.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(sub.closed).toBe(true);
    await expect(subscriber.subscribe(ch)).rejects.toThrow(PubSubClosedError);
    if (subscriber === publisher) await expect(publisher.publish(ch, 1)).rejects.toThrow(PubSubClosedError);
    expect(subscriber.stats()).toEqual({ channels: 0, subscribers: 0, waitingReads: 0 });
    await subscriber.close();
  });
});

describe('redis pub/sub', () => {
  const channel = (name: string): string => `test:${randomUUID()}:${name}`;

  /** The server-side id of a connection, found by the unique name its instance was given. */
  async function clientId(name: string): Promise<string> {
    const line = String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .find((entry) => entry.split(' ').includes(`name=${name}`));
    const id = line?.match(/^id=(\d+) /)?.[1];
    if (!id) throw new Error(`no Redis client named ${name}`);
    return id;
  }

  it('restores every subscription after the subscriber connection is killed', async () => {
    const name = `test-${randomUUID()}`;
    const subscriber = await createRedisPubSub({ url: testEnv.redisUrl, connectionName: name });
    const publisher = await createRedisPubSub({ url: testEnv.redisUrl, connectionName: `${name}-pub` });
    try {
      const a = channel('a');
      const b = channel('b');
      const subA = await subscriber.subscribe<string>(a);
      const subA2 = await subscriber.subscribe<string>(a);
      const subB = await subscriber.subscribe<string>(b);

      const id = await clientId(`${name}-subscriber`);
      // Only this test's connection: other test files may use Redis at the same time.
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id)).toBe(1);
      await until(async () => (await numsub(a)) === 1 && (await numsub(b)) === 1, 're-subscription');
      expect(await clientId(`${name}-subscriber`)).not.toBe(id);

      await publisher.publish(a, 'after reconnect');
      await publisher.publish(b, 'after reconnect');
      // The same iterators carry on: nothing to do for the code reading them.
      expect(await nextValue(subA)).toBe('after reconnect');
      expect(await nextValue(subA2)).toBe('after reconnect');
      expect(await nextValue(subB)).toBe('after reconnect');
      expect(subscriber.stats()).toMatchObject({ channels: 2, subscribers: 3 });

      // The publisher's connection recovers too: the PUBLISH waits for the reconnect.
      await admin.call('CLIENT', 'KILL', 'ID', await clientId(`${name}-pub-publisher`));
      await publisher.publish(a, 'published after the kill');
      expect(await nextValue(subA)).toBe('published after the kill');
    } finally {
      await Promise.all([subscriber.close(), publisher.close()]);
    }
  });

  it('skips a message on the channel that is not JSON', async () => {
    const subscriber = await createRedisPubSub({ url: testEnv.redisUrl });
    try {
      const ch = channel('raw');
      const sub = await subscriber.subscribe(ch);
      await admin.publish(ch, 'not json {');
      await admin.publish(ch, '{"ok":true}');
      expect(await nextValue(sub)).toEqual({ ok: true });
    } finally {
      await subscriber.close();
    }
  });

  it('fails at startup when Redis cannot be reached', async () => {
    await expect(createRedisPubSub({ url: 'redis://127.0.0.1:1' })).rejects.toThrow();
  });
});

describe('memory pub/sub', () => {
  it('stays inside its instance', async () => {
    const one = createMemoryPubSub();
    const two = createMemoryPubSub();
    const ch = `test:${randomUUID()}`;
    const sub = await two.subscribe(ch);
    await one.publish(ch, 'from one');
    await two.publish(ch, 'from two');
    expect(await nextValue(sub)).toBe('from two');
    await Promise.all([one.close(), two.close()]);
  });
});
