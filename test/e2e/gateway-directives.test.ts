import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { sendJson } from '../../lib/http/service-server.js';
import { GENEROUS_RATE_LIMITS } from '../helpers/platform.js';
import { createTickFeed, type Tick } from '../helpers/subscription-subgraphs.js';
import { startTestSubgraph, type TestSubgraph } from '../helpers/test-subgraph.js';
import { until } from '../helpers/wait.js';
import { subscribe, wsClient } from '../helpers/ws.js';

// The gateway knows nothing of the platform's fields: what it limits, replays and routes to comes
// from the supergraph's @rateLimit, @replayLatest and @uploadRoute, here on fields of a made-up
// subgraph (one of them imported under another name).
const DOORS_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@composeDirective"])
    @link(
      url: "https://ai-code.dev/gateway/v1.0"
      import: ["@rateLimit", "@replayLatest", { name: "@uploadRoute", as: "@ticketsHere" }]
    )
    @composeDirective(name: "@rateLimit")
    @composeDirective(name: "@replayLatest")
    @composeDirective(name: "@ticketsHere")
  directive @rateLimit(budget: String!, per: String) on FIELD_DEFINITION
  directive @replayLatest on FIELD_DEFINITION
  directive @ticketsHere on FIELD_DEFINITION
  type Query {
    free: Int!
  }
  type Mutation {
    knock(door: String!): Int! @rateLimit(budget: "auth", per: "door")
    compute: Int! @rateLimit(budget: "inference")
    ticket: String! @ticketsHere
  }
  type Subscription {
    state(topic: String!): Tick! @replayLatest
    events(topic: String!): Tick!
  }
  type Tick {
    id: ID!
    n: Int!
  }
`;

const feed = createTickFeed();
async function* renamed(field: string, topic: string) {
  for await (const { feed: tick } of feed.subscribe(topic)) yield { [field]: tick };
}

let doors: TestSubgraph;
let gateway: Gateway;
let base: string;
beforeAll(async () => {
  doors = await startTestSubgraph(
    'doors',
    DOORS_SDL,
    {
      Query: { free: () => 1 },
      Mutation: { knock: () => 1, compute: () => 1, ticket: () => 't' },
      Subscription: {
        state: { subscribe: (_: unknown, { topic }: { topic: string }) => renamed('state', topic) },
        events: { subscribe: (_: unknown, { topic }: { topic: string }) => renamed('events', topic) },
      },
    },
    { '/uploads/': (_req, res) => sendJson(res, 200, { servedBy: 'doors' }) },
  );
  ({ gateway, base } = await doors.startGateway({
    subscriptions: { allowAnonymous: true },
    protections: {
      rateLimits: {
        ...GENEROUS_RATE_LIMITS,
        auth: { points: 2, windowSeconds: 60 },
        inference: { points: 3, windowSeconds: 60 },
      },
      trustedProxies: 1,
    },
  }));
});
afterAll(() => doors?.close());

const call = async (query: string, ip: string) => {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
  return { status: response.status, code: body.errors?.[0]?.extensions?.code };
};

describe('the gateway directives, on any supergraph', () => {
  it('charges a @rateLimit field to its budget, per address and per argument value', async () => {
    expect(await call('mutation { knock(door: "Red") }', '10.1.0.1')).toEqual({ status: 200, code: undefined });
    expect(await call('mutation { knock(door: "blue") }', '10.1.0.1')).toEqual({ status: 200, code: undefined });
    // The address's sign-in budget is spent.
    expect(await call('mutation { knock(door: "green") }', '10.1.0.1')).toEqual({ status: 429, code: 'RATE_LIMITED' });
    // Another address, the same door (trimmed, any case): refused by the door's budget.
    expect(await call('mutation { knock(door: " red") }', '10.1.0.2')).toEqual({ status: 200, code: undefined });
    expect(await call('mutation { knock(door: "RED") }', '10.1.0.3')).toEqual({ status: 429, code: 'RATE_LIMITED' });
    // Fields without the directive spend no strict budget.
    for (let i = 0; i < 5; i++) expect(await call('{ free }', '10.1.0.1')).toEqual({ status: 200, code: undefined });
  });

  it('charges every call of a field, aliases included, to the inference budget', async () => {
    expect(await call('mutation { a: compute b: compute }', '10.2.0.1')).toEqual({ status: 200, code: undefined });
    expect(await call('mutation { a: compute b: compute }', '10.2.0.1')).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });

  it('replays the latest event of a @replayLatest subscription to a late joiner, and only of that one', async () => {
    const first = wsClient(`${base}/graphql`);
    const late = wsClient(`${base}/graphql`);
    try {
      const STATE = 'subscription { state(topic: "s") { n } }';
      const EVENTS = 'subscription { events(topic: "e") { n } }';
      const [state, events] = [subscribe(first, STATE), subscribe(first, EVENTS)];
      await until(() => feed.listeners('s') === 1 && feed.listeners('e') === 1, 'both subscriptions upstream');
      const tick = (n: number): Tick => ({ id: 't', n });
      feed.publish('s', tick(1));
      feed.publish('e', tick(1));
      await until(() => state.events.length === 1 && events.events.length === 1, 'the first events');

      const [lateState, lateEvents] = [subscribe(late, STATE), subscribe(late, EVENTS)];
      await until(() => lateState.events.length === 1, 'the replayed state');
      // Shared, not opened again upstream.
      expect(feed.listeners('s')).toBe(1);
      await until(() => gateway.subscriptionStats().subscriptions === 4, 'the late joiner of events');
      feed.publish('s', tick(2));
      feed.publish('e', tick(2));
      await until(() => lateState.events.length === 2 && lateEvents.events.length === 1, 'the second events');
      expect(lateState.events.map((e) => e.data)).toEqual([{ state: { n: 1 } }, { state: { n: 2 } }]);
      expect(lateEvents.events.map((e) => e.data)).toEqual([{ events: { n: 2 } }]);
    } finally {
      await Promise.all([first.dispose(), late.dispose()]);
    }
  });

  it('sends /uploads/ to the subgraph of the @uploadRoute field', async () => {
    const response = await fetch(`${base}/uploads/anything`, { method: 'PUT', body: 'bytes' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ servedBy: 'doors' });
  });
});
