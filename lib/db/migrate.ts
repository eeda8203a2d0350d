import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import type { Database } from './schema.js';
import * as m0001 from './migrations/0001_users_projects.js';
import * as m0002 from './migrations/0002_documents.js';
import * as m0003 from './migrations/0003_models.js';
import * as m0004 from './migrations/0004_inference.js';
import * as m0005 from './migrations/0005_logs.js';
import * as m0006 from './migrations/0006_logs_owner.js';
import * as m0007 from './migrations/0007_api_keys.js';
import * as m0008 from './migrations/0008_model_registry.js';
import * as m0009 from './migrations/0009_webhooks.js';

/** Every migration, in order. Listed statically so they work from sources and from the build alike. */
const migrations: Record<string, Migration> = {
  '0001_users_projects': m0001,
  '0002_documents': m0002,
  '0003_models': m0003,
  '0004_inference': m0004,
  '0005_logs': m0005,
  '0006_logs_owner': m0006,
  '0007_api_keys': m0007,
  '0008_model_registry': m0008,
  '0009_webhooks': m0009,
};

/**
 * Whether every migration this code knows is applied, and no other: one read of Kysely's own table
 * (no lock, no table creation), which is what a start on an up-to-date database needs. Any doubt
 * (the table missing, another list) answers false and leaves the decision to the migrator.
 */
async function upToDate(db: Kysely<Database>): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    const known = Object.keys(migrations);
    return rows.length === known.length && rows.every((row, i) => row.name === known[i]);
  } catch {
    return false;
  }
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  if (await upToDate(db)) return [];
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Migrates up or down to `name` (the last migration to keep applied), e.g. to roll a release back;
 * returns the migrations that ran, in the order they ran.
 */
export async function migrateTo(db: Kysely<Database>, name: string): Promise<string[]> {
  if (!(name in migrations)) throw new Error(`no migration named ${name}`);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The names of every migration this code knows, in order (a backup records the last one it holds). */
export const migrationNames = (): string[] => Object.keys(migrations);
