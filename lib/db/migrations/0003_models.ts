import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('version', 'text', (c) => c.notNull().check(sql`char_length(version) between 1 and 64`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('PENDING_UPLOAD')
        .check(sql`status in ('PENDING_UPLOAD', 'READY', 'FAILED')`),
    )
    // The object's key in the platform's store; storage_path is its public URI (s3://… or file://…).
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('storage_path', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.check(sql`size_bytes >= 0`))
    .addColumn('sha256', 'text', (c) => c.check(sql`sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('inputs', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('outputs', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'text')
    // The signed upload URL's expiry, and when a PUT claimed it (single use).
    .addColumn('upload_expires_at', sql`timestamptz(3)`)
    .addColumn('upload_claimed_at', sql`timestamptz(3)`)
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('models_project_id_version_key', ['project_id', 'version'])
    .addCheckConstraint(
      'models_ready_has_checksum',
      sql`status <> 'READY' or (sha256 is not null and size_bytes is not null)`,
    )
    .execute();
  await sql`create index models_project_id_created_at_id_idx on models (project_id, created_at desc, id desc)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('models').execute();
}
