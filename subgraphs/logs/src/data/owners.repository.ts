import type { Kysely } from 'kysely';
import type { Database } from '../../../../lib/db/schema.js';

/** Owner (user id) of each project that exists, by project id. */
export async function findProjectOwners(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('projects').select(['id', 'user_id']).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.user_id]));
}

/** Owner of the project each prediction's model belongs to, by prediction id. */
export async function findPredictionOwners(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('predictions')
    .innerJoin('models', 'models.id', 'predictions.model_id')
    .innerJoin('projects', 'projects.id', 'models.project_id')
    .select(['predictions.id', 'projects.user_id'])
    .where('predictions.id', 'in', ids)
    .execute();
  return new Map(rows.map((row) => [row.id, row.user_id]));
}
