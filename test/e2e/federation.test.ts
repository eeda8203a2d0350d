import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAdmin, signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';

let t: TestPlatform;
let admin: Session;

const queriesOn = (statements: string[], table: string) =>
  statements.filter((sql) => new RegExp(`from "${table}"`).test(sql));

beforeAll(async () => {
  t = await startTestPlatform();
  admin = await loginAdmin(t);
  // 25 users with 2 projects each: listing 50 projects means 25 distinct owners to resolve.
  for (let i = 0; i < 25; i++) {
    const user = await signup(t);
    for (const name of ['a', 'b']) {
      await t.gql({
        query: 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }',
        token: user.accessToken,
        variables: { input: { name: `${name}${i}` } },
      });
    }
  }
});
afterAll(() => t?.close());

describe('entity resolution is batched', () => {
  it('50 projects with their owners cost one query on users', async () => {
    t.sql.reset();
    const res = await t.gql({
      query: '{ projects(first: 50) { nodes { name owner { id email } } } }',
      token: admin.accessToken,
    });
    expect(res.data?.projects.nodes).toHaveLength(50);
    expect(new Set(res.data?.projects.nodes.map((p: { owner: { id: string } }) => p.owner.id)).size).toBe(25);
    expect(queriesOn(t.sql.statements, 'projects')).toHaveLength(1);
    expect(queriesOn(t.sql.statements, 'users')).toHaveLength(1);
  });

  it('users with their projects (User.projects for N users) cost one query on projects', async () => {
    t.sql.reset();
    const res = await t.gql({
      query: '{ users(first: 26) { nodes { email projects(first: 5) { nodes { name owner { email } } } } } }',
      token: admin.accessToken,
    });
    const users = res.data?.users.nodes as Array<{ projects: { nodes: unknown[] } }>;
    expect(users).toHaveLength(26);
    expect(users.filter((u) => u.projects.nodes.length === 2)).toHaveLength(25);
    expect(queriesOn(t.sql.statements, 'users')).toHaveLength(2); // the page, then the owners' entities
    expect(queriesOn(t.sql.statements, 'projects')).toHaveLength(1);
  });
});
