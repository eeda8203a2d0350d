import { sql, type Kysely } from 'kysely';
import type { Database, LogRow } from '../../../../lib/db/schema.js';
import type { JsonObject } from '../../../../lib/docstore/index.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';
import type { LogRecord } from '../../../../lib/platform-log/index.js';
import type { LogQuery } from '../domain/log-filter.js';

/** `text` as a LIKE pattern that matches it literally anywhere: `\`, `%` and `_` are escaped. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of entries, newest first (`first + 1` rows, to detect a next page). With `viewerId`, only
 * the entries that USER may see, by the rule of canSeeLogEntry: every link (project; prediction →
 * model → project) owned by them, and entries linked to neither only when they concern them.
 */
export async function listLogs(
  db: Kysely<Database>,
  viewerId: string | null,
  query: LogQuery,
  page: PageArgs,
): Promise<LogRecord[]> {
  // Without a viewer nothing reads the joined tables, and PostgreSQL drops such joins on primary keys.
  let select = db
    .selectFrom('logs')
    .leftJoin('projects as project', 'project.id', 'logs.project_id')
    .leftJoin('predictions as prediction', 'prediction.id', 'logs.prediction_id')
    .leftJoin('models as prediction_model', 'prediction_model.id', 'prediction.model_id')
    .leftJoin('projects as prediction_project', 'prediction_project.id', 'prediction_model.project_id')
    .selectAll('logs');
  if (viewerId !== null) {
    select = select.where(({ eb, and, or }) =>
      and([
        or([eb('logs.project_id', 'is', null), eb('project.user_id', '=', viewerId)]),
        or([eb('logs.prediction_id', 'is', null), eb('prediction_project.user_id', '=', viewerId)]),
        or([
          eb('logs.project_id', 'is not', null),
          eb('logs.prediction_id', 'is not', null),
          eb('logs.user_id', '=', viewerId),
        ]),
      ]),
    );
  }
  if (query.levels) select = select.where('logs.level', 'in', query.levels);
  if (query.service !== undefined) select = select.where('logs.service', '=', query.service);
  if (query.projectId !== undefined) select = select.where('logs.project_id', '=', query.projectId);
  if (query.predictionId !== undefined) select = select.where('logs.prediction_id', '=', query.predictionId);
  if (query.contains !== undefined) {
    select = select.where(sql<boolean>`logs.message ilike ${containsPattern(query.contains)} escape '\\'`);
  }
  if (query.since !== undefined) select = select.where('logs.logged_at', '>=', query.since);
  if (page.after) {
    const { createdAt, id } = page.after;
    select = select.where(({ eb, refTuple, tuple }) =>
      eb(refTuple('logs.logged_at', 'logs.id'), '<', tuple(createdAt, id)),
    );
  }
  const rows = await select
    .orderBy('logs.logged_at', 'desc')
    .orderBy('logs.id', 'desc')
    .limit(page.first + 1)
    .execute();
  return rows.map(toLogRecord);
}

function toLogRecord(row: LogRow): LogRecord {
  return {
    id: row.id,
    level: row.level,
    message: row.message,
    service: row.service,
    metadata: row.metadata as JsonObject | null,
    projectId: row.project_id,
    predictionId: row.prediction_id,
    userId: row.user_id,
    loggedAt: row.logged_at,
  };
}
