import { randomBytes } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';
import type { Identity } from '../../lib/auth/identity.js';
import { signAccessToken } from '../../lib/auth/tokens.js';
import { notFound, unauthenticated } from '../../lib/errors.js';
import type { ServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import { createSubgraphServer } from '../../lib/subgraph/create-subgraph.js';
import { GENEROUS_RATE_LIMITS, GENEROUS_SUBSCRIPTION_SHARES } from './platform.js';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import type { ProtectionOptions } from '../../gateway/src/protections.js';
import type { SubscriptionLimits } from '../../gateway/src/subscriptions/subscription-server.js';
import { testEnv } from './env.js';
import { createTestGateway } from './gateway.js';

/**
 * Two small subgraphs that exist only for the subscription tests: `ticks` owns the Subscription
 * root and Tick.n, `labels` adds fields to Tick through entity fetches.
 */
export const TICKS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    ping: Boolean!
  }
  type Subscription {
    "Ticks n = 1…count, then completes. id 'missing' fails at once, 'vanishing' after its first tick."
    ticks(id: ID!, count: Int!): Tick!
    "Whatever the test publishes on the topic."
    feed(topic: String!): Tick!
    "Ticks whose id is the caller's user id; needs a signed-in caller."
    myTicks(count: Int!): Tick!
  }
  type Tick @key(fields: "id") {
    id: ID!
    n: Int!
    padding: String
  }
`;

export const LABELS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Tick @key(fields: "id") {
    id: ID!
    label: String!
    "Null for the entity 'broken', whose lookup fails."
    note: String
    "The user the entity fetch was made for."
    seenBy: String
  }
`;

export type Tick = { id: string; n: number; padding?: string };

/** An in-process topic feed behind `feed(topic)`, so tests decide when events happen. */
export type TickFeed = {
  publish(topic: string, tick: Tick): void;
  /** Completes every subscription to the topic. */
  end(topic: string): void;
  /** Open subscriptions at the subgraph, on one topic or all. */
  listeners(topic?: string): number;
  subscribe(topic: string): AsyncIterableIterator<{ feed: Tick }>;
};

