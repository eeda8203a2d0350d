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

describe('0006_logs_owner', () => {
  it("fills in the reader of every entry written before it, by the links' owners", async () => {
    const { db } = connection;
    expect(await migrateTo(db, '0005_logs')).toEqual(['0007_api_keys', '0006_logs_owner']);
    const [alice, bob] = [await insertUser(db), await insertUser(db)];
    const [aliceProject, bobProject] = [await insertProject(db, alice), await insertProject(db, bob)];
    const alicePrediction = await insertPrediction(db, aliceProject, alice);
    // Started by alice on bob's project: bob's.
    const bobPrediction = await insertPrediction(db, bobProject, alice);
    const entries = {
      project: { project_id: aliceProject },
      prediction: { prediction_id: bobPrediction },
      both: { project_id: aliceProject, prediction_id: alicePrediction },
      disagreeing: { project_id: aliceProject, prediction_id: bobPrediction },
      aboutUser: { user_id: bob },
      nothing: {},
    };
    const ids: Record<string, string> = {};
    for (const [name, links] of Object.entries(entries)) {
      ids[name] = randomUUID();
      await sql`insert into logs (id, level, message, service, project_id, prediction_id, user_id)
        values (${ids[name]}, 'INFO', ${name}, 'test', ${'project_id' in links ? links.project_id : null},
          ${'prediction_id' in links ? links.prediction_id : null}, ${'user_id' in links ? links.user_id : null})`.execute(
        db,
      );
    }

    expect(await migrateToLatest(db)).toEqual(['0006_logs_owner', '0007_api_keys']);
    const rows = await db.selectFrom('logs').select(['message', 'owner_id']).execute();
    expect(Object.fromEntries(rows.map((row) => [row.message, row.owner_id]))).toEqual({
      project: alice,
      prediction: bob,
      both: alice,
      disagreeing: null,
      aboutUser: bob,
      nothing: null,
    });
  });
});
