import { sql, type Kysely } from 'kysely';

/**
 * Named models (issue 16). A project's models get a name (a slug; every existing row becomes
 * `default`), versions become unique per (project, name), and each model gets free-form tags.
 * Aliases (`production`, `staging`, any slug) live in model_aliases: one row per (project, name,
 * alias), its primary key, so an alias points at exactly one version of its name however many
 * moves race; the composite foreign key keeps it on a version of that very project and name, and
 * it goes with the version it points at.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('models')
    .addColumn('name', 'text', (c) =>
      c
        .notNull()
        .defaultTo('default')
        .check(sql`name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`),
    )
    .addColumn('tags', 'jsonb', (c) =>
      c
        .notNull()
        .defaultTo(sql`'{}'::jsonb`)
        .check(sql`jsonb_typeof(tags) = 'object'`),
    )
    .execute();
  await db.schema.alterTable('models').dropConstraint('models_project_id_version_key').execute();
  await db.schema
    .alterTable('models')
    .addUniqueConstraint('models_project_id_name_version_key', ['project_id', 'name', 'version'])
    .execute();
  // The target of the aliases' composite foreign key.
  await db.schema
    .alterTable('models')
    .addUniqueConstraint('models_id_project_id_name_key', ['id', 'project_id', 'name'])
    .execute();
  // A name's newest versions (`name` alone resolves to the newest READY one; listings filter by name).
  await sql`create index models_project_id_name_created_at_id_idx on models (project_id, name, created_at desc, id desc)`.execute(
    db,
  );

  await db.schema
    .createTable('model_aliases')
    .addColumn('project_id', 'uuid', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull().check(sql`alias ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`))
    .addColumn('model_id', 'uuid', (c) => c.notNull())
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('model_aliases_pkey', ['project_id', 'name', 'alias'])
    .addForeignKeyConstraint(
      'model_aliases_model_fkey',
      ['model_id', 'project_id', 'name'],
      'models',
      ['id', 'project_id', 'name'],
      (c) => c.onDelete('cascade'),
    )
    .execute();
  await sql`create index model_aliases_model_id_idx on model_aliases (model_id)`.execute(db);
}

/** Back to one unnamed series per project: fails while two names of a project share a version. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('model_aliases').execute();
  await sql`drop index models_project_id_name_created_at_id_idx`.execute(db);
  await db.schema.alterTable('models').dropConstraint('models_id_project_id_name_key').execute();
  await db.schema.alterTable('models').dropConstraint('models_project_id_name_version_key').execute();
  await db.schema
    .alterTable('models')
    .addUniqueConstraint('models_project_id_version_key', ['project_id', 'version'])
    .execute();
  await db.schema.alterTable('models').dropColumn('tags').dropColumn('name').execute();
}
