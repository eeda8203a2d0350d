import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/helpers/env.js';
import { until } from '../../test/helpers/wait.js';
import type { Identity } from './identity.js';
import {
  createMemoryRevocationFeed,
  createRedisRevocationFeed,
  roleChangeRevocation,
  sessionRevocation,
  watchRevocations,
  type RevocationFeed,
} from './revocations.js';

// One contract, both feeds; on Redis the publisher and the watcher are separate instances with
// their own connections, as the users service and a gateway are.

const TTL = 900;
const now = () => Math.floor(Date.now() / 1000);
const token = (overrides: Partial<Identity> = {}): Identity => ({
  userId: 'u1',
  role: 'USER',
  expiresAt: now() + TTL,
  issuedAt: now(),
  ...overrides,
});

let admin: Redis;
beforeAll(() => {
  admin = new Redis(testEnv.redisUrl);
});
afterAll(() => admin.quit());

const backends: { name: string; open(): { publisher: RevocationFeed; watcher: RevocationFeed; key: string } }[] = [
  {
    name: 'memory',
    open() {
      const feed = createMemoryRevocationFeed();
      return { publisher: feed, watcher: feed, key: '' };
    },
  },
  {
    name: 'redis',
    open() {
      const key = `test:revocations:${randomUUID()}`;
      return {
        publisher: createRedisRevocationFeed({ url: testEnv.redisUrl, key }),
        watcher: createRedisRevocationFeed({ url: testEnv.redisUrl, key }),
        key,
      };
    },
  },
];

describe.each(backends)('revocation feed: $name', (backend) => {
  let opened: ReturnType<(typeof backends)[number]['open']>;
  const closers: Array<() => void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await opened.publisher.close();
    await opened.watcher.close();
    if (opened.key) await admin.del(opened.key);
  });

  it('hands a watcher what was published before it started, and what is published after', async () => {
    opened = backend.open();
    const sessionId = randomUUID();
    await opened.publisher.publish(sessionRevocation(sessionId, TTL));
    const revocations = await watchRevocations(opened.watcher);
    closers.push(() => revocations.close());
    expect(revocations.isRevoked(token({ sessionId }))).toBe(true);

    const later = randomUUID();
    let notified = 0;
    revocations.onRevoked(() => notified++);
    await opened.publisher.publish(sessionRevocation(later, TTL));
    await until(() => revocations.isRevoked(token({ sessionId: later })), 'the later revocation');
    expect(notified).toBe(1);
    expect(revocations.isRevoked(token({ sessionId: randomUUID() }))).toBe(false);
    // A token without a session id (issued before sessions were named) is not covered.
    expect(revocations.isRevoked(token())).toBe(false);
  });

  it('forgets what no access token can outlive any more', async () => {
    opened = backend.open();
    const past = randomUUID();
    await opened.publisher.publish({ kind: 'session', sessionId: past, until: now() - 1 });
    const current = randomUUID();
    await opened.publisher.publish(sessionRevocation(current, TTL));
    const revocations = await watchRevocations(opened.watcher);
    closers.push(() => revocations.close());
    expect(revocations.isRevoked(token({ sessionId: current }))).toBe(true);
    expect(revocations.isRevoked(token({ sessionId: past }))).toBe(false);
    expect(revocations.size()).toBe(1);
  });

  it('after a role change, refuses the tokens issued before it that carry another role', async () => {
    opened = backend.open();
    const revocations = await watchRevocations(opened.watcher);
    closers.push(() => revocations.close());
    const userId = randomUUID();
    const change = roleChangeRevocation(userId, 'ADMIN', TTL);
    if (change.kind !== 'user') throw new Error('a role change revokes by user');
    await opened.publisher.publish(change);
    await until(() => revocations.size() === 1, 'the role change');
    const at = change.issuedBefore;
    expect(at).toBeGreaterThan(now());
    expect(revocations.isRevoked(token({ userId, role: 'USER', issuedAt: now() - 60 }))).toBe(true);
    // The old role, signed just after the change by a login that read the user before it.
    expect(revocations.isRevoked(token({ userId, role: 'USER', issuedAt: now() + 1 }))).toBe(true);
    expect(revocations.isRevoked(token({ userId, role: 'USER', issuedAt: at }))).toBe(true);
    // The new role is never refused; the old one only within the change's window; other users never.
    expect(revocations.isRevoked(token({ userId, role: 'ADMIN', issuedAt: now() - 60 }))).toBe(false);
    expect(revocations.isRevoked(token({ userId, role: 'USER', issuedAt: at + 1 }))).toBe(false);
    expect(revocations.isRevoked(token({ role: 'USER', issuedAt: now() - 60 }))).toBe(false);

    // Changed back: the latest change says which role is right.
    await opened.publisher.publish({ ...change, role: 'USER' });
    await until(
      () => !revocations.isRevoked(token({ userId, role: 'USER', issuedAt: now() - 60 })),
      'the second change',
    );
    expect(revocations.isRevoked(token({ userId, role: 'ADMIN', issuedAt: now() }))).toBe(true);
  });
});

describe('redis revocation feed', () => {
  it('a revocation made while a watcher’s connection is down reaches it once it reconnects', async () => {
    const key = `test:revocations:${randomUUID()}`;
    const connectionName = `test-${randomUUID()}`;
    const watcher = createRedisRevocationFeed({ url: testEnv.redisUrl, key, connectionName });
    try {
      const revocations = await watchRevocations(watcher);
      const line = String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .find((entry) => entry.split(' ').includes(`name=${connectionName}-reader`));
      const id = line?.match(/^id=(\d+) /)?.[1];
      expect(id).toBeDefined();
      // In one transaction: the entry is written after the reader is cut and before it can be back.
      const sessionId = randomUUID();
      const results = await admin
        .multi()
        .call('CLIENT', 'KILL', 'ID', id!)
        .xadd(key, '*', 'r', JSON.stringify(sessionRevocation(sessionId, TTL)))
        .exec();
      expect(results?.[0]).toEqual([null, 1]);
      await until(() => revocations.isRevoked(token({ sessionId })), 'the revocation after the reconnect');
      revocations.close();
    } finally {
      await watcher.close();
      await admin.del(key);
    }
  });

  it('a watcher that starts while Redis is unreachable starts anyway', async () => {
    const feed = createRedisRevocationFeed({ url: 'redis://127.0.0.1:1' });
    const revocations = await watchRevocations(feed);
    expect(revocations.size()).toBe(0);
    revocations.close();
    await feed.close();
  });

  it('skips an entry that is not a revocation', async () => {
    const key = `test:revocations:${randomUUID()}`;
    const publisher = createRedisRevocationFeed({ url: testEnv.redisUrl, key });
    const watcher = createRedisRevocationFeed({ url: testEnv.redisUrl, key });
    try {
      await admin.xadd(key, '*', 'r', '{"kind":"session"}');
      await admin.xadd(key, '*', 'r', 'not json');
      const sessionId = randomUUID();
      await publisher.publish(sessionRevocation(sessionId, TTL));
      const revocations = await watchRevocations(watcher);
      expect(revocations.size()).toBe(1);
      expect(revocations.isRevoked(token({ sessionId }))).toBe(true);
      revocations.close();
    } finally {
      await Promise.all([publisher.close(), watcher.close()]);
      await admin.del(key);
    }
  });
});
