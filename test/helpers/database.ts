import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectDatabase } from '../../lib/db/connect.js';
import { migrateToLatest } from '../../lib/db/migrate.js';
import { testEnv } from './env.js';

/** Migrated once per test run (global setup); every test file copies it into a database of its own. */
export const TEMPLATE_DATABASE = testEnv.templateDatabase;

function urlFor(database: string): string {
  const url = new URL(testEnv.adminDatabaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testEnv.adminDatabaseUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Recreates the migrated template database. */
export async function prepareTemplateDatabase(): Promise<void> {
  await admin(async (client) => {
    await client.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await client.query(`create database ${TEMPLATE_DATABASE}`);
  });
  const { db, close } = await connectDatabase({ databaseUrl: urlFor(TEMPLATE_DATABASE), dataDir: '' });
  try {
    await migrateToLatest(db);
  } finally {
    await close();
  }
}

export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

/** A fresh, migrated PostgreSQL database for one test file, so files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ai_code_test_${randomBytes(6).toString('hex')}`;
  await admin(async (client) => {
    // Two files copying the template at the same moment make PostgreSQL refuse one (55006): retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  return {
    url: urlFor(name),
    name,
    drop: () => admin(async (client) => void (await client.query(`drop database if exists ${name} with (force)`))),
  };
}
