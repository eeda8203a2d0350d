import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js';

// The platform's gateway is configured by the gateway's own config (gateway/src/config.ts): in
// production it hides what the gateway process hides, even with introspection turned on.
// (Outside production it suggests: test/e2e/security.test.ts.)
describe('a platform started with NODE_ENV=production and INTROSPECTION=true', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ production: true, introspection: true });
  });
  afterAll(() => t?.close());

  it('answers introspection, but no "Did you mean" suggestion', async () => {
    const introspection = await t.gql({ query: '{ __schema { queryType { name } } }' });
    expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const typo = await t.gql({ query: '{ mee { id } }' });
    expect(typo.errors?.[0]?.message).toMatch(/Cannot query field "mee"/);
    expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});

// The gateway of the one-process platform hands its plan fetches to the subgraphs' servers
// directly (no socket); their ports stay open for everything else.
describe('the one-process platform', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(() => t?.close());

  it('reaches its subgraphs in process, and they still listen', async () => {
    let connections = 0;
    t.platform.users.server.on('connection', () => connections++);
    const session = await signup(t);
    const me = await t.gql<{ me: { id: string } }>({ query: '{ me { id } }', token: session.accessToken });
    expect(me.data?.me.id).toBe(session.userId);
    expect(connections).toBe(0);
    const usersUrl = new Map(t.platform.gateway.subgraphs()).get('users')!;
    const health = await fetch(usersUrl.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);
    expect(connections).toBe(1);
  });
});
