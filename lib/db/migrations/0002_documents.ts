import { sql, type Kysely } from 'kysely';

// The PostgreSQL backend of the document store (lib/docstore/): one JSON object per
// (collection, id). Merges are `body || patch` in a single upsert, so jsonb keeps the whole
// document in one row and one statement updates it atomically.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('documents')
    .addColumn('collection', 'text', (c) => c.notNull().check(sql`char_length(collection) between 1 and 63`))
    .addColumn('id', 'text', (c) => c.notNull().check(sql`char_length(id) between 1 and 256`))
    .addColumn('body', 'jsonb', (c) => c.notNull().check(sql`jsonb_typeof(body) = 'object'`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('documents_pkey', ['collection', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('documents').execute();
}
