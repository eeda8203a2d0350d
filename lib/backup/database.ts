import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { makePrivateDir } from '../storage/private-files.js';

const run = promisify(execFile);

/** Rows and an order-independent checksum of one table's contents, as `schema.table`. */
export type TableStats = Record<string, { rows: number; checksum: string }>;

/** What a backup or a restore learns of the database it read or wrote. */
export type DatabaseState = {
  tables: TableStats;
  /** The last migration applied (kysely_migration), or null when there is none. */
  migration: string | null;
};

/** The part of the database a query runs on: pg's client or PGlite, both answer `query(sql) → {rows}`. */
export type Queryable = { query(sql: string): Promise<{ rows: unknown[] }> };

/** The binaries of PostgreSQL's client tools (Debian's postgresql-client puts them in /usr/bin). */
export type PgTools = { pgDump: string; pgRestore: string };
export const DEFAULT_PG_TOOLS: PgTools = { pgDump: 'pg_dump', pgRestore: 'pg_restore' };

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Every table in every user schema (generic: tables other releases add are in it without a list to
 * maintain), its row count, and a checksum of its rows that does not depend on their order: the sum
 * of the first 60 bits of each row's md5, as text. Dates and times are rendered in UTC/ISO so two
 * servers with different settings agree.
 */
export async function readDatabaseState(db: Queryable): Promise<DatabaseState> {
  await db.query(`set timezone = 'UTC'`);
  await db.query(`set datestyle = 'ISO, YMD'`);
  await db.query(`set intervalstyle = 'postgres'`);
  await db.query(`set extra_float_digits = 1`);
  const { rows } = (await db.query(
    `select table_schema, table_name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        and table_schema not like 'pg\\_%'
      order by table_schema, table_name`,
  )) as { rows: Array<{ table_schema: string; table_name: string }> };
  const tables: TableStats = {};
  for (const { table_schema: schema, table_name: name } of rows) {
    const table = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const result = (await db.query(
      `select count(*)::text as rows,
              coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text as checksum
         from ${table} t`,
    )) as { rows: Array<{ rows: string; checksum: string }> };
    const [stats] = result.rows;
    tables[`${schema}.${name}`] = { rows: Number(stats?.rows ?? 0), checksum: stats?.checksum ?? '0' };
  }
  let migration: string | null = null;
  if (tables['public.kysely_migration']) {
    const result = (await db.query(`select name from public.kysely_migration order by name desc limit 1`)) as {
      rows: Array<{ name: string }>;
    };
    migration = result.rows[0]?.name ?? null;
  }
  return { tables, migration };
}

/** The tables a database holds, `schema.table`: a restore needs a database with none. */
export async function listTables(db: Queryable): Promise<string[]> {
  const { rows } = (await db.query(
    `select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%'
      order by 1`,
  )) as { rows: Array<{ name: string }> };
  return rows.map((r) => r.name);
}

/**
 * A PostgreSQL database by URL; TLS settings travel in it as libpq reads them (`sslmode=verify-full&sslrootcert=…`),
 * which pg and pg_dump/pg_restore understand alike (lib/tls adds DATABASE_CA_FILE there).
 */
export type PostgresTarget = { url: string };

async function withClient<T>(target: PostgresTarget, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * pg_dump in its custom format, of the very snapshot the table statistics are read from (a
 * repeatable-read transaction exports it), so the manifest describes exactly what the file holds.
 */
export async function dumpPostgres(
  target: PostgresTarget,
  file: string,
  tools: PgTools = DEFAULT_PG_TOOLS,
): Promise<DatabaseState> {
  return withClient(target, async (client) => {
    await client.query('begin isolation level repeatable read read only');
    try {
      const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
      const state = await readDatabaseState(client);
      await run(
        tools.pgDump,
        ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`, `--file=${file}`, target.url],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      return state;
    } finally {
      await client.query('rollback');
    }
  });
}

/** The tables of the target database; a restore writes into a database that has none. */
export async function postgresTables(target: PostgresTarget): Promise<string[]> {
  return withClient(target, (client) => listTables(client));
}

/** pg_restore into an empty database, in one transaction: on any error nothing is left behind. */
export async function restorePostgres(
  target: PostgresTarget,
  file: string,
  tools: PgTools = DEFAULT_PG_TOOLS,
): Promise<DatabaseState> {
  await run(
    tools.pgRestore,
    ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${target.url}`, file],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return withClient(target, (client) => readDatabaseState(client));
}

/** Where the embedded database keeps its files (as lib/db/connect.ts opens it). */
export const pgliteDir = (dataDir: string): string => join(dataDir, 'pglite');

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Whether DATA_DIR holds no embedded database yet. */
export const pgliteIsEmpty = (dataDir: string): Promise<boolean> => isEmptyDir(pgliteDir(dataDir));

/**
 * The embedded database as PGlite's own data-directory archive (tar.gz). PGlite is one process's
 * database: the platform using this DATA_DIR must be stopped while it is read.
 */
export async function dumpPglite(dataDir: string, file: string): Promise<DatabaseState> {
  const dir = pgliteDir(dataDir);
  if (await isEmptyDir(dir)) throw new Error(`no embedded database in ${dir}`);
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir);
  try {
    const state = await readDatabaseState(pglite);
    const archive = await pglite.dumpDataDir('gzip');
    await writeFile(file, Buffer.from(await archive.arrayBuffer()));
    return state;
  } finally {
    await pglite.close();
  }
}

/** Unpacks a PGlite archive as DATA_DIR's embedded database (which must not exist yet). */
export async function restorePglite(dataDir: string, file: string): Promise<DatabaseState> {
  const dir = pgliteDir(dataDir);
  await mkdir(dataDir, { recursive: true });
  await makePrivateDir(dir);
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir, { loadDataDir: new Blob([await readFile(file)]) });
  try {
    return await readDatabaseState(pglite);
  } finally {
    await pglite.close();
    await makePrivateDir(dir);
  }
}
