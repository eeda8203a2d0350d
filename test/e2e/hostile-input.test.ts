import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOperationLimits } from '../../gateway/src/limits/operation-limits.js';
import { codes, gql } from '../helpers/graphql.js';
import { createProject, LINEAR_MODEL, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';

// Issue 12's first finding: one anonymous ~150-byte request froze the process (query planning was
// exponential in a list literal's depth, and ran on the event loop before any auth check). Each
// operation here is refused before the planner sees it, or planned on a planner thread that a
// deadline ends: the gateway's own thread plans nothing.

const PLANNING_TIMEOUT_MS = 300;
let t: TestPlatform;
let alice: Session;
let modelId: string;

/** `gateway_query_plans_total` by planner and outcome, from the gateway's /metrics. */
async function plans(): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', t.url))).text();
  const counts: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(/^gateway_query_plans_total\{([^}]*)\} (\S+)$/gm)) {
    const named = Object.fromEntries(labels!.split(',').map((label) => label.replace(/"/g, '').split('=')));
    counts[`${named['planner']}/${named['outcome']}`] = Number(value);
  }
  return counts;
}

/** Thirty aliases of a model's project, models and owners nested twenty times: seconds to plan. */
function slowToPlan(): string {
  let selection = 'id';
  for (let i = 0; i < 20; i++) selection = `project { models { nodes { ${selection} project { owner { id } } } } }`;
  return `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: model(id: "${i}") { ${selection} }`).join(' ')} }`;
}

beforeAll(async () => {
  t = await startTestPlatform({
    planner: { timeoutMs: PLANNING_TIMEOUT_MS },
    // Room for an operation that is slow to plan: the deadline, not these limits, must stop it.
    operationLimits: { maxDepth: 80, maxRootFields: 30, maxTokens: 20_000, maxCost: Number.POSITIVE_INFINITY },
  });
  alice = await signup(t);
  const project = await createProject(t, alice, 'hostile');
  modelId = (await uploadModel(t, alice, project, 'v1', LINEAR_MODEL)).id;
});
afterAll(() => t?.close());

describe('hostile input', () => {
  it('refuses the anonymous 24-deep literal before validation and planning', async () => {
    const before = await plans();
    const literal = `${'['.repeat(24)}1${']'.repeat(24)}`;
    const answer = await t.gql({
      query: `mutation { predict(modelId: "00000000-0000-4000-8000-000000000000", inputs: {x: ${literal}}) { durationMs } }`,
    });
    expect(answer.status).toBe(400);
    expect(answer.errors?.[0]?.extensions).toEqual({
      code: 'MAX_INPUT_DEPTH_EXCEEDED',
      limit: defaultOperationLimits.maxLiteralDepth,
    });
    // The planner was not reached.
    expect(await plans()).toEqual(before);
  });

  it('refuses the signed-in 1000-deep literal before parsing, and stores nothing', async () => {
    const metrics = async () =>
      (
        await t.gql({
          query: 'query ($m: ID!) { model(id: $m) { metrics } }',
          variables: { m: modelId },
          token: alice.accessToken,
        })
      ).data?.model.metrics;
    const stored = await metrics();
    const before = await plans();
    const literal = `{a: ${'['.repeat(1000)}1${']'.repeat(1000)}}`;
    const answer = await t.gql({
      query: `mutation ($m: ID!) { recordModelMetrics(modelId: $m, metrics: ${literal}) { id } }`,
      variables: { m: modelId },
      token: alice.accessToken,
    });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['MAX_INPUT_DEPTH_EXCEEDED']);
    expect(await plans()).toEqual(before);
    expect(await metrics()).toEqual(stored);
  });

  it('ends an operation slow to plan at its deadline on a planner thread, while the gateway keeps answering', async () => {
    const planned = t.gql({ query: slowToPlan(), token: alice.accessToken });
    // The event loop is free meanwhile: health checks and other operations are answered.
    const health = await fetch(new URL('/healthz', t.url));
    expect(health.status).toBe(200);
    const me = await gql(t.url, { query: '{ me { email } }', token: alice.accessToken });
    expect(me.data?.me.email).toBe(alice.email);

    const answer = await planned;
    expect(answer.status).toBe(503);
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'QUERY_PLANNING_TIMEOUT', limit: PLANNING_TIMEOUT_MS });
    expect((await plans())['pool/timeout']).toBeGreaterThanOrEqual(1);
    // A new planner thread took the ended one's place.
    const again = await gql(t.url, { query: '{ me { id projects { nodes { id } } } }', token: alice.accessToken });
    expect(again.errors).toBeUndefined();
  });

  it('plans every operation off the main thread', async () => {
    const counts = await plans();
    expect(counts['pool/planned']).toBeGreaterThan(0);
    expect(counts['main-thread/planned'] ?? 0).toBe(0);
  });
});
