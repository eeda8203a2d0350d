import { sql, type Kysely } from 'kysely';

/**
 * API keys for machine clients: only a hash of each secret is kept (secret_hash, unique: the
 * gateway finds a key by it). A key limited to a project goes with the project; every key goes
 * with its owner. Listing is the owner's keys newest first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 100`))
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) =>
      c
        .notNull()
        .unique()
        .check(sql`secret_hash ~ '^[0-9a-f]{64}$'`),
    )
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('project_id', 'uuid', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('expires_at', sql`timestamptz(3)`)
    .addColumn('last_used_at', sql`timestamptz(3)`)
    .addColumn('revoked_at', sql`timestamptz(3)`)
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index api_keys_user_id_created_at_id_idx on api_keys (user_id, created_at desc, id desc)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_keys').execute();
}
