import { sql, type Kysely } from 'kysely';

/**
 * Who may read a log entry, stored with it: the owner of what it is linked to (its project, its
 * prediction's project; null when the two disagree), or, linked to neither, the user it concerns.
 * A user's `logs` query then reads their own entries through one index, newest first, instead of
 * walking everybody's entries and joining each to its project. Ownership never changes (projects
 * are not transferred), so the column stays true; it cascades with the user.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('logs')
    .addColumn('owner_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .execute();
  await sql`
    update logs set owner_id = case
      when logs.project_id is not null and logs.prediction_id is not null then
        case when project.user_id = prediction_project.user_id then project.user_id end
      when logs.project_id is not null then project.user_id
      when logs.prediction_id is not null then prediction_project.user_id
      else logs.user_id
    end
    from logs as entry
    left join projects as project on project.id = entry.project_id
    left join predictions as prediction on prediction.id = entry.prediction_id
    left join models as prediction_model on prediction_model.id = prediction.model_id
    left join projects as prediction_project on prediction_project.id = prediction_model.project_id
    where entry.id = logs.id
  `.execute(db);
  await sql`create index logs_owner_id_logged_at_id_idx on logs (owner_id, logged_at desc, id desc)
    where owner_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('logs').dropColumn('owner_id').execute();
}
