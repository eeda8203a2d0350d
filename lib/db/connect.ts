import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import type { Database } from './schema.js';
import { makePrivateDir } from '../storage/private-files.js';
import { tracingEnabled } from '../telemetry/tracing.js';
import { pruneTemplates } from './pglite-template.js';
import { querySpan } from './query-spans.js';

export type DatabaseConnection = {
  db: Kysely<Database>;
  /** `postgres` for a server reached by DATABASE_URL, `pglite` for the embedded default. */
  kind: 'postgres' | 'pglite';
  /**
   * Embedded, created by this start without a template, and given a `template` path: writes the
   * database as it is now there, for the next new data folder (call it right after migrating).
   */
  saveTemplate?: () => Promise<void>;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  /** postgres:// URL; when absent the embedded PGlite database under `dataDir` is used. */
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  /** Pool size toward PostgreSQL. @default 10 */
  poolSize?: number;
  /** Called after every executed query: tests count queries with it, metrics time them. */
  onQuery?: (event: LogEvent) => void;
  /** Told when the server closes an idle pooled connection. */
  onIdleError?: (error: Error) => void;
  /**
   * Embedded only: a tarball of a freshly migrated database. A new data folder starts from it
   * (PGlite's initdb is most of a first start); absent, `saveTemplate` writes it. Its name must
   * change with anything that changes its content (the PGlite version, the migrations).
   */
  template?: string | undefined;
};

const INT8_OID = 20;

// bigint columns hold byte sizes and counters far below 2^53; parse them as numbers on both drivers.
const parseInt8 = (value: string): number => Number(value);

export async function connectDatabase(options: DatabaseOptions): Promise<DatabaseConnection> {
  const onQuery = options.onQuery;
  // Spans of queries while tracing is on (lib/telemetry starts before the database opens).
  const log: ((event: LogEvent) => void) | undefined = tracingEnabled()
    ? (event) => {
        querySpan(event);
        onQuery?.(event);
      }
    : onQuery;
  if (options.databaseUrl) {
    // Loaded only for a server: the embedded default never needs it.
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection the server drops (restart, failover, admin termination) must not crash the
    // process: pg emits it on the pool, and the next query simply opens a new connection.
    pool.on('error', (error) => options.onIdleError?.(error));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const { openPgliteThread } = await import('./pglite-thread.js');
  const { createPglitePool } = await import('./pglite-pool.js');
  const dir = join(options.dataDir, 'pglite');
  // Password hashes and roles live there: private (0700/0600), fixing files an older version left
  // readable. PGlite creates its files with the process's umask, which the entry points set (PRIVATE_UMASK).
  await makePrivateDir(dir);
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  const template = fresh && options.template ? await readFile(options.template).catch(() => undefined) : undefined;
  // In a thread of its own: PGlite runs each query synchronously on the thread that calls it.
  const pglite = await openPgliteThread({ dir, template });
  // A first start unpacks PGlite's initial database (or the template) with the archive's modes
  // (0666), past the umask: made private again once it is there. Files Postgres creates later are 0600.
  if (fresh) await makePrivateDir(dir);
  const templateFile = options.template;
  const saveTemplate =
    fresh && !template && templateFile
      ? async () => {
          // Everything on disk first, then one file appearing whole (two starts may race to write it).
          await pglite.exec('checkpoint');
          const tarball = await pglite.dumpDataDir();
          const partial = `${templateFile}.${process.pid}.partial`;
          await writeFile(partial, tarball, { mode: 0o600 });
          await rename(partial, templateFile);
          await pruneTemplates(templateFile);
        }
      : undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: createPglitePool(pglite) }),
    ...(log ? { log } : {}),
  });
  return { db, kind: 'pglite', ...(saveTemplate ? { saveTemplate } : {}), close: () => db.destroy() };
}

/** PostgreSQL's code for a unique-constraint violation. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== '23505') return false;
  return constraint === undefined || e.constraint === constraint || String(e.message).includes(constraint);
}

/** Whether `error` is PostgreSQL's foreign_key_violation (a referenced row is missing). */
export function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';
}

/** Readiness probe: the database answers a trivial query. */
export async function pingDatabase(db: Kysely<Database>): Promise<boolean> {
  await sql`select 1`.execute(db);
  return true;
}
