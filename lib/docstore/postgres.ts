import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import {
  assertCollection,
  assertId,
  distinctIds,
  validDocument,
  type DocumentStore,
  type JsonObject,
  type NewDocument,
} from './document-store.js';

// Bound each statement's bind parameters (PostgreSQL allows 65535) and size; a dataloader batch
// or a log batch fits in one.
const IDS_PER_QUERY = 1000;
const ROWS_PER_INSERT = 500;

/**
 * The document store on the `documents` table (migration 0002), for PostgreSQL and PGlite alike.
 * It borrows `db`: close() leaves the connection to its owner.
 */
export function createPostgresDocumentStore(db: Kysely<Database>): DocumentStore {
  // Rows only ever hold objects that validDocument accepted, read back through JSON.parse.
  const asDocument = (body: Record<string, unknown>): JsonObject => body as JsonObject;

  return {
    kind: 'postgres',

    async merge(collection, id, patch) {
      assertCollection(collection);
      assertId(id);
      const { json } = validDocument(patch, 'patch');
      // One statement: the row lock taken by ON CONFLICT serializes concurrent merges of a
      // document, and `||` is jsonb's shallow merge (right side wins).
      const row = await db
        .insertInto('documents')
        .values({ collection, id, body: sql<string>`${json}::jsonb` })
        .onConflict((oc) =>
          oc
            .columns(['collection', 'id'])
            .doUpdateSet({ body: sql<string>`documents.body || excluded.body`, updated_at: sql<Date>`now()` }),
        )
        .returning('body')
        .executeTakeFirstOrThrow();
      return asDocument(row.body);
    },

    async get(collection, id) {
      assertCollection(collection);
      assertId(id);
      const row = await db
        .selectFrom('documents')
        .select('body')
        .where('collection', '=', collection)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? asDocument(row.body) : null;
    },

    async getMany(collection, ids) {
      assertCollection(collection);
      const found = new Map<string, JsonObject>();
      for (const chunk of chunks(distinctIds(ids), IDS_PER_QUERY)) {
        const rows = await db
          .selectFrom('documents')
          .select(['id', 'body'])
          .where('collection', '=', collection)
          .where('id', 'in', chunk)
          .execute();
        for (const row of rows) found.set(row.id, asDocument(row.body));
      }
      return found;
    },

    async insertMany(collection, docs: readonly NewDocument[]) {
      assertCollection(collection);
      // Validate the whole batch first: an invalid document means nothing is written.
      const rows = docs.map(({ id, body }) => {
        assertId(id);
        return { collection, id, body: sql<string>`${validDocument(body).json}::jsonb` };
      });
      let inserted = 0;
      for (const chunk of chunks(rows, ROWS_PER_INSERT)) {
        // DO NOTHING also skips a repeated id within the same statement: the first one wins.
        const written = await db
          .insertInto('documents')
          .values(chunk)
          .onConflict((oc) => oc.columns(['collection', 'id']).doNothing())
          .returning('id')
          .execute();
        inserted += written.length;
      }
      return inserted;
    },

    async delete(collection, ids) {
      assertCollection(collection);
      let deleted = 0;
      for (const chunk of chunks(distinctIds(ids), IDS_PER_QUERY)) {
        const result = await db
          .deleteFrom('documents')
          .where('collection', '=', collection)
          .where('id', 'in', chunk)
          .executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      return deleted;
    },

    close: async () => {},
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
