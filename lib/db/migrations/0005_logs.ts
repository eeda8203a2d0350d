import { sql, type Kysely } from 'kysely';

/**
 * The central log. Entries are written in batches by lib/platform-log; each may be linked to a
 * project, a prediction and the user it concerns, which is what decides who may read it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('logs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('DEBUG', 'INFO', 'WARN', 'ERROR')`))
    // The writer truncates longer messages (MAX_LOG_MESSAGE_LENGTH); the check keeps the bound honest.
    .addColumn('message', 'text', (c) => c.notNull().check(sql`char_length(message) <= 4096`))
    .addColumn('service', 'text', (c) => c.notNull().check(sql`char_length(service) between 1 and 64`))
    .addColumn('metadata', 'jsonb', (c) => c.check(sql`jsonb_typeof(metadata) = 'object'`))
    // Logs go with what they are about. The writer links only rows that exist when the batch is
    // inserted, so an entry about a project deleted meanwhile is kept, unlinked, instead of failing the batch.
    .addColumn('project_id', 'uuid', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('prediction_id', 'uuid', (c) => c.references('predictions.id').onDelete('cascade'))
    // The user the entry concerns (e.g. their own failed logins): it lets them read entries that are
    // linked to no project and no prediction. Not the actor of an operation.
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('logged_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Newest first, overall and within each filter that narrows a lot. The partial indexes also serve
  // the foreign keys' cascading deletes.
  await sql`create index logs_logged_at_id_idx on logs (logged_at desc, id desc)`.execute(db);
  await sql`create index logs_project_id_logged_at_id_idx on logs (project_id, logged_at desc, id desc)
    where project_id is not null`.execute(db);
  await sql`create index logs_prediction_id_logged_at_id_idx on logs (prediction_id, logged_at desc, id desc)
    where prediction_id is not null`.execute(db);
  await sql`create index logs_user_id_logged_at_id_idx on logs (user_id, logged_at desc, id desc)
    where user_id is not null`.execute(db);
  // Errors and warnings are rare among the entries, and one service's entries among all of them.
  await sql`create index logs_level_logged_at_id_idx on logs (level, logged_at desc, id desc)`.execute(db);
  await sql`create index logs_service_logged_at_id_idx on logs (service, logged_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('logs').execute();
}
