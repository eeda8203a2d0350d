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

describe('0009_webhooks', () => {
  it('gives every project from before a signing secret of its own; predictions from before have no webhook', async () => {
    const { db } = connection;
    // Back to the migration before this one.
    expect(await migrateTo(db, '0008_model_registry')).toContain('0009_webhooks');
    const owner = await insertUser(db);
    const projects = [await insertProject(db, owner), await insertProject(db, owner)];
    const prediction = await insertPrediction(db, projects[0]!, owner);

    expect(await migrateToLatest(db)).toContain('0009_webhooks');
    const secrets = await db.selectFrom('webhook_signing_secrets').selectAll().execute();
    expect(secrets.map((row) => row.project_id).sort()).toEqual([...projects].sort());
    for (const { secret } of secrets) {
      expect(secret).toMatch(/^whsec_/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    }
    expect(new Set(secrets.map((row) => row.secret)).size).toBe(2);
    const row = await db
      .selectFrom('predictions')
      .select(['webhook_url', 'webhook_events'])
      .where('id', '=', prediction)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ webhook_url: null, webhook_events: null });
  });
});
