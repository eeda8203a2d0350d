import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

/**
 * Signed webhooks of batch predictions (rest.md, Webhooks).
 *
 * - `webhook_signing_secrets`: each project's `whsec_` secret, kept as such (signing needs it, so it
 *   cannot be a hash); every project gets one here, new projects at their creation.
 * - `predictions.webhook_url` / `webhook_events`: where a prediction's events go, and which.
 * - `webhook_deliveries`: the outbox, one row per event, written in the transaction of the state
 *   change that causes it; `next_attempt_at` is set while the delivery is pending (due, or leased
 *   to an attempt under way) and null once it succeeded or was given up.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_signing_secrets')
    .addColumn('project_id', 'uuid', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('secret', 'text', (c) => c.notNull().check(sql`secret like 'whsec_%'`))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Existing projects get theirs now: random bytes from node, not from SQL (no pgcrypto needed).
  const projects = await sql<{ id: string }>`select id from projects`.execute(db);
  for (const { id } of projects.rows) {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    await sql`insert into webhook_signing_secrets (project_id, secret) values (${id}, ${secret})`.execute(db);
  }

  await db.schema
    .alterTable('predictions')
    .addColumn('webhook_url', 'text')
    .addColumn('webhook_events', 'jsonb')
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    // The `webhook-id` header: one per event, the same on every attempt.
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('prediction_id', 'uuid', (c) => c.notNull().references('predictions.id').onDelete('cascade'))
    .addColumn('event', 'text', (c) => c.notNull().check(sql`event in ('STARTED', 'PROGRESS', 'COMPLETED')`))
    // The exact body every attempt sends (and signs).
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('succeeded', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', sql`timestamptz(3)`)
    .addColumn('next_attempt_at', sql`timestamptz(3)`)
    .addColumn('gave_up_at', sql`timestamptz(3)`)
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'webhook_deliveries_pending_or_settled',
      sql`(next_attempt_at is null) = (succeeded or gave_up_at is not null)`,
    )
    .execute();
  await sql`create index webhook_deliveries_prediction_id_created_at_id_idx
    on webhook_deliveries (prediction_id, created_at desc, id desc)`.execute(db);
  // The sweeper's scan: pending deliveries by when they are due.
  await sql`create index webhook_deliveries_pending_idx on webhook_deliveries (next_attempt_at)
    where next_attempt_at is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.alterTable('predictions').dropColumn('webhook_url').dropColumn('webhook_events').execute();
  await db.schema.dropTable('webhook_signing_secrets').execute();
}
