import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InflightSharing } from '../../gateway/src/inflight/sharing.js';
import { startTestSubgraph, type TestSubgraph } from '../helpers/test-subgraph.js';
import { until } from '../helpers/wait.js';

// Each layer of in-flight sharing alone, in front of a subgraph that counts the calls of `slow` and
// holds them until the test lets them go: what the layer shares reaches the subgraph once.
const SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    slow(tag: String!): Int!
  }
`;

const calls = new Map<string, number>();
let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));

let subgraph: TestSubgraph;
beforeAll(async () => {
  subgraph = await startTestSubgraph('slow', SDL, {
    Query: {
      slow: async (_: unknown, { tag }: { tag: string }) => {
        calls.set(tag, (calls.get(tag) ?? 0) + 1);
        await held;
        return calls.get(tag);
      },
    },
  });
});
afterAll(async () => {
  release();
  await subgraph?.close();
});

async function startGateway(sharing: boolean | Partial<InflightSharing>): Promise<string> {
  const { base } = await subgraph.startGateway({ deduplicateInflight: sharing });
  return `${base}/graphql`;
}

const only = (layer: keyof InflightSharing): InflightSharing => ({
  requests: layer === 'requests',
  queries: layer === 'queries',
  subgraphFetches: layer === 'subgraphFetches',
});

/**
 * Sends the requests at once and holds the subgraph's answers until `expected` calls reached it and
 * a while more (every request is in flight by then): how many calls reached the subgraph.
 */
async function subgraphCalls(
  url: string,
  requests: Array<{ query: string; headers?: Record<string, string> }>,
  expected: number,
) {
  const tag = randomUUID();
  const answers = Promise.all(
    requests.map(async ({ query, headers }) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: query.replace('TAG', tag) }),
      });
      return (await response.json()) as { data?: { slow: number } };
    }),
  );
  await until(() => (calls.get(tag) ?? 0) >= expected, `${expected} calls`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const reached = calls.get(tag) ?? 0;
  release();
  for (const answer of await answers) expect(answer.data?.slow).toBeGreaterThan(0);
  held = new Promise<void>((resolve) => (release = resolve));
  return reached;
}

const SAME = '{ slow(tag: "TAG") }';
const identical = Array.from({ length: 5 }, () => ({ query: SAME }));
// The same operation, each request with a header of its own (a trace id, say).
const traced = Array.from({ length: 5 }, (_, i) => ({ query: SAME, headers: { 'x-trace-id': String(i) } }));
// Two operations, differently written, whose subgraph fetch is the same.
const rewritten = [{ query: SAME }, { query: 'query { slow(tag: "TAG") }' }];

describe('in-flight sharing, layer by layer', () => {
  it('with none, every request reaches the subgraph', async () => {
    const url = await startGateway(false);
    expect(await subgraphCalls(url, identical, 5)).toBe(5);
  });

  it('requests alone: byte-identical requests share one, requests that differ in a header do not', async () => {
    const url = await startGateway(only('requests'));
    expect(await subgraphCalls(url, identical, 1)).toBe(1);
    expect(await subgraphCalls(url, traced, 5)).toBe(5);
  });

  it('queries alone: one operation shares one execution, whatever its headers; differently written ones do not', async () => {
    const url = await startGateway(only('queries'));
    expect(await subgraphCalls(url, traced, 1)).toBe(1);
    expect(await subgraphCalls(url, rewritten, 2)).toBe(2);
  });

  it('subgraph fetches alone: different operations share their identical fetch', async () => {
    const url = await startGateway(only('subgraphFetches'));
    expect(await subgraphCalls(url, rewritten, 1)).toBe(1);
    expect(await subgraphCalls(url, traced, 1)).toBe(1);
  });
});
