import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';

// The gateway shares identical in-flight queries (DEDUPLICATE_INFLIGHT, on by default): these pin,
// through the whole platform, that sharing never crosses callers and never merges mutations.
let t: TestPlatform;
let alice: Session;
let bob: Session;
beforeAll(async () => {
  t = await startTestPlatform();
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
});
afterAll(() => t?.close());

const CREATE = 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id name } }';
const MINE = '{ me { email projects(first: 50) { nodes { name } } } }';

describe('in-flight deduplication through the gateway', () => {
  it('answers concurrent identical queries of different callers each with their own data', async () => {
    await t.gql({ query: CREATE, token: alice.accessToken, variables: { input: { name: 'alice-only' } } });
    await t.gql({ query: CREATE, token: bob.accessToken, variables: { input: { name: 'bob-only' } } });
    const callers = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? alice : bob));
    const answers = await Promise.all(callers.map((who) => t.gql({ query: MINE, token: who.accessToken })));
    answers.forEach((answer, i) => {
      const who = callers[i]!;
      expect(answer.data?.me.email).toBe(who.email);
      expect(answer.data?.me.projects.nodes).toEqual([{ name: who === alice ? 'alice-only' : 'bob-only' }]);
    });
    const anonymous = await Promise.all([1, 2, 3].map(() => t.gql({ query: '{ me { email } }' })));
    for (const answer of anonymous) expect(answer.data?.me ?? null).toBeNull();
  });

  it('runs every one of concurrent identical mutations', async () => {
    const created = await Promise.all(
      [1, 2, 3, 4, 5].map(() =>
        t.gql({ query: CREATE, token: alice.accessToken, variables: { input: { name: 'twin' } } }),
      ),
    );
    const ids = created.map((answer) => answer.data?.createProject.id as string);
    expect(new Set(ids).size).toBe(5);
  });
});
