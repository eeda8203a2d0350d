import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js';

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
