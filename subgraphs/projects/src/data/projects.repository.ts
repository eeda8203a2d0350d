import type { Kysely } from 'kysely';
import { newestFirstPage, newestFirstPerParent } from '../../../../lib/db/pagination.js';
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
  return newestFirstPage(query, ['created_at', 'id'], page).execute();
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
  return newestFirstPerParent(db, db.selectFrom('projects').selectAll(), {
    parent: 'user_id',
    parentIds: ownerIds,
    keyset: ['created_at', 'id'],
    page,
  });
}

/** Inserts the project with its webhook signing secret. */
export async function insertProject(
  db: Kysely<Database>,
  project: NewProject & { id: string },
  signingSecret: string,
): Promise<ProjectRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('projects').values(project).returningAll().executeTakeFirstOrThrow();
    await trx.insertInto('webhook_signing_secrets').values({ project_id: project.id, secret: signingSecret }).execute();
    return row;
  });
}

/** The project's signing secret, `candidate` stored first if it has none (a project from before them). */
export async function findOrCreateSigningSecret(
  db: Kysely<Database>,
  projectId: string,
  candidate: string,
): Promise<string> {
  await db
    .insertInto('webhook_signing_secrets')
    .values({ project_id: projectId, secret: candidate })
    .onConflict((oc) => oc.column('project_id').doNothing())
    .execute();
  const row = await db
    .selectFrom('webhook_signing_secrets')
    .select('secret')
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return row.secret;
}

/** Replaces the project's signing secret: every signature from now on is made with `secret`. */
export async function replaceSigningSecret(db: Kysely<Database>, projectId: string, secret: string): Promise<void> {
  await db
    .insertInto('webhook_signing_secrets')
    .values({ project_id: projectId, secret })
    .onConflict((oc) => oc.column('project_id').doUpdateSet({ secret }))
    .execute();
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
