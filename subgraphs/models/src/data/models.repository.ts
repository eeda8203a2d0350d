import type { Kysely } from 'kysely';
import { newestFirstPerParent } from '../../../../lib/db/pagination.js';
import type { Database, ModelRow, NewModel, TensorSpecJson } from '../../../../lib/db/schema.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';
import type { ModelParent } from './mappers.js';

// Models are authorized through their project's owner, so every read carries it along.
const withOwner = (db: Kysely<Database>) =>
  db
    .selectFrom('models')
    .innerJoin('projects', 'projects.id', 'models.project_id')
    .selectAll('models')
    .select('projects.user_id as owner_id');

export async function findModelsByIds(db: Kysely<Database>, ids: readonly string[]): Promise<ModelParent[]> {
  if (ids.length === 0) return [];
  return withOwner(db).where('models.id', 'in', ids).execute();
}

export async function findModelByVersion(
  db: Kysely<Database>,
  projectId: string,
  version: string,
): Promise<ModelRow | undefined> {
  return db
    .selectFrom('models')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('version', '=', version)
    .executeTakeFirst();
}

/** The owner of a project, or undefined when it does not exist. */
export async function findProjectOwner(db: Kysely<Database>, projectId: string): Promise<string | undefined> {
  const row = await db.selectFrom('projects').select('user_id').where('id', '=', projectId).executeTakeFirst();
  return row?.user_id;
}

/**
 * Each project's newest `first + 1` models in one query, restricted to projects `ownerId` owns
 * (undefined: any owner), so `projects { models }` costs one query however many projects are listed.
 */
export async function listModelsOfProjects(
  db: Kysely<Database>,
  projectIds: readonly string[],
  page: PageArgs,
  ownerId: string | undefined,
): Promise<Map<string, ModelParent[]>> {
  let models = withOwner(db);
  if (ownerId) models = models.where('projects.user_id', '=', ownerId);
  return newestFirstPerParent(db, models, {
    parent: 'models.project_id',
    parentIds: projectIds,
    keyset: ['models.created_at', 'models.id'],
    page,
  });
}

export async function insertModel(db: Kysely<Database>, model: NewModel): Promise<ModelRow> {
  return db.insertInto('models').values(model).returningAll().executeTakeFirstOrThrow();
}

/** Issues a new upload window for a model still waiting for its bytes. */
export async function renewUpload(db: Kysely<Database>, id: string, expiresAt: Date): Promise<ModelRow | undefined> {
  return db
    .updateTable('models')
    .set({ upload_expires_at: expiresAt, upload_claimed_at: null })
    .where('id', '=', id)
    .where('status', '=', 'PENDING_UPLOAD')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Claims the upload window a signed URL names, at most once: the row must still wait for bytes,
 * carry that very expiry (a renewed window voids older URLs), and be unclaimed.
 */
export async function claimUpload(db: Kysely<Database>, id: string, expiresAt: Date): Promise<ModelRow | undefined> {
  return db
    .updateTable('models')
    .set({ upload_claimed_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'PENDING_UPLOAD')
    .where('upload_expires_at', '=', expiresAt)
    .where('upload_claimed_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Gives an upload window back after a failed PUT, so the same URL can be retried. */
export async function releaseUpload(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable('models').set({ upload_claimed_at: null }).where('id', '=', id).execute();
}

export type Verification =
  | { status: 'READY'; sizeBytes: number; sha256: string; inputs: TensorSpecJson[]; outputs: TensorSpecJson[] }
  | { status: 'FAILED'; error: string; sizeBytes: number | null; sha256: string | null };

/** Records the outcome of verifying a pending model; a model already verified is left as it is. */
export async function recordVerification(db: Kysely<Database>, id: string, outcome: Verification): Promise<void> {
  await db
    .updateTable('models')
    .set(
      outcome.status === 'READY'
        ? {
            status: 'READY',
            size_bytes: outcome.sizeBytes,
            sha256: outcome.sha256,
            inputs: JSON.stringify(outcome.inputs),
            outputs: JSON.stringify(outcome.outputs),
            error: null,
          }
        : { status: 'FAILED', error: outcome.error, size_bytes: outcome.sizeBytes, sha256: outcome.sha256 },
    )
    .where('id', '=', id)
    .where('status', '=', 'PENDING_UPLOAD')
    .execute();
}

export async function deleteModel(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('models').where('id', '=', id).execute();
}
