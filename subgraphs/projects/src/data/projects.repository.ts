import { sql, type Kysely } from 'kysely';
import type { Database, NewProject, ProjectRow, ProjectUpdate } from '../../../../lib/db/schema.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';

export async function findProjectsByIds(db: Kysely<Database>, ids: readonly string[]): Promise<ProjectRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('projects').selectAll().where('id', 'in', ids).execute();
}

/** One page of projects, newest first, optionally of one owner; `first + 1` rows to detect a next page. */
export async function listProjects(
  db: Kysely<Database>,
  filter: { ownerId?: string },
  page: PageArgs,
): Promise<ProjectRow[]> {
  let query = db.selectFrom('projects').selectAll();
  if (filter.ownerId) query = query.where('user_id', '=', filter.ownerId);
  if (page.after) {
    const { createdAt, id } = page.after;
    query = query.where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'id'), '<', tuple(createdAt, id)));
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.first + 1)
    .execute();
}

/**
 * The same page for many owners in one query (each owner's newest `first + 1` projects), so that
 * `users { projects }` costs one query however many users are listed.
 */
export async function listProjectsOfOwners(
  db: Kysely<Database>,
  ownerIds: readonly string[],
  page: PageArgs,
): Promise<Map<string, ProjectRow[]>> {
  const byOwner = new Map<string, ProjectRow[]>(ownerIds.map((id) => [id, []]));
  if (ownerIds.length === 0) return byOwner;
  const rows = await db
    .selectFrom((eb) => {
      let inner = eb
        .selectFrom('projects')
        .selectAll()
        .select(sql<number>`row_number() over (partition by user_id order by created_at desc, id desc)`.as('rank'))
        .where('user_id', 'in', ownerIds);
      if (page.after) {
        const { createdAt, id } = page.after;
        inner = inner.where(({ eb: e, refTuple, tuple }) => e(refTuple('created_at', 'id'), '<', tuple(createdAt, id)));
      }
      return inner.as('ranked');
    })
    .select(['id', 'user_id', 'name', 'description', 'created_at'])
    .where('rank', '<=', page.first + 1)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  for (const row of rows) byOwner.get(row.user_id)?.push(row);
  return byOwner;
}

export async function insertProject(db: Kysely<Database>, project: NewProject): Promise<ProjectRow> {
  return db.insertInto('projects').values(project).returningAll().executeTakeFirstOrThrow();
}

export async function updateProject(
  db: Kysely<Database>,
  id: string,
  changes: ProjectUpdate,
): Promise<ProjectRow | undefined> {
  return db.updateTable('projects').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteProject(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Ids of a project's models: their documents and files go with the project. */
/**
 * The log entries that go with the project: its own, and those of its models' predictions (both
 * cascade with it), for the copies kept in the document store.
 */
export async function findLogIdsOfProject(db: Kysely<Database>, projectId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('logs')
    .select('id')
    .where('project_id', '=', projectId)
    .union(
      db
        .selectFrom('logs')
        .innerJoin('predictions', 'predictions.id', 'logs.prediction_id')
        .innerJoin('models', 'models.id', 'predictions.model_id')
        .select('logs.id')
        .where('models.project_id', '=', projectId),
    )
    .execute();
  return rows.map((row) => row.id);
}

export async function findModelIdsOfProject(db: Kysely<Database>, projectId: string): Promise<string[]> {
  const rows = await db.selectFrom('models').select('id').where('project_id', '=', projectId).execute();
  return rows.map((row) => row.id);
}
