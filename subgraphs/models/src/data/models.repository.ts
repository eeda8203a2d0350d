import { sql, type Kysely } from 'kysely';
import { newestFirstPerParent } from '../../../../lib/db/pagination.js';
import type { Database, ModelRow, ModelStatus, NewModel, TensorSpecJson } from '../../../../lib/db/schema.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';
import type { ModelRef, TagFilter } from '../domain/model-ref.js';
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
  name: string,
  version: string,
): Promise<ModelRow | undefined> {
  return db
    .selectFrom('models')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .where('version', '=', version)
    .executeTakeFirst();
}

/**
 * The version a reference names within a project, read in one statement (one snapshot): by alias,
 * by version string, or, for a name alone, the version its production alias points at, else its
 * newest READY version.
 */
export async function findModelByRef(
  db: Kysely<Database>,
  projectId: string,
  ref: ModelRef,
  productionAlias: string,
): Promise<ModelParent | undefined> {
  const ofName = withOwner(db).where('models.project_id', '=', projectId).where('models.name', '=', ref.name);
  if (ref.kind === 'version') return ofName.where('models.version', '=', ref.version).executeTakeFirst();
  if (ref.kind === 'alias') {
    return ofName
      .innerJoin('model_aliases', 'model_aliases.model_id', 'models.id')
      .where('model_aliases.alias', '=', ref.alias)
      .executeTakeFirst();
  }
  return ofName
    .leftJoin('model_aliases', (join) =>
      join.onRef('model_aliases.model_id', '=', 'models.id').on('model_aliases.alias', '=', productionAlias),
    )
    .where((eb) => eb.or([eb('model_aliases.alias', 'is not', null), eb('models.status', '=', 'READY')]))
    .orderBy(sql`model_aliases.alias is not null`, 'desc')
    .orderBy('models.created_at', 'desc')
    .orderBy('models.id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The owner of a project, or undefined when it does not exist. */
export async function findProjectOwner(db: Kysely<Database>, projectId: string): Promise<string | undefined> {
  const row = await db.selectFrom('projects').select('user_id').where('id', '=', projectId).executeTakeFirst();
  return row?.user_id;
}

/** Conditions of a listing of models, all of which a model meets. */
export type ModelFilter = { name?: string | null; status?: ModelStatus | null; tags?: readonly TagFilter[] | null };

/**
 * Each project's newest `first + 1` models in one query, restricted to projects `ownerId` owns
 * (undefined: any owner), so `projects { models }` costs one query however many projects are listed.
 */
export async function listModelsOfProjects(
  db: Kysely<Database>,
  projectIds: readonly string[],
  page: PageArgs,
  ownerId: string | undefined,
  filter: ModelFilter = {},
): Promise<Map<string, ModelParent[]>> {
  let models = withOwner(db);
  if (ownerId) models = models.where('projects.user_id', '=', ownerId);
  if (filter.name != null) models = models.where('models.name', '=', filter.name);
  if (filter.status != null) models = models.where('models.status', '=', filter.status);
  for (const tag of filter.tags ?? []) {
    models = models.where(
      tag.value == null
        ? sql<boolean>`models.tags ? ${tag.key}`
        : sql<boolean>`models.tags @> ${JSON.stringify({ [tag.key]: tag.value })}::jsonb`,
    );
  }
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

/** The aliases pointing at each model, sorted. */
export async function findAliasesOfModels(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Map<string, string[]>> {
  const byModel = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byModel;
  const rows = await db
    .selectFrom('model_aliases')
    .select(['model_id', 'alias'])
    .where('model_id', 'in', ids)
    .orderBy('alias')
    .execute();
  for (const row of rows) byModel.get(row.model_id)?.push(row.alias);
  return byModel;
}

/**
 * Points the alias at the model, moving it off whichever version of the same name held it: one
 * statement on the alias's primary key (project, name, alias), so concurrent moves are applied one
 * after the other and the alias always points at exactly one version. Refused by the foreign key
 * when the model is gone meanwhile.
 */
export async function upsertAlias(
  db: Kysely<Database>,
  model: Pick<ModelRow, 'id' | 'project_id' | 'name'>,
  alias: string,
): Promise<void> {
  await db
    .insertInto('model_aliases')
    .values({ project_id: model.project_id, name: model.name, alias, model_id: model.id })
    .onConflict((oc) =>
      oc.columns(['project_id', 'name', 'alias']).doUpdateSet({ model_id: model.id, updated_at: new Date() }),
    )
    .execute();
}

/** Removes the alias if it points at this model (an alias on another version stays where it is). */
export async function deleteAlias(db: Kysely<Database>, modelId: string, alias: string): Promise<void> {
  await db.deleteFrom('model_aliases').where('model_id', '=', modelId).where('alias', '=', alias).execute();
}

export async function updateTags(db: Kysely<Database>, id: string, tags: Record<string, string>): Promise<boolean> {
  const result = await db
    .updateTable('models')
    .set({ tags: JSON.stringify(tags) })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export type ModelDeletion =
  { outcome: 'missing' } | { outcome: 'busy' } | { outcome: 'deleted'; predictionLogIds: string[] };

/**
 * Deletes a model's row unless one of its predictions is QUEUED or RUNNING, in one transaction
 * that holds the row's lock throughout: no prediction can be inserted for it meanwhile (the
 * insert's foreign key waits for the lock, then finds the row gone), so the check stays true until
 * the row goes. `removeFiles` runs under the lock once the check has passed, before the row is
 * deleted: a refusal changes nothing, and a failure removing the files leaves the row there to
 * delete again. The row's foreign keys cascade to its aliases, inference requests, predictions and
 * their log entries; the ids of those entries are returned, for their copies in the document store.
 */
export async function deleteModelUnlessBusy(
  db: Kysely<Database>,
  id: string,
  removeFiles: (options: { storageShared: boolean }) => Promise<void>,
): Promise<ModelDeletion> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('models')
      .select(['id', 'storage_key'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return { outcome: 'missing' } as const;
    const active = await trx
      .selectFrom('predictions')
      .select('id')
      .where('model_id', '=', id)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .limit(1)
      .executeTakeFirst();
    if (active) return { outcome: 'busy' } as const;
    const logs = await trx
      .selectFrom('logs')
      .innerJoin('predictions', 'predictions.id', 'logs.prediction_id')
      .select('logs.id')
      .where('predictions.model_id', '=', id)
      .execute();
    // A version registered on stored bytes (registerModel) may share its object with another version.
    const sharing = await trx
      .selectFrom('models')
      .select('id')
      .where('storage_key', '=', row.storage_key)
      .where('id', '<>', id)
      .limit(1)
      .executeTakeFirst();
    await removeFiles({ storageShared: sharing !== undefined });
    await trx.deleteFrom('models').where('id', '=', id).execute();
    return { outcome: 'deleted', predictionLogIds: logs.map((entry) => entry.id) } as const;
  });
}
