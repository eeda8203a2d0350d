import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseConnection } from './connect.js';
import { migrateTo, migrateToLatest, migrationNames } from './migrate.js';

const dataDir = mkdtempSync(join(tmpdir(), 'migrate-test-'));
let queries = 0;
let database: DatabaseConnection | undefined;
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('migrateToLatest', () => {
  it('applies what is missing, and on an up-to-date database reads one table and nothing else', async () => {
    database = await connectDatabase({ dataDir, onQuery: () => void queries++ });
    expect(await migrateToLatest(database.db)).toEqual(migrationNames());
    queries = 0;
    expect(await migrateToLatest(database.db)).toEqual([]);
    expect(queries).toBe(1);
    const [last] = migrationNames().slice(-1);
    const [beforeLast] = migrationNames().slice(-2, -1);
    await migrateTo(database.db, beforeLast!);
    expect(await migrateToLatest(database.db)).toEqual([last]);
  });
});