export function createTickFeed(): TickFeed {
  type Listener = { push(tick: Tick | null): void };
  const topics = new Map<string, Set<Listener>>();
  return {
    publish: (topic, tick) => topics.get(topic)?.forEach((listener) => listener.push(tick)),
    end: (topic) => topics.get(topic)?.forEach((listener) => listener.push(null)),
    listeners: (topic) =>
      topic === undefined
        ? [...topics.values()].reduce((sum, set) => sum + set.size, 0)
        : (topics.get(topic)?.size ?? 0),
    subscribe(topic) {
      const queued: Array<Tick | null> = [];
      let waiting: ((tick: Tick | null) => void) | null = null;
      const listener: Listener = {
        push(tick) {
          if (waiting) {
            waiting(tick);
            waiting = null;
          } else queued.push(tick);
        },
      };
      const set = topics.get(topic) ?? new Set();
      topics.set(topic, set.add(listener));
      const leave = () => {
        set.delete(listener);
        if (set.size === 0 && topics.get(topic) === set) topics.delete(topic);
        waiting?.(null);
        waiting = null;
      };
      const done = { done: true, value: undefined } as IteratorResult<{ feed: Tick }>;
      return {
        async next() {
          const tick = queued.length > 0 ? queued.shift()! : await new Promise<Tick | null>((r) => (waiting = r));
          if (tick === null) {
            leave();
            return done;
          }
          return { done: false, value: { feed: tick } };
        },
        async return() {
          leave();
          return done;
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}

async function* countTicks(field: string, id: string, count: number) {
  for (let n = 1; n <= count; n++) {
    if (id === 'vanishing' && n === 2) throw notFound('Ticker');
    yield { [field]: { id, n } };
  }
}

type Context = { identity: Identity | null };

export const TEST_SECRETS = {
  jwt: { secret: randomBytes(32).toString('hex'), issuer: 'ai-code', audience: 'ai-code-api' },
  internal: randomBytes(32).toString('hex'),
};

/** An access token the test gateways accept. */
export const signToken = (userId: string, ttlSeconds = 600): string =>
  signAccessToken({ ...TEST_SECRETS.jwt, ttlSeconds }, { id: userId, role: 'USER' });

export type TestGateway = {
  gateway: Gateway;
  httpUrl: string;
  wsUrl: string;
  /** A graphql-ws client of the gateway; retries are off so every close reaches the test. */
  client(options?: Partial<ClientOptions> & { token?: string }): Client;
  close(): Promise<void>;
};

export type SubscriptionSubgraphs = {
  /** The subgraphs' HTTP GraphQL URLs (their graphql-ws endpoints are the same over ws:). */
  urls: { ticks: string; labels: string };
  feed: TickFeed;
  /** Entity lookups `labels` has answered, by Tick id. */
  labelLookups(id: string): number;
  /** The supergraph of the two subgraphs; `extraTicksSdl` adds to the ticks subgraph's schema. */
  composeSupergraph(extraTicksSdl?: string): string;
  /**
   * A gateway in front of the subgraphs. Per-user and per-address shares and rate limits are out
   * of reach unless `limits` and `protections` set them.
   */
  startGateway(limits?: Partial<SubscriptionLimits>, protections?: ProtectionOptions): Promise<TestGateway>;
  close(): Promise<void>;
};

/** `socketProcesses`: the gateways' socket owner processes (GatewayOptions.subscriptionSocketProcesses). */
export async function startSubscriptionSubgraphs({ socketProcesses = 0 } = {}): Promise<SubscriptionSubgraphs> {
  const feed = createTickFeed();
  const lookups = new Map<string, number>();
  const common = {
    internalSecret: TEST_SECRETS.internal,
    createContext: (identity: Identity | null): Context => ({ identity }),
    readiness: async () => true,
    production: false,
  };
  const ticks = await createSubgraphServer({
    ...common,
    name: 'ticks',
    typeDefs: TICKS_SDL,
    logger: createLogger('ticks', testEnv.logLevel),
    resolvers: {
      Query: { ping: () => true },
      Subscription: {
        ticks: {
          subscribe: (_: unknown, { id, count }: { id: string; count: number }) => {
            if (id === 'missing') throw notFound('Ticker');
            return countTicks('ticks', id, count);
          },
        },
        feed: { subscribe: (_: unknown, { topic }: { topic: string }) => feed.subscribe(topic) },
        myTicks: {
          subscribe: (_: unknown, { count }: { count: number }, context: Context) => {
            if (!context.identity) throw unauthenticated();
            return countTicks('myTicks', context.identity.userId, count);
          },
        },
      },
    },
  });
  const labels = await createSubgraphServer({
    ...common,
    name: 'labels',
    typeDefs: LABELS_SDL,
    logger: createLogger('labels', testEnv.logLevel),
    resolvers: {
      Tick: {
        __resolveReference: ({ id }: { id: string }) => {
          lookups.set(id, (lookups.get(id) ?? 0) + 1);
          if (id === 'broken') throw notFound('Label');
          return { id };
        },
        label: ({ id }: { id: string }) => `label-${id}`,
        note: ({ id }: { id: string }) => `note-${id}`,
        seenBy: (_: unknown, __: unknown, context: Context) => context.identity?.userId ?? null,
      },
    },
  });
  const servers: ServiceServer[] = [ticks, labels];
  const urls = {
    ticks: `${await ticks.listen(0, '127.0.0.1')}/graphql`,
    labels: `${await labels.listen(0, '127.0.0.1')}/graphql`,
  };

  const composeSupergraph = (extraTicksSdl = '') => {
    const result = composeServices([
      { name: 'ticks', url: urls.ticks, typeDefs: parse(TICKS_SDL + extraTicksSdl) },
      { name: 'labels', url: urls.labels, typeDefs: parse(LABELS_SDL) },
    ]);
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
    return result.supergraphSdl;
  };
  const supergraphSdl = composeSupergraph();

  return {
    urls,
    feed,
    labelLookups: (id) => lookups.get(id) ?? 0,
    composeSupergraph,
    async startGateway(limits = {}, protections = {}) {
      const gateway = await createTestGateway({
        supergraphSdl,
        secrets: TEST_SECRETS,
        // Tests open a thousand subscriptions as one user: shares and rate limits are not what most test.
        subscriptions: { ...GENEROUS_SUBSCRIPTION_SHARES, ...limits },
        protections: { rateLimits: GENEROUS_RATE_LIMITS, ...protections },
        // …over a thousand connections from one address.
        http: { maxConnectionsPerIp: 0 },
        subscriptionSocketProcesses: socketProcesses,
      });
      const httpUrl = `${await gateway.listen(0, '127.0.0.1')}/graphql`;
      servers.unshift(gateway);
      const wsUrl = httpUrl.replace(/^http/, 'ws');
      return {
        gateway,
        httpUrl,
        wsUrl,
        client: ({ token, ...options } = {}) =>
          createClient({
            url: wsUrl,
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            ...(token ? { connectionParams: { Authorization: `Bearer ${token}` } } : {}),
            ...options,
          }),
        close: async () => {
          servers.splice(servers.indexOf(gateway), 1);
          await gateway.close();
        },
      };
    },
    close: async () => {
      for (const server of servers) await server.close();
    },
  };
}
