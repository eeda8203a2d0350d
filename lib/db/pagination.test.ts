import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/database.js';
import { insertUser } from '../../test/helpers/rows.js';
import type { Cursor, PageArgs } from '../graphql/pagination.js';
import { connectDatabase, type DatabaseConnection } from './connect.js';
import { migrateToLatest } from './migrate.js';
import { afterCursor, newestFirstPage, newestFirstPerParent } from './pagination.js';
import type { Database, ProjectRow } from './schema.js';

// One contract, both engines the platform runs on (PostgreSQL, and PGlite for the embedded
// default), against real databases: the rows each page holds, their order, and the statements.

type Opened = { connection: DatabaseConnection; statements: string[]; cleanup(): Promise<void> };

const engines: Array<{ name: string; open(): Promise<Opened> }> = [
  {
    name: 'postgres',
    async open() {
      const database = await createTestDatabase();
      const statements: string[] = [];
      const connection = await connectDatabase({
        databaseUrl: database.url,
        dataDir: '',
        onQuery: (event) => void statements.push(event.query.sql),
      });
      return {
        connection,
        statements,
        async cleanup() {
          await connection.close();
          await database.drop();
        },
      };
    },
  },
  {
    name: 'pglite',
    async open() {
      const dataDir = await mkdtemp(join(tmpdir(), 'ai-code-pagination-'));
      const statements: string[] = [];
      const connection = await connectDatabase({ dataDir, onQuery: (event) => void statements.push(event.query.sql) });
      await migrateToLatest(connection.db);
      return {
        connection,
        statements,
        async cleanup() {
          await connection.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];

const cursorOf = (row: ProjectRow): Cursor => ({ createdAt: row.created_at, id: row.id });

/** The order every listing promises: newest first, ties broken by id, descending. */
const newestFirst = (a: ProjectRow, b: ProjectRow): number =>
  b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

describe.each(engines.map((engine) => [engine.name, engine] as const))('keyset pagination: %s', (_name, engine) => {
  let opened: Opened;
  let db: Kysely<Database>;
  /** Every project, newest first. */
  let all: ProjectRow[];
  const owners: string[] = [];

  beforeAll(async () => {
    opened = await engine.open();
    db = opened.connection.db;
    for (let i = 0; i < 3; i++) owners.push(await insertUser(db));
    // Owner i has 3 + 2i projects; several share a timestamp, so the id must break the ties.
    const base = Date.UTC(2026, 0, 1);
    const rows = owners.flatMap((ownerId, i) =>
      Array.from({ length: 3 + 2 * i }, (_, j) => ({
        id: randomUUID(),
        user_id: ownerId,
        name: `project ${i}.${j}`,
        created_at: new Date(base + Math.floor(j / 2) * 1000 + i),
      })),
    );
    await db.insertInto('projects').values(rows).execute();
    all = (await db.selectFrom('projects').selectAll().execute()).sort(newestFirst);
  });
  afterAll(() => opened?.cleanup());

  const projects = () => db.selectFrom('projects').selectAll();

  /** Follows cursors from the first page to the last, as a client does. */
  async function walk<T>(first: number, list: (page: PageArgs) => Promise<T[]>, cursor: (row: T) => Cursor) {
    const pages: T[][] = [];
    let after: Cursor | null = null;
    for (;;) {
      const rows = await list({ first, after });
      expect(rows.length).toBeLessThanOrEqual(first + 1);
      pages.push(rows.slice(0, first));
      if (rows.length <= first) return pages;
      after = cursor(rows[first - 1]!);
    }
  }

  it('afterCursor adds nothing without a cursor, and keeps the rows strictly after one', async () => {
    expect(await afterCursor(projects(), ['created_at', 'id'], null).execute()).toHaveLength(all.length);
    const cursor = cursorOf(all[4]!);
    const after = await afterCursor(projects(), ['created_at', 'id'], cursor).execute();
    expect(after.sort(newestFirst)).toEqual(all.slice(5));
  });

  it('newestFirstPage fetches first + 1 rows, newest first, ties broken by id', async () => {
    expect(await newestFirstPage(projects(), ['created_at', 'id'], { first: 4, after: null }).execute()).toEqual(
      all.slice(0, 5),
    );
    expect(
      await newestFirstPage(projects(), ['projects.created_at', 'projects.id'], { first: 0, after: null }).execute(),
    ).toEqual(all.slice(0, 1));
  });

  it('newestFirstPage pages through every row exactly once, keeping the query’s own filters', async () => {
    for (const first of [1, 2, 5, 100]) {
      const pages = await walk(
        first,
        (page) => newestFirstPage(projects(), ['created_at', 'id'], page).execute(),
        cursorOf,
      );
      expect(pages.flat()).toEqual(all);
    }
    const owner = owners[1]!;
    const pages = await walk(
      2,
      (page) => newestFirstPage(projects().where('user_id', '=', owner), ['created_at', 'id'], page).execute(),
      cursorOf,
    );
    expect(pages.flat()).toEqual(all.filter((row) => row.user_id === owner));
  });

  it('newestFirstPerParent answers every parent asked for, each with its own page, in one statement', async () => {
    const stranger = randomUUID();
    opened.statements.splice(0);
    const pages = await newestFirstPerParent(db, projects(), {
      parent: 'user_id',
      parentIds: [...owners, stranger],
      keyset: ['created_at', 'id'],
      page: { first: 3, after: null },
    });
    expect(opened.statements).toHaveLength(1);
    expect([...pages.keys()]).toEqual([...owners, stranger]);
    for (const owner of owners) {
      expect(pages.get(owner)).toEqual(all.filter((row) => row.user_id === owner).slice(0, 4));
    }
    expect(pages.get(stranger)).toEqual([]);
  });

  it('newestFirstPerParent pages each parent after the cursor, and asks nothing for no parents', async () => {
    const owner = owners[2]!;
    const mine = all.filter((row) => row.user_id === owner);
    for (const first of [1, 2, 3]) {
      const pages = await walk(
        first,
        async (page) =>
          (
            await newestFirstPerParent(db, projects().where('name', 'like', 'project %'), {
              parent: 'projects.user_id',
              parentIds: [owner, owners[0]!],
              keyset: ['projects.created_at', 'projects.id'],
              page,
            })
          ).get(owner)!,
        cursorOf,
      );
      expect(pages.flat()).toEqual(mine);
    }
    opened.statements.splice(0);
    const none = await newestFirstPerParent(db, projects(), {
      parent: 'user_id',
      parentIds: [],
      keyset: ['created_at', 'id'],
      page: { first: 3, after: null },
    });
    expect(none.size).toBe(0);
    expect(opened.statements).toHaveLength(0);
  });

  it('newestFirstPerParent returns the rows as the query selects them, without its rank', async () => {
    const pages = await newestFirstPerParent(db, db.selectFrom('projects').select(['id', 'user_id', 'created_at']), {
      parent: 'user_id',
      parentIds: [owners[0]!],
      keyset: ['created_at', 'id'],
      page: { first: 1, after: null },
    });
    const [newest] = all.filter((row) => row.user_id === owners[0]);
    expect(pages.get(owners[0]!)![0]).toStrictEqual({
      id: newest!.id,
      user_id: owners[0],
      created_at: newest!.created_at,
    });
  });
});
