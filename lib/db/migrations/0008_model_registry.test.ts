import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { insertPrediction, insertProject, insertUser } from '../../../test/helpers/rows.js';
import { connectDatabase, type DatabaseConnection } from '../connect.js';
import { migrateTo, migrateToLatest } from '../migrate.js';

let database: TestDatabase;
let connection: DatabaseConnection;
beforeAll(async () => {
  database = await createTestDatabase();
  connection = await connectDatabase({ databaseUrl: database.url, dataDir: '' });
});
afterAll(async () => {
  await connection?.close();
  await database?.drop();
});

describe('0008_model_registry', () => {
  it('names every model stored before it `default`, keeps its rows and history, and unique per name', async () => {
    const { db } = connection;
    // Back to before it (a migration numbered between 0006 and 0008 goes and comes back with it).
    expect(await migrateTo(db, '0006_logs_owner')).toContain('0008_model_registry');
    const owner = await insertUser(db);
    const [first, second] = [await insertProject(db, owner), await insertProject(db, owner)];
    // Old rows, written as the code before the migration wrote them (no name, no tags).
    const old = async (projectId: string, version: string) => {
      const id = randomUUID();
      await sql`insert into models (id, project_id, version, status, storage_key, storage_path)
        values (${id}, ${projectId}, ${version}, 'PENDING_UPLOAD', ${`projects/${projectId}/models/${id}/model.onnx`}, 'x')`.execute(
        db,
      );
      return id;
    };
    const a = await old(first, 'v1');
    const b = await old(first, 'v2');
    const c = await old(second, 'v1');
    const prediction = await insertPrediction(db, first, owner);

    expect(await migrateToLatest(db)).toContain('0008_model_registry');
    const rows = await db
      .selectFrom('models')
      .select(['id', 'project_id', 'name', 'version', 'tags'])
      .where('id', 'in', [a, b, c])
      .orderBy('version')
      .orderBy('project_id')
      .execute();
    expect(Object.fromEntries(rows.map((row) => [row.id, [row.name, row.version, row.tags]]))).toEqual({
      [a]: ['default', 'v1', {}],
      [b]: ['default', 'v2', {}],
      [c]: ['default', 'v1', {}],
    });
    // Its history is untouched.
    expect(await db.selectFrom('predictions').select('id').where('id', '=', prediction).execute()).toHaveLength(1);

    // A version is unique per (project, name) now, no longer per project.
    const insert = (projectId: string, name: string, version: string) =>
      db
        .insertInto('models')
        .values({
          id: randomUUID(),
          project_id: projectId,
          name,
          version,
          status: 'PENDING_UPLOAD',
          storage_key: 'k',
          storage_path: 'x',
        })
        .execute();
    await expect(insert(first, 'default', 'v1')).rejects.toMatchObject({ code: '23505' });
    await insert(first, 'other', 'v1');
    // Names and aliases are slugs, in the database too.
    await expect(insert(first, 'Not A Slug', 'v9')).rejects.toMatchObject({ code: '23514' });
    // An alias points only at a version of its own project and name.
    const alias = (name: string, modelId: string) =>
      db
        .insertInto('model_aliases')
        .values({ project_id: first, name, alias: 'production', model_id: modelId })
        .execute();
    await expect(alias('other', a)).rejects.toMatchObject({ code: '23503' });
    await alias('default', a);
    await expect(alias('default', b)).rejects.toMatchObject({ code: '23505' });
    // It goes with its version.
    await db.deleteFrom('models').where('id', '=', a).execute();
    expect(await db.selectFrom('model_aliases').selectAll().execute()).toEqual([]);
  });

  it('rolls back to one series per project while no two names share a version', async () => {
    const { db } = connection;
    await db.deleteFrom('models').where('name', '=', 'other').execute();
    expect(await migrateTo(db, '0006_logs_owner')).toContain('0008_model_registry');
    expect(await migrateToLatest(db)).toContain('0008_model_registry');
  });
});
