import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { LogRecord } from './log-record.js';

/** The links an entry was stored with. */
export type StoredLinks = Pick<LogRecord, 'projectId' | 'predictionId' | 'userId'>;

/**
 * Inserts a batch in one statement. The batch travels as one JSON parameter (no bind-parameter
 * limit, one round trip), and each link is kept only when its row exists right now: an entry about
 * a project deleted since it was written is stored unlinked instead of failing the whole batch on
 * the foreign key. Ids already present are skipped, so a retried batch is not stored twice. Each
 * entry's reader (`owner_id`, see migration 0006) is decided from the links as stored.
 * Returns the links of the entries inserted, by id.
 */
export async function insertLogRecords(
  db: Kysely<Database>,
  records: readonly LogRecord[],
): Promise<Map<string, StoredLinks>> {
  if (records.length === 0) return new Map();
  const rows = records.map((record) => ({
    id: record.id,
    level: record.level,
    message: record.message,
    service: record.service,
    metadata: record.metadata,
    project_id: record.projectId,
    prediction_id: record.predictionId,
    user_id: record.userId,
    logged_at: record.loggedAt.toISOString(),
  }));
  const { rows: inserted } = await sql<{
    id: string;
    project_id: string | null;
    prediction_id: string | null;
    user_id: string | null;
  }>`
    insert into logs (id, level, message, service, metadata, project_id, prediction_id, user_id, owner_id, logged_at)
    select e.id, e.level, e.message, e.service, e.metadata, p.id, pr.id, u.id,
      case
        when p.id is not null and pr.id is not null then case when p.user_id = prp.user_id then p.user_id end
        when p.id is not null then p.user_id
        when pr.id is not null then prp.user_id
        else u.id
      end,
      e.logged_at
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as e(
      id uuid, level text, message text, service text, metadata jsonb,
      project_id uuid, prediction_id uuid, user_id uuid, logged_at timestamptz
    )
    left join projects p on p.id = e.project_id
    left join predictions pr on pr.id = e.prediction_id
    left join models prm on prm.id = pr.model_id
    left join projects prp on prp.id = prm.project_id
    left join users u on u.id = e.user_id
    on conflict (id) do nothing
    returning id, project_id, prediction_id, user_id
  `.execute(db);
  return new Map(
    inserted.map((row) => [
      row.id,
      { projectId: row.project_id, predictionId: row.prediction_id, userId: row.user_id },
    ]),
  );
}
