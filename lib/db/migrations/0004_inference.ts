import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('inference_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('model_id', 'uuid', (c) => c.notNull().references('models.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('output', 'jsonb')
    .addColumn('error', 'text')
    // How the request was served, e.g. {"cached": true} for a result served from the result cache.
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('requested_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('duration_ms', 'integer', (c) => c.check(sql`duration_ms >= 0`))
    .addCheckConstraint('inference_requests_output_or_error', sql`(output is null) <> (error is null)`)
    .execute();
  await sql`create index inference_requests_model_id_requested_at_id_idx on inference_requests (model_id, requested_at desc, id desc)`.execute(
    db,
  );
  await sql`create index inference_requests_user_id_idx on inference_requests (user_id)`.execute(db);

  await db.schema
    .createTable('predictions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('model_id', 'uuid', (c) => c.notNull().references('models.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('QUEUED')
        .check(sql`status in ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED')`),
    )
    .addColumn('items_total', 'integer', (c) => c.notNull().check(sql`items_total > 0`))
    .addColumn('items_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('inputs', 'jsonb', (c) => c.notNull())
    // One entry per finished item, in order; appended chunk by chunk so a resumed job never repeats one.
    .addColumn('outputs', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'text')
    .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', sql`timestamptz(3)`)
    .addColumn('finished_at', sql`timestamptz(3)`)
    .addCheckConstraint('predictions_items_done_bounded', sql`items_done between 0 and items_total`)
    .addCheckConstraint('predictions_outputs_match_progress', sql`jsonb_array_length(outputs) = items_done`)
    .execute();
  await sql`create index predictions_model_id_created_at_id_idx on predictions (model_id, created_at desc, id desc)`.execute(
    db,
  );
  await sql`create index predictions_user_id_idx on predictions (user_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('predictions').execute();
  await db.schema.dropTable('inference_requests').execute();
}
