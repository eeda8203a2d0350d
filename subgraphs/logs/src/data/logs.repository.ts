import { sql, type Kysely } from 'kysely';
import { newestFirstPage } from '../../../../lib/db/pagination.js';
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
 * model → project) owned by them, and entries linked to neither only when they concern them. That
 * rule is stored with each entry as `owner_id` (decided at insert), so the query reads the viewer's
 * entries through its own index.
 */
export async function listLogs(
  db: Kysely<Database>,
  viewerId: string | undefined,
  query: LogQuery,
  page: PageArgs,
): Promise<LogRecord[]> {
  let select = db.selectFrom('logs').selectAll('logs');
  if (viewerId !== undefined) select = select.where('logs.owner_id', '=', viewerId);
  if (query.levels) select = select.where('logs.level', 'in', query.levels);
  if (query.service !== undefined) select = select.where('logs.service', '=', query.service);
  if (query.projectId !== undefined) select = select.where('logs.project_id', '=', query.projectId);
  if (query.predictionId !== undefined) select = select.where('logs.prediction_id', '=', query.predictionId);
  if (query.contains !== undefined) {
    select = select.where(sql<boolean>`logs.message ilike ${containsPattern(query.contains)} escape '\\'`);
  }
  if (query.since !== undefined) select = select.where('logs.logged_at', '>=', query.since);
  const rows = await newestFirstPage(select, ['logs.logged_at', 'logs.id'], page).execute();
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
