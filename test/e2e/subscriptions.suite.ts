import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IDENTITY_HEADER, signAnonymous, signIdentity } from '../../lib/auth/identity.js';
import { gql } from '../helpers/graphql.js';
import { until } from '../helpers/wait.js';
import { GENEROUS_RATE_LIMITS } from '../helpers/platform.js';
import { closeOf, codesOf, fromAddress, subscribe, tryUpgrade, wsClient, type Subscription } from '../helpers/ws.js';
import { defaultSubscriptionLimits } from '../../gateway/src/subscriptions/subscription-server.js';
import {
  signToken,
  TEST_SECRETS,
  startSubscriptionSubgraphs,
  type SubscriptionSubgraphs,
  type TestGateway,
} from '../helpers/subscription-subgraphs.js';

/**
 * The gateway's subscription behaviour over graphql-ws, run with the client sockets in the
 * gateway's process (`socketProcesses` 0) and held by socket owner processes (subscriptions.test.ts,
 * subscription-socket-owners.test.ts): every semantic must be the same either way.
 */
export function describeSubscriptions(socketProcesses: number): void {
  let subgraphs: SubscriptionSubgraphs;
  let t: TestGateway;
  beforeAll(async () => {
    subgraphs = await startSubscriptionSubgraphs({ socketProcesses });
    // Anonymous connections allowed here, to show what anonymous callers get; the default refuses them.
    t = await subgraphs.startGateway({ maxQueuedEvents: 8, allowAnonymous: true });
  });
  afterAll(() => subgraphs?.close());

  describe('federated subscriptions', () => {
    it('resolves fields of both subgraphs on every event, then completes', async () => {
      const client = t.client();
      const sub = subscribe(client, 'subscription { ticks(id: "a", count: 3) { id n label } }');
      expect(await sub.end).toEqual({ complete: true });
      expect(sub.events).toEqual([1, 2, 3].map((n) => ({ data: { ticks: { id: 'a', n, label: 'label-a' } } })));
      await client.dispose();
    });

    it('sends exactly the selected shape: aliases, fragments, __typename, variables', async () => {
      const client = t.client();
      const sub = subscribe(
        client,
        `subscription Tocks($id: ID!) {
          t: ticks(id: $id, count: 1) { __typename ...Parts ... on Tick { name: label } }
        }
        fragment Parts on Tick { num: n }`,
        { id: 'b' },
      );
      expect(await sub.end).toEqual({ complete: true });
      expect(sub.events).toEqual([{ data: { t: { __typename: 'Tick', num: 1, name: 'label-b' } } }]);
      expect(JSON.stringify(Object.keys(sub.events[0]!.data!.t as object))).toBe('["__typename","num","name"]');
      await client.dispose();
    });

    it('a failing entity fetch gives nulls where allowed, with the error in `errors`', async () => {
      const client = t.client();
      const sub = subscribe(client, 'subscription { ticks(id: "broken", count: 1) { id n note } }');
      expect(await sub.end).toEqual({ complete: true });
      expect(sub.events[0]?.data).toEqual({ ticks: { id: 'broken', n: 1, note: null } });
      expect(codesOf(sub.events[0])).toEqual(['NOT_FOUND']);
      await client.dispose();
    });

    it("a resolver's NOT_FOUND reaches the client with its code, at subscribe time or mid-stream", async () => {
      const client = t.client();
      const missing = subscribe(client, 'subscription { ticks(id: "missing", count: 2) { id label } }');
      expect(await missing.end).toEqual({ complete: true });
      expect(missing.events).toHaveLength(1);
      expect(missing.events[0]).toMatchObject({ data: null, errors: [{ message: 'Ticker not found' }] });
      expect(codesOf(missing.events[0])).toEqual(['NOT_FOUND']);

      const vanishing = subscribe(client, 'subscription { ticks(id: "vanishing", count: 3) { id n } }');
      expect(await vanishing.end).toEqual({ complete: true });
      expect(vanishing.events[0]).toEqual({ data: { ticks: { id: 'vanishing', n: 1 } } });
      expect(codesOf(vanishing.events[1])).toEqual(['NOT_FOUND']);
      await client.dispose();
    });

    it('a validation error leaves the connection usable for a valid subscription', async () => {
      let connections = 0;
      const client = t.client({ on: { connected: () => void connections++ }, lazy: false });
      const invalid = subscribe(client, 'subscription { ticks(id: "c", count: 1) { id secret } }');
      const outcome = await invalid.end;
      expect((outcome as { error: Array<{ extensions: { code: string } }> }).error[0]?.extensions.code).toBe(
        'GRAPHQL_VALIDATION_FAILED',
      );
      const badVariables = subscribe(client, 'subscription ($n: Int!) { ticks(id: "c", count: $n) { id } }', {
        n: 'many',
      });
      expect((await badVariables.end) as unknown).toMatchObject({
        error: [{ extensions: { code: 'BAD_USER_INPUT' } }],
      });
      const valid = subscribe(client, 'subscription { ticks(id: "c", count: 1) { id label } }');
      expect(await valid.end).toEqual({ complete: true });
      expect(valid.events).toEqual([{ data: { ticks: { id: 'c', label: 'label-c' } } }]);
      expect(connections).toBe(1);
      await client.dispose();
    });

    it('serves queries over the socket too, as HTTP does', async () => {
      const client = t.client();
      const query = subscribe(client, '{ ping }');
      expect(await query.end).toEqual({ complete: true });
      expect(query.events).toEqual([{ data: { ping: true } }]);
      await client.dispose();
    });
  });

  describe('authentication', () => {
    it('forwards the caller to the subscription and to entity fetches', async () => {
      const client = t.client({ token: signToken('user-1') });
      const sub = subscribe(client, 'subscription { myTicks(count: 2) { id n seenBy } }');
      expect(await sub.end).toEqual({ complete: true });
      expect(sub.events).toEqual([1, 2].map((n) => ({ data: { myTicks: { id: 'user-1', n, seenBy: 'user-1' } } })));
      await client.dispose();
    });

    it('by default, a connection without a token is closed with 4401', async () => {
      const strict = await subgraphs.startGateway();
      const client = strict.client();
      const sub = subscribe(client, 'subscription { ticks(id: "z", count: 1) { id } }');
      expect(closeOf(await sub.end).code).toBe(4401);
      expect(sub.events).toEqual([]);
      await client.dispose();
    });

    it('where anonymous connections are allowed, what needs a caller fails with UNAUTHENTICATED', async () => {
      const client = t.client();
      const sub = subscribe(client, 'subscription { myTicks(count: 1) { id } }');
      expect(await sub.end).toEqual({ complete: true });
      expect(codesOf(sub.events[0])).toEqual(['UNAUTHENTICATED']);
      const open = subscribe(client, 'subscription { ticks(id: "d", count: 1) { id seenBy } }');
      expect(await open.end).toEqual({ complete: true });
      expect(open.events).toEqual([{ data: { ticks: { id: 'd', seenBy: null } } }]);
      await client.dispose();
    });

    it.each([
      ['an invalid token', { Authorization: 'Bearer not-a-token' }],
      ['an expired token', { authorization: `Bearer ${signToken('user-2', -10)}` }],
      ['another scheme', { AUTHORIZATION: 'Basic dXNlcjpwYXNz' }],
    ])('%s closes the connection with 4401', async (_, connectionParams) => {
      const client = t.client({ connectionParams });
      const sub = subscribe(client, 'subscription { ticks(id: "e", count: 1) { id } }');
      expect(closeOf(await sub.end).code).toBe(4401);
      expect(sub.events).toEqual([]);
      await client.dispose();
    });

    it('a subscription ends with its access token: the connection closes with 4401', async () => {
      // exp is whole seconds from iat (whole seconds too): a 1-second token may have 50 ms left when
      // signed, less than the set-up takes on a loaded machine. 3 seconds leave at least 2.
      const client = t.client({ token: signToken('user-3', 3) });
      const sub = subscribe(client, 'subscription { feed(topic: "expiry") { id n seenBy } }');
      await until(() => subgraphs.feed.listeners('expiry') === 1, 'the upstream subscription');
      subgraphs.feed.publish('expiry', { id: 'x', n: 1 });
      await until(() => sub.events.length === 1, 'the event');
      expect(sub.events[0]).toEqual({ data: { feed: { id: 'x', n: 1, seenBy: 'user-3' } } });
      expect(closeOf(await sub.end)).toEqual({ code: 4401, reason: 'Access token expired' });
      const metrics = await (await fetch(t.httpUrl.replace(/graphql$/, 'metrics'))).text();
      expect(metrics).toMatch(/graphql_subscription_drops_total\{reason="token_expired",service="gateway"\} [1-9]/);
      await until(() => subgraphs.feed.listeners('expiry') === 0, 'the upstream subscription to end');
      await client.dispose();
    });
  });

  describe('subgraph endpoint', () => {
    const subgraphClient = (connectionParams: Record<string, unknown>) =>
      wsClient(subgraphs.urls.ticks, { connectionParams, lazy: false });

    it('takes the caller from the signed identity, and refuses one it cannot verify (4403)', async () => {
      const identity = { userId: 'user-9', role: 'USER' as const, expiresAt: Date.now() / 1000 + 60 };
      const trusted = subgraphClient({ [IDENTITY_HEADER]: signIdentity(TEST_SECRETS.internal, identity) });
      const mine = subscribe(trusted, 'subscription { myTicks(count: 1) { id } }');
      expect(await mine.end).toEqual({ complete: true });
      expect(mine.events).toEqual([{ data: { myTicks: { id: 'user-9' } } }]);
      // Queries and mutations reach subgraphs over HTTP only.
      const query = subscribe(trusted, '{ ping }');
      expect(await query.end).toMatchObject({ error: [{ extensions: { code: 'BAD_USER_INPUT' } }] });

      const forged = subgraphClient({ [IDENTITY_HEADER]: signIdentity('f'.repeat(64), identity) });
      const refused = subscribe(forged, 'subscription { myTicks(count: 1) { id } }');
      expect(closeOf(await refused.end)).toEqual({ code: 4403, reason: 'Invalid identity' });
      // Without any identity the gateway was skipped: even anonymous callers come with its signed header.
      const direct = subgraphClient({});
      const skipped = subscribe(direct, 'subscription { ticks(id: "d", count: 1) { id } }');
      expect(closeOf(await skipped.end)).toEqual({ code: 4401, reason: 'Unauthorized' });
      const anonymous = subgraphClient({ [IDENTITY_HEADER]: signAnonymous(TEST_SECRETS.internal, identity.expiresAt) });
      const served = subscribe(anonymous, 'subscription { ticks(id: "d", count: 1) { id } }');
      expect(await served.end).toEqual({ complete: true });
      await Promise.all([trusted.dispose(), forged.dispose(), direct.dispose(), anonymous.dispose()]);
    });
  });

  describe('sharing and limits', () => {
    it('1,000 clients of one subscription share one upstream subscription, and all get every event', async () => {
      const query = 'subscription { feed(topic: "crowd") { id n label } }';
      const clients = Array.from({ length: 1000 }, () => t.client());
      const subs = clients.map((client) => subscribe(client, query));
      await until(() => t.gateway.subscriptionStats().subscriptions === 1000, '1,000 subscriptions');
      await until(() => subgraphs.feed.listeners('crowd') === 1, 'the upstream subscription');
      expect(t.gateway.subscriptionStats()).toEqual({
        connections: 1000,
        subscriptions: 1000,
        upstreamSubscriptions: 1,
        upstreamConnections: 1,
      });
      const metrics = await (await fetch(t.httpUrl.replace(/graphql$/, 'metrics'))).text();
      expect(metrics).toContain('graphql_subscriptions{side="upstream",service="gateway"} 1');

      for (const n of [1, 2, 3]) subgraphs.feed.publish('crowd', { id: 'crowd', n });
      await until(() => subs.every((sub) => sub.events.length === 3), 'every client to get every event');
      const expected = [1, 2, 3].map((n) => ({ data: { feed: { id: 'crowd', n, label: 'label-crowd' } } }));
      for (const sub of subs) expect(sub.events).toEqual(expected);
      // Each event is resolved once for all 1,000 subscribers: at most one lookup per event (fewer where
      // the gateway merges identical lookups that are in flight at the same time).
      expect(subgraphs.labelLookups('crowd')).toBeGreaterThanOrEqual(1);
      expect(subgraphs.labelLookups('crowd')).toBeLessThanOrEqual(3);

      subgraphs.feed.end('crowd');
      for (const outcome of await Promise.all(subs.map((sub) => sub.end))) expect(outcome).toEqual({ complete: true });
      await Promise.all(clients.map((client) => client.dispose()));
      await until(() => t.gateway.subscriptionStats().connections === 0, 'the connections to close');
      expect(t.gateway.subscriptionStats()).toEqual({
        connections: 0,
        subscriptions: 0,
        upstreamSubscriptions: 0,
        upstreamConnections: 0,
      });
    });

    it('caps subscriptions per connection and per gateway with RATE_LIMITED', async () => {
      const capped = await subgraphs.startGateway({ maxPerConnection: 2, maxTotal: 3, allowAnonymous: true });
      const [a, b] = [capped.client(), capped.client()];
      const feedOf = (topic: string) => `subscription { feed(topic: "${topic}") { id } }`;
      const a1 = subscribe(a, feedOf('caps-1'));
      subscribe(a, feedOf('caps-2'));
      await until(() => capped.gateway.subscriptionStats().subscriptions === 2, 'two subscriptions');
      const a3 = subscribe(a, feedOf('caps-3'));
      expect(await a3.end).toEqual({ complete: true });
      expect(a3.events).toEqual([
        {
          errors: [
            {
              message: 'Too many subscriptions on this connection (at most 2)',
              extensions: { code: 'RATE_LIMITED', limit: 2, scope: 'connection' },
            },
          ],
        },
      ]);

      subscribe(b, feedOf('caps-4'));
      await until(() => capped.gateway.subscriptionStats().subscriptions === 3, 'three subscriptions');
      const b2 = subscribe(b, feedOf('caps-5'));
      expect(await b2.end).toEqual({ complete: true });
      expect(b2.events[0]?.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', limit: 3, scope: 'gateway' });

      a1.unsubscribe();
      await until(() => capped.gateway.subscriptionStats().subscriptions === 2, 'a slot to free up');
      const b3 = subscribe(b, 'subscription { ticks(id: "g", count: 1) { id label } }');
      expect(await b3.end).toEqual({ complete: true });
      expect(b3.events).toEqual([{ data: { ticks: { id: 'g', label: 'label-g' } } }]);
      await Promise.all([a.dispose(), b.dispose()]);
      await capped.close();
    });

    it('drops a client that does not keep up (4001 SLOW_CONSUMER) and nobody else', async () => {
      const sockets: WebSocket[] = [];
      class TrackedWebSocket extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          sockets.push(this);
        }
      }
      const base = t.gateway.subscriptionStats().subscriptions;
      const query = 'subscription { feed(topic: "slow") { id n padding } }';
      const slow = t.client({ webSocketImpl: TrackedWebSocket });
      const healthy = t.client();
      const slowSub = subscribe(slow, query);
      const healthySub = subscribe(healthy, query);
      await until(() => t.gateway.subscriptionStats().subscriptions === base + 2, 'both subscriptions');
      await until(() => subgraphs.feed.listeners('slow') === 1, 'the upstream subscription');

      // The slow client stops reading: its socket buffers fill, then its queue (8 events here).
      sockets[0]!.pause();
      const padding = 'x'.repeat(64 * 1024);
      let n = 0;
      while (t.gateway.subscriptionStats().subscriptions === base + 2) {
        if (++n > 2000) throw new Error('the slow client was never dropped');
        subgraphs.feed.publish('slow', { id: 's', n, padding });
        await until(() => healthySub.events.length === n, `the healthy client to get event ${n}`);
      }
      sockets[0]!.resume();
      expect(closeOf(await slowSub.end)).toEqual({ code: 4001, reason: 'SLOW_CONSUMER' });
      // What the SubscriptionDrops alert (deploy/monitoring) reads.
      const metrics = await (await fetch(t.httpUrl.replace(/graphql$/, 'metrics'))).text();
      expect(metrics).toContain('graphql_subscription_drops_total{reason="slow_consumer",service="gateway"} 1');
      expect(slowSub.events.length).toBeLessThan(n);

      subgraphs.feed.publish('slow', { id: 's', n: n + 1, padding: '' });
      await until(() => healthySub.events.length === n + 1, 'the healthy client to go on');
      expect(healthySub.events.map((event) => (event.data?.feed as { n: number }).n)).toEqual(
        Array.from({ length: n + 1 }, (_, i) => i + 1),
      );
      await Promise.all([slow.dispose(), healthy.dispose()]);
      await until(() => subgraphs.feed.listeners('slow') === 0, 'the upstream subscription to end');
    });
  });

  describe('fair shares', () => {
    const feedOf = (topic: string) => `subscription { feed(topic: "${topic}") { id } }`;
    const TICK = 'subscription { ticks(id: "fair", count: 1) { id label } }';
    /** The error extensions of subscriptions refused at subscribe time (an error event, then complete). */
    const refusals = (subs: Subscription[]) => subs.flatMap((sub) => sub.events.flatMap((e) => e.errors ?? []));

    it('one user holds at most SUBSCRIPTIONS_MAX_PER_USER (default 200) over all connections; others still subscribe', async () => {
      const g = await subgraphs.startGateway({ maxPerUser: defaultSubscriptionLimits.maxPerUser });
      const limit = defaultSubscriptionLimits.maxPerUser;
      expect(limit).toBe(200);
      const greedy = signToken('greedy');
      const clients = [1, 2, 3].map(() => g.client({ token: greedy }));
      // 300 subscriptions over 3 connections (100 each: within the per-connection cap).
      const subs = clients.flatMap((client) => Array.from({ length: 100 }, () => subscribe(client, feedOf('fair'))));
      await until(
        () => g.gateway.subscriptionStats().subscriptions === limit && refusals(subs).length === 300 - limit,
        `${limit} subscriptions open and ${300 - limit} refused`,
      );
      for (const error of refusals(subs)) {
        expect(error).toEqual({
          message: `Too many subscriptions for this user (at most ${limit})`,
          extensions: { code: 'RATE_LIMITED', limit, scope: 'user' },
        });
      }

      const modest = g.client({ token: signToken('modest') });
      const other = subscribe(modest, TICK);
      expect(await other.end).toEqual({ complete: true });
      expect(other.events).toEqual([{ data: { ticks: { id: 'fair', label: 'label-fair' } } }]);
      await Promise.all([...clients, modest].map((client) => client.dispose()));
      await g.close();
    });

    it("counts a user's subscriptions over their connections, an anonymous caller's per address", async () => {
      const g = await subgraphs.startGateway({ maxPerUser: 2, allowAnonymous: true }, { trustedProxies: 1 });
      const open = () => g.gateway.subscriptionStats().subscriptions;
      const token = signToken('two');
      const [a, b] = [g.client({ token }), g.client({ token })];
      const a1 = subscribe(a, feedOf('share-1'));
      subscribe(b, feedOf('share-2'));
      await until(() => open() === 2, 'two subscriptions');
      const b2 = subscribe(b, feedOf('share-3'));
      expect(await b2.end).toEqual({ complete: true });
      expect(refusals([b2])).toEqual([
        {
          message: 'Too many subscriptions for this user (at most 2)',
          extensions: { code: 'RATE_LIMITED', limit: 2, scope: 'user' },
        },
      ]);
      // A subscription that ends gives its place back.
      a1.unsubscribe();
      await until(() => open() === 1, 'a subscription to end');
      subscribe(a, feedOf('share-4'));
      await until(() => open() === 2, 'the freed place to be taken');

      const anonymous = (ip: string) => g.client({ webSocketImpl: fromAddress(ip) });
      const [x, y, z] = [anonymous('198.51.100.1'), anonymous('198.51.100.1'), anonymous('198.51.100.2')];
      subscribe(x, feedOf('anon-1'));
      subscribe(y, feedOf('anon-2'));
      await until(() => open() === 4, 'two anonymous subscriptions');
      const y2 = subscribe(y, feedOf('anon-3'));
      expect(await y2.end).toEqual({ complete: true });
      expect(refusals([y2])).toEqual([
        {
          message: 'Too many subscriptions from this address (at most 2)',
          extensions: { code: 'RATE_LIMITED', limit: 2, scope: 'address' },
        },
      ]);
      const elsewhere = subscribe(z, TICK);
      expect(await elsewhere.end).toEqual({ complete: true });
      expect(elsewhere.events).toEqual([{ data: { ticks: { id: 'fair', label: 'label-fair' } } }]);
      await Promise.all([a, b, x, y, z].map((client) => client.dispose()));
      await g.close();
    });

    it('refuses an upgrade past SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP with 429; other addresses connect', async () => {
      const g = await subgraphs.startGateway({ maxConnectionsPerIp: 2 }, { trustedProxies: 1 });
      let connected = 0;
      const connect = () =>
        g.client({
          token: signToken('sockets'),
          webSocketImpl: fromAddress('203.0.113.7'),
          lazy: false,
          on: { connected: () => void connected++ },
        });
      const [first, second] = [connect(), connect()];
      await until(() => connected === 2, 'two connections');
      const refused = await tryUpgrade(g.wsUrl, { 'x-forwarded-for': '203.0.113.7' });
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toEqual({
        errors: [
          {
            message: 'Too many WebSocket connections from this address (at most 2)',
            extensions: { code: 'RATE_LIMITED', limit: 2, scope: 'address' },
          },
        ],
      });
      expect((await tryUpgrade(g.wsUrl, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(101);
      // A connection that closes gives its place back.
      await first.dispose();
      await until(
        async () => (await tryUpgrade(g.wsUrl, { 'x-forwarded-for': '203.0.113.7' })).status === 101,
        'the address to connect again',
      );
      await second.dispose();
      await g.close();
    });

    it("charges each subscribe to its caller's operation budget (an anonymous caller's address)", async () => {
      const g = await subgraphs.startGateway(
        { allowAnonymous: true },
        {
          trustedProxies: 1,
          rateLimits: {
            ...GENEROUS_RATE_LIMITS,
            perUser: { points: 3, windowSeconds: 60 },
            perIp: { points: 3, windowSeconds: 60 },
          },
        },
      );
      const errorsOf = async (sub: Subscription) => {
        expect(await sub.end).toEqual({ complete: true });
        return refusals([sub]);
      };
      const user = g.client({ token: signToken('budget-1'), webSocketImpl: fromAddress('192.0.2.60') });
      for (let i = 0; i < 3; i++) expect(await errorsOf(subscribe(user, TICK))).toEqual([]);
      const over = subscribe(user, TICK);
      expect(await errorsOf(over)).toEqual([
        {
          message: expect.stringMatching(/^Too many requests for this account; retry after \d+ s$/),
          extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
        },
      ]);
      // One budget for everything the user sends: a query over the socket is refused too.
      expect(await errorsOf(subscribe(user, '{ ping }'))).toEqual([
        {
          message: expect.stringMatching(/^Too many requests for this account; retry after \d+ s$/),
          extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
        },
      ]);
      // Another user on the same address has a budget of their own.
      const other = g.client({ token: signToken('budget-2'), webSocketImpl: fromAddress('192.0.2.60') });
      expect(await errorsOf(subscribe(other, TICK))).toEqual([]);

      const anonymous = g.client({ webSocketImpl: fromAddress('192.0.2.61') });
      for (let i = 0; i < 3; i++) expect(await errorsOf(subscribe(anonymous, TICK))).toEqual([]);
      expect(await errorsOf(subscribe(anonymous, TICK))).toEqual([
        {
          message: expect.stringMatching(/^Too many requests from this address; retry after \d+ s$/),
          extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
        },
      ]);
      await Promise.all([user, other, anonymous].map((client) => client.dispose()));
      await g.close();
    });
  });

  describe('supergraph changes', () => {
    it('close connections with subscriptions (4000 SUPERGRAPH_CHANGED); the new supergraph is served', async () => {
      const g = await subgraphs.startGateway({ allowAnonymous: true });
      const client = g.client();
      const sub = subscribe(client, 'subscription { feed(topic: "swap") { id label } }');
      let idleConnections = 0;
      const idle = g.client({ lazy: false, on: { connected: () => void idleConnections++ } });
      await until(() => subgraphs.feed.listeners('swap') === 1 && idleConnections === 1, 'both connections');

      g.gateway.updateSupergraph(subgraphs.composeSupergraph('extend type Query { version: Int }'));
      expect(closeOf(await sub.end)).toEqual({ code: 4000, reason: 'SUPERGRAPH_CHANGED' });
      await until(() => subgraphs.feed.listeners('swap') === 0, 'the upstream subscription to end');
      expect(g.gateway.subscriptionStats()).toMatchObject({ subscriptions: 0, upstreamSubscriptions: 0 });

      const fields = await gql(g.httpUrl, { query: '{ __type(name: "Query") { fields { name } } }' });
      expect(fields.data?.__type.fields.map((f: { name: string }) => f.name)).toEqual(['ping', 'version']);
      // A connection without subscriptions stays open, and subscribes against the new supergraph.
      const again = subscribe(idle, 'subscription { ticks(id: "h", count: 1) { id label } }');
      expect(await again.end).toEqual({ complete: true });
      expect(again.events).toEqual([{ data: { ticks: { id: 'h', label: 'label-h' } } }]);
      expect(idleConnections).toBe(1);
      await Promise.all([client.dispose(), idle.dispose()]);
      await g.close();
    });
  });

  describe('resources', () => {
    const heapUsed = (() => {
      // Garbage collection on demand, without starting node with --expose-gc.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      return () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
    })();
    /** Sockets and timers alive in this process, by kind. */
    const handles = () => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) {
        if (kind === 'TCPSocketWrap' || kind === 'Timeout') counts[kind] = (counts[kind] ?? 0) + 1;
      }
      return counts;
    };
    const idle = { connections: 0, subscriptions: 0, upstreamSubscriptions: 0, upstreamConnections: 0 };

    /** 1,000 subscriptions (100 connections × 10, 250 distinct), one event each, all closed again. */
    async function openAndCloseThousand(): Promise<void> {
      const clients = Array.from({ length: 100 }, () => t.client());
      const subs = clients.flatMap((client, i) =>
        Array.from({ length: 10 }, (_, j) =>
          subscribe(client, 'subscription ($topic: String!) { feed(topic: $topic) { id n label } }', {
            topic: `leak-${(i * 10 + j) % 250}`,
          }),
        ),
      );
      await until(() => t.gateway.subscriptionStats().subscriptions === 1000, '1,000 subscriptions');
      await until(() => subgraphs.feed.listeners() === 250, '250 upstream subscriptions');
      expect(t.gateway.subscriptionStats().upstreamSubscriptions).toBe(250);
      for (let topic = 0; topic < 250; topic++) subgraphs.feed.publish(`leak-${topic}`, { id: `leak-${topic}`, n: 1 });
      await until(() => subs.every((sub) => sub.events.length === 1), 'an event for every subscription');
      // Half end by completing their subscriptions, half by their clients going away.
      for (const sub of subs.slice(0, 500)) sub.unsubscribe();
      await until(() => t.gateway.subscriptionStats().subscriptions === 500, '500 subscriptions to end');
      await Promise.all(clients.map((client) => client.dispose()));
      await until(() => JSON.stringify(t.gateway.subscriptionStats()) === JSON.stringify(idle), 'an idle gateway');
      await until(() => subgraphs.feed.listeners() === 0, 'no subscription at the subgraph');
    }

    it('opening and closing 1,000 subscriptions leaves no socket, timer, listener or memory behind', async () => {
      await openAndCloseThousand(); // warms up code, caches and pools first
      const before = { handles: handles(), heap: heapUsed() };
      await openAndCloseThousand();
      const settled = () => Object.entries(handles()).every(([kind, count]) => count <= (before.handles[kind] ?? 0));
      await until(settled, `sockets and timers back to ${JSON.stringify(before.handles)}`);
      expect(t.gateway.subscriptionStats()).toEqual(idle);
      expect(subgraphs.feed.listeners()).toBe(0);
      // Roughly: a leak of ~1 KiB per subscription would show as 1 MB; allow for allocator noise.
      expect(heapUsed() - before.heap).toBeLessThan(8 * 1024 * 1024);
    });
  });
}
