import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { insertProject, insertUser } from '../../../test/helpers/rows.js';
import { connectDatabase, isUniqueViolation, type DatabaseConnection } from '../connect.js';
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

const key = (userId: string, projectId: string | null, hash: string) => ({
  id: randomUUID(),
  user_id: userId,
  name: 'ci',
  prefix: 'aic_abcdefgh',
  secret_hash: hash,
  scopes: JSON.stringify(['READ']),
  project_id: projectId,
  expires_at: null,
});

describe('0007_api_keys', () => {
  it('adds api_keys to a database holding users and projects, keeping them; keys go with their project and owner', async () => {
    const { db } = connection;
    // Later migrations go back first, and come again with it.
    expect(await migrateTo(db, '0006_logs_owner')).toContain('0007_api_keys');
    const alice = await insertUser(db);
    const project = await insertProject(db, alice);

    expect(await migrateToLatest(db)).toContain('0007_api_keys');
    expect(await db.selectFrom('users').select('id').where('id', '=', alice).execute()).toHaveLength(1);
    await db
      .insertInto('api_keys')
      .values(key(alice, null, 'a'.repeat(64)))
      .execute();
    await db
      .insertInto('api_keys')
      .values(key(alice, project, 'b'.repeat(64)))
      .execute();
    const [stored] = await db.selectFrom('api_keys').selectAll().where('secret_hash', '=', 'a'.repeat(64)).execute();
    expect(stored).toMatchObject({ scopes: ['READ'], revoked_at: null, last_used_at: null });
    expect(stored!.created_at).toBeInstanceOf(Date);

    // One key per secret; only hex SHA-256 digests are stored.
    const duplicate = await db
      .insertInto('api_keys')
      .values(key(alice, null, 'a'.repeat(64)))
      .execute()
      .catch((e) => e);
    expect(isUniqueViolation(duplicate, 'api_keys_secret_hash_key')).toBe(true);
    await expect(
      db
        .insertInto('api_keys')
        .values(key(alice, null, 'aic_secret'))
        .execute(),
    ).rejects.toThrow();

    await db.deleteFrom('projects').where('id', '=', project).execute();
    expect(await db.selectFrom('api_keys').select('id').execute()).toHaveLength(1);
    await db.deleteFrom('users').where('id', '=', alice).execute();
    expect(await db.selectFrom('api_keys').select('id').execute()).toHaveLength(0);

    // And back: the table goes, nothing else.
    // Later migrations go back first, and come again with it.
    expect(await migrateTo(db, '0006_logs_owner')).toContain('0007_api_keys');
    expect(await migrateToLatest(db)).toContain('0007_api_keys');
  });
});
