import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, type GraphQLResponse } from '../helpers/graphql.js';
import {
  loginAdmin,
  rowCounts,
  signup,
  startTestPlatform,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';

let t: TestPlatform;
let alice: Session;
let bob: Session;
let admin: Session;

beforeAll(async () => {
  t = await startTestPlatform();
  [alice, bob, admin] = await Promise.all([signup(t), signup(t), loginAdmin(t)]);
});
afterAll(() => t?.close());

const CREATE =
  'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id name description createdAt owner { id email } } }';
const GET = 'query ($id: ID!) { project(id: $id) { id name description owner { id } } }';
const UPDATE =
  'mutation ($id: ID!, $input: UpdateProjectInput!) { updateProject(id: $id, input: $input) { id name description } }';
const DELETE = 'mutation ($id: ID!) { deleteProject(id: $id) }';
const LIST =
  'query ($first: Int, $after: String) { projects(first: $first, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } } }';

async function createProject(
  session: Session,
  name: string,
  description?: string,
): Promise<{ id: string; name: string }> {
  const res = await t.gql({ query: CREATE, token: session.accessToken, variables: { input: { name, description } } });
  if (!res.data?.createProject) throw new Error(JSON.stringify(res.errors));
  return res.data.createProject;
}

describe('projects', () => {
  it('creates, reads, updates and deletes a project with its owner resolved across subgraphs', async () => {
    const res = await t.gql({
      query: CREATE,
      token: alice.accessToken,
      variables: { input: { name: '  Vision  ', description: 'cats' } },
    });
    const project = res.data?.createProject;
    expect(project).toMatchObject({
      name: 'Vision',
      description: 'cats',
      owner: { id: alice.userId, email: alice.email },
    });
    expect(new Date(project.createdAt).toISOString()).toBe(project.createdAt);

    const updated = await t.gql({
      query: UPDATE,
      token: alice.accessToken,
      variables: { id: project.id, input: { description: null } },
    });
    expect(updated.data?.updateProject).toEqual({ id: project.id, name: 'Vision', description: null });

    expect(
      (await t.gql({ query: DELETE, token: alice.accessToken, variables: { id: project.id } })).data?.deleteProject,
    ).toBe(true);
    expect(
      (await t.gql({ query: GET, token: alice.accessToken, variables: { id: project.id } })).data?.project,
    ).toBeNull();
  });

  it("someone else's project behaves as if it did not exist; ADMIN sees and changes it", async () => {
    const project = await createProject(alice, 'private');
    const before = await rowCounts(t, ['projects']);

    expect(
      (await t.gql({ query: GET, token: bob.accessToken, variables: { id: project.id } })).data?.project,
    ).toBeNull();
    const update = await t.gql({
      query: UPDATE,
      token: bob.accessToken,
      variables: { id: project.id, input: { name: 'mine' } },
    });
    expect(codes(update)).toEqual(['NOT_FOUND']);
    const del = await t.gql({ query: DELETE, token: bob.accessToken, variables: { id: project.id } });
    expect(codes(del)).toEqual(['NOT_FOUND']);
    // An id that does not exist at all gives the very same answers.
    const missing = await t.gql({
      query: DELETE,
      token: bob.accessToken,
      variables: { id: '00000000-0000-4000-8000-000000000000' },
    });
    expect(missing.errors?.[0]?.message).toBe(del.errors?.[0]?.message);
    expect(await rowCounts(t, ['projects'])).toEqual(before);
    const bobsList = await t.gql({ query: LIST, token: bob.accessToken, variables: { first: 100 } });
    expect(bobsList.data?.projects.nodes.map((p: { id: string }) => p.id)).not.toContain(project.id);

    const seen = await t.gql({ query: GET, token: admin.accessToken, variables: { id: project.id } });
    expect(seen.data?.project).toMatchObject({ id: project.id, owner: { id: alice.userId } });
    const renamed = await t.gql({
      query: UPDATE,
      token: admin.accessToken,
      variables: { id: project.id, input: { name: 'by admin' } },
    });
    expect(renamed.data?.updateProject.name).toBe('by admin');
    expect(
      (await t.gql({ query: DELETE, token: admin.accessToken, variables: { id: project.id } })).data?.deleteProject,
    ).toBe(true);
  });

  it("User.projects shows a user's projects to that user and ADMIN only", async () => {
    const own = await createProject(bob, 'bob-visible');
    const query = 'query ($id: ID!) { user(id: $id) { id projects { nodes { id } } } }';
    const asBob = await t.gql({ query, token: bob.accessToken, variables: { id: bob.userId } });
    expect(asBob.data?.user.projects.nodes.map((p: { id: string }) => p.id)).toContain(own.id);
    const asAlice = await t.gql({ query, token: alice.accessToken, variables: { id: bob.userId } });
    expect(asAlice.data?.user).toBeNull();
    const asAdmin = await t.gql({ query, token: admin.accessToken, variables: { id: bob.userId } });
    expect(asAdmin.data?.user.projects.nodes.map((p: { id: string }) => p.id)).toContain(own.id);
  });

  it('requires a token', async () => {
    const res = await t.gql({ query: CREATE, variables: { input: { name: 'anon' } } });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name'],
    ['a too long name', { name: 'n'.repeat(101) }, 'name'],
    ['a NUL byte', { name: 'a\u0000b' }, 'name'],
    ['a too long description', { name: 'ok', description: 'd'.repeat(2001) }, 'description'],
  ])('%s is BAD_USER_INPUT and stores nothing', async (_, input, field) => {
    const before = await rowCounts(t, ['projects']);
    const res = await t.gql({ query: CREATE, token: alice.accessToken, variables: { input } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(field);
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it('a refused update leaves the project as it was', async () => {
    const project = await createProject(alice, 'stable', 'as is');
    for (const input of [{ name: null }, { name: '' }, { description: 'x'.repeat(5000) }]) {
      const res = await t.gql({ query: UPDATE, token: alice.accessToken, variables: { id: project.id, input } });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    }
    const after = await t.gql({ query: GET, token: alice.accessToken, variables: { id: project.id } });
    expect(after.data?.project).toMatchObject({ name: 'stable', description: 'as is' });
  });

  it('stores Unicode and SQL-looking text verbatim', async () => {
    const name = "Robert'); DROP TABLE projects;-- 🤖 ünïcødé";
    const description = '  spaces kept \n and lines  ';
    const project = await createProject(alice, name, description);
    const res = await t.gql({ query: GET, token: alice.accessToken, variables: { id: project.id } });
    expect(res.data?.project).toMatchObject({ name, description });
  });

  it('a malformed id is simply not found', async () => {
    const res = await t.gql({ query: GET, token: alice.accessToken, variables: { id: "1' or '1'='1" } });
    expect(res.data?.project).toBeNull();
    expect(res.errors).toBeUndefined();
  });
});

describe('pagination', () => {
  it('is newest first, caps first at 100, and keeps cursors stable while rows are inserted', async () => {
    const owner = await signup(t);
    for (let i = 0; i < 105; i++) await createProject(owner, `p${i}`);

    const capped = await t.gql({ query: LIST, token: owner.accessToken, variables: { first: 1000 } });
    expect(capped.data?.projects.nodes).toHaveLength(100);
    expect(capped.data?.projects.pageInfo.hasNextPage).toBe(true);
    expect((await t.gql({ query: LIST, token: owner.accessToken })).data?.projects.nodes).toHaveLength(20);

    const first = await t.gql({ query: LIST, token: owner.accessToken, variables: { first: 10 } });
    expect(first.data?.projects.nodes.map((p: { name: string }) => p.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `p${104 - i}`),
    );
    // Newer rows arriving between pages neither repeat nor skip anything on the next page.
    await createProject(owner, 'newer-1');
    await createProject(owner, 'newer-2');
    const second = await t.gql({
      query: LIST,
      token: owner.accessToken,
      variables: { first: 10, after: first.data?.projects.pageInfo.endCursor },
    });
    expect(second.data?.projects.nodes.map((p: { name: string }) => p.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `p${94 - i}`),
    );

    let after: string | null = null;
    const seen: string[] = [];
    do {
      type Page = {
        projects: { nodes: Array<{ name: string }>; pageInfo: { hasNextPage: boolean; endCursor: string } };
      };
      const page: GraphQLResponse<Page> = await t.gql<Page>({
        query: LIST,
        token: owner.accessToken,
        variables: { first: 30, after },
      });
      const { nodes, pageInfo } = page.data!.projects;
      seen.push(...nodes.map((p) => p.name));
      after = pageInfo.hasNextPage ? pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(107);
    expect(new Set(seen).size).toBe(107);
  });

  it('rejects a negative first and a malformed cursor', async () => {
    expect(codes(await t.gql({ query: LIST, token: alice.accessToken, variables: { first: -1 } }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await t.gql({ query: LIST, token: alice.accessToken, variables: { after: 'nope' } }))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });
});

describe('roles', () => {
  const USERS = '{ users(first: 100) { nodes { id email } pageInfo { hasNextPage } } }';
  const SET_ROLE = 'mutation ($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }';

  it('users and setUserRole are ADMIN-only', async () => {
    expect(codes(await t.gql({ query: USERS, token: alice.accessToken }))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql({ query: USERS }))).toEqual(['UNAUTHENTICATED']);
    const refused = await t.gql({
      query: SET_ROLE,
      token: alice.accessToken,
      variables: { id: alice.userId, role: 'ADMIN' },
    });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect((await t.gql({ query: '{ me { role } }', token: alice.accessToken })).data?.me.role).toBe('USER');

    const listed = await t.gql({ query: USERS, token: admin.accessToken });
    expect(listed.data?.users.nodes.map((u: { id: string }) => u.id)).toEqual(
      expect.arrayContaining([alice.userId, bob.userId, admin.userId]),
    );
    const promoted = await t.gql({
      query: SET_ROLE,
      token: admin.accessToken,
      variables: { id: bob.userId, role: 'ADMIN' },
    });
    expect(promoted.data?.setUserRole).toEqual({ id: bob.userId, role: 'ADMIN' });
    const demoted = await t.gql({
      query: SET_ROLE,
      token: admin.accessToken,
      variables: { id: bob.userId, role: 'USER' },
    });
    expect(demoted.data?.setUserRole.role).toBe('USER');
  });

  it('a user sees only themselves through user(id)', async () => {
    const query = 'query ($id: ID!) { user(id: $id) { id } }';
    expect((await t.gql({ query, token: alice.accessToken, variables: { id: alice.userId } })).data?.user.id).toBe(
      alice.userId,
    );
    expect((await t.gql({ query, token: alice.accessToken, variables: { id: bob.userId } })).data?.user).toBeNull();
    expect((await t.gql({ query, token: admin.accessToken, variables: { id: bob.userId } })).data?.user.id).toBe(
      bob.userId,
    );
  });

  it('setUserRole on an unknown user is NOT_FOUND', async () => {
    const res = await t.gql({
      query: SET_ROLE,
      token: admin.accessToken,
      variables: { id: '00000000-0000-4000-8000-000000000000', role: 'ADMIN' },
    });
    expect(codes(res)).toEqual(['NOT_FOUND']);
  });
});
