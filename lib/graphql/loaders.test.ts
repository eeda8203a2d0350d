import { randomUUID } from 'node:crypto';
import type { Kysely, LogEvent } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { insertProject, insertUser } from '../../test/helpers/rows.js';
import { connectDatabase, type DatabaseConnection } from '../db/connect.js';
import { newestFirstPerParent } from '../db/pagination.js';
import type { Database, ProjectRow } from '../db/schema.js';
import { createByIdLoader, createPageLoader } from './loaders.js';
import type { PageArgs } from './pagination.js';

// The loaders over real queries on a real database: what each load answers, and how many
// statements a request's loads cost.

let database: TestDatabase;
let connection: DatabaseConnection;
let db: Kysely<Database>;
const statements: string[] = [];
const owners: string[] = [];
/** Each owner's projects, newest first. */
const projectsOf = new Map<string, ProjectRow[]>();

beforeAll(async () => {
  database = await createTestDatabase();
  const onQuery = (event: LogEvent) => void statements.push(event.query.sql);
  connection = await connectDatabase({ databaseUrl: database.url, dataDir: '', onQuery });
  db = connection.db;
  for (let i = 0; i < 3; i++) {
    const owner = await insertUser(db);
    owners.push(owner);
    for (let j = 0; j <= i; j++) await insertProject(db, owner);
    const rows = await db.selectFrom('projects').selectAll().where('user_id', '=', owner).execute();
    projectsOf.set(
      owner,
      rows.sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : -1)),
    );
  }
});

afterAll(async () => {
  await connection?.close();
  await database?.drop();
});

const findUsers = (ids: string[]) => db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
const listProjects = (ownerIds: string[], page: PageArgs) =>
  newestFirstPerParent(db, db.selectFrom('projects').selectAll(), {
    parent: 'user_id',
    parentIds: ownerIds,
    keyset: ['created_at', 'id'],
    page,
  });

/** Runs `loads` the way resolvers of one request do (same tick) and counts the statements they cost. */
async function counted<T>(loads: () => Promise<T>): Promise<{ result: T; statements: number }> {
  statements.splice(0);
  const result = await loads();
  return { result, statements: statements.length };
}

describe('createByIdLoader', () => {
  it('loads the ids asked together with one statement, null for an unknown id', async () => {
    const users = createByIdLoader((ids) => (ids.length === 0 ? Promise.resolve([]) : findUsers(ids)));
    const unknown = randomUUID();
    const { result, statements: count } = await counted(() =>
      Promise.all([...owners, unknown, owners[0]!].map((id) => users.load(id))),
    );
    expect(count).toBe(1);
    expect(result.map((user) => user?.id ?? null)).toEqual([...owners, null, owners[0]]);
  });

  it('never sends an id that is not a UUID to SQL', async () => {
    const asked: string[][] = [];
    const users = createByIdLoader((ids) => {
      asked.push(ids);
      return ids.length === 0 ? Promise.resolve([]) : findUsers(ids);
    });
    const { result, statements: count } = await counted(() =>
      Promise.all([users.load('not-a-uuid'), users.load("1' or '1'='1")]),
    );
    expect(result).toEqual([null, null]);
    expect(asked).toEqual([[]]);
    expect(count).toBe(0);
  });
});

describe('createPageLoader', () => {
  it("answers each parent's page, the same page of many parents in one statement", async () => {
    const pages = createPageLoader(listProjects);
    const page = { first: 1, after: null };
    const stranger = randomUUID();
    const { result, statements: count } = await counted(() =>
      Promise.all([...owners, stranger].map((parentId) => pages.load({ parentId, page }))),
    );
    expect(count).toBe(1);
    expect(result).toEqual([...owners.map((owner) => projectsOf.get(owner)!.slice(0, 2)), []]);
  });

  it('asks once per distinct page, and pages after each cursor', async () => {
    const pages = createPageLoader(listProjects);
    const owner = owners[2]!;
    const [newest, second] = projectsOf.get(owner)!;
    const after = { createdAt: newest!.created_at, id: newest!.id };
    const { result, statements: count } = await counted(() =>
      Promise.all([
        pages.load({ parentId: owner, page: { first: 1, after: null } }),
        pages.load({ parentId: owners[1]!, page: { first: 1, after: null } }),
        pages.load({ parentId: owner, page: { first: 1, after } }),
        // The same key again: the loader's cache answers it.
        pages.load({ parentId: owner, page: { first: 1, after: { ...after } } }),
        pages.load({ parentId: owner, page: { first: 5, after: null } }),
      ]),
    );
    expect(count).toBe(3);
    const mine = projectsOf.get(owner)!;
    expect(result).toEqual([
      mine.slice(0, 2),
      projectsOf.get(owners[1]!)!.slice(0, 2),
      mine.slice(1, 3),
      mine.slice(1, 3),
      mine,
    ]);
    expect(result[2]![0]).toEqual(second);
  });

  it('gives a parent id that is not a UUID an empty page without reaching SQL', async () => {
    const pages = createPageLoader(listProjects);
    const { result, statements: count } = await counted(() =>
      pages.load({ parentId: 'projects', page: { first: 5, after: null } }),
    );
    expect(result).toEqual([]);
    expect(count).toBe(0);
  });
});
