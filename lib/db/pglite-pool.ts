import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type { PgliteHandle } from './pglite-thread.js';

/**
 * Presents an embedded PGlite database as the subset of pg's `Pool` that kysely's
 * PostgresDialect needs, so the same repository code runs on PGlite and on PostgreSQL.
 *
 * PGlite is a single connection: a transaction must own it from BEGIN to COMMIT, so
 * `connect()` hands it out to one caller at a time and queues the others.
 */
export function createPglitePool(pglite: PgliteHandle): PostgresPool {
  let busy = false;
  const waiting: Array<() => void> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else busy = false;
  };

  const client: PostgresPoolClient = {
    // kysely only passes a cursor for `.stream()`, which this project does not use on PGlite.
    query: (async (sql: string, parameters: ReadonlyArray<unknown>) => {
      const result = await pglite.query(sql, parameters);
      return {
        command: (result.command ?? 'SELECT') as PostgresQueryResult<unknown>['command'],
        rowCount: result.affectedRows ?? result.rows.length,
        rows: result.rows,
      };
    }) as PostgresPoolClient['query'],
    release,
  };

  return {
    async connect() {
      if (busy) await new Promise<void>((resolve) => waiting.push(resolve));
      busy = true;
      return client;
    },
    async end() {
      await pglite.close();
    },
  };
}
