import { sql, type Kysely } from 'kysely';
import { newestFirstPerParent } from '../../lib/db/pagination.js';
import type { Database, PredictionRow } from '../../lib/db/schema.js';
import type { PageArgs } from '../../lib/graphql/pagination.js';

/** A prediction as read for the API and the worker: its row without the (possibly large) inputs. */
export type PredictionSummary = Omit<PredictionRow, 'inputs'> & { owner_id: string; project_id: string };

// Inputs are read only by the worker; every other read leaves them out.
const summaryColumns = [
  'predictions.id',
  'predictions.model_id',
  'predictions.user_id',
  'predictions.status',
  'predictions.items_total',
  'predictions.items_done',
  'predictions.outputs',
  'predictions.error',
  'predictions.cancel_requested',
  'predictions.attempts',
  'predictions.created_at',
  'predictions.started_at',
  'predictions.finished_at',
] as const;

const summaries = (db: Kysely<Database>) =>
  db
    .selectFrom('predictions')
    .innerJoin('models', 'models.id', 'predictions.model_id')
    .innerJoin('projects', 'projects.id', 'models.project_id')
    .select(summaryColumns)
    .select(['projects.user_id as owner_id', 'models.project_id as project_id']);

export async function findPredictionsByIds(db: Kysely<Database>, ids: readonly string[]): Promise<PredictionSummary[]> {
  if (ids.length === 0) return [];
  return summaries(db).where('predictions.id', 'in', ids).execute();
}

export async function findPredictionInputs(db: Kysely<Database>, id: string): Promise<unknown[] | undefined> {
  const row = await db.selectFrom('predictions').select('inputs').where('id', '=', id).executeTakeFirst();
  return row?.inputs;
}

export async function insertPrediction(
  db: Kysely<Database>,
  prediction: { id: string; modelId: string; userId: string; inputs: unknown[] },
): Promise<void> {
  await db
    .insertInto('predictions')
    .values({
      id: prediction.id,
      model_id: prediction.modelId,
      user_id: prediction.userId,
      status: 'QUEUED',
      items_total: prediction.inputs.length,
      inputs: JSON.stringify(prediction.inputs),
    })
    .execute();
}

/** Each model's newest `first + 1` predictions in one query. */
export async function listPredictionsOfModels(
  db: Kysely<Database>,
  modelIds: readonly string[],
  page: PageArgs,
): Promise<Map<string, PredictionSummary[]>> {
  return newestFirstPerParent(db, summaries(db), {
    parent: 'predictions.model_id',
    parentIds: modelIds,
    keyset: ['predictions.created_at', 'predictions.id'],
    page,
  });
}

/**
 * A worker takes the job: QUEUED → RUNNING (or RUNNING again after a redelivery). Returns
 * undefined when the prediction is already finished or gone, so the job is simply dropped.
 */
export async function startAttempt(db: Kysely<Database>, id: string): Promise<PredictionRow | undefined> {
  return db
    .updateTable('predictions')
    .set((eb) => ({
      status: 'RUNNING',
      started_at: sql<Date>`coalesce(started_at, now())`,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .where('status', 'in', ['QUEUED', 'RUNNING'])
    .returningAll()
    .executeTakeFirst();
}

/**
 * Appends one chunk's outputs, only if nobody else moved the prediction on meanwhile (`itemsDone`
 * is what this worker saw) and it is still running: a redelivered job can never write an item twice.
 */
export async function appendOutputs(
  db: Kysely<Database>,
  id: string,
  itemsDone: number,
  outputs: unknown[],
): Promise<boolean> {
  const result = await db
    .updateTable('predictions')
    .set((eb) => ({
      outputs: sql`outputs || ${JSON.stringify(outputs)}::jsonb`,
      items_done: eb('items_done', '+', outputs.length),
    }))
    .where('id', '=', id)
    .where('status', '=', 'RUNNING')
    .where('items_done', '=', itemsDone)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function isCancelRequested(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('predictions').select('cancel_requested').where('id', '=', id).executeTakeFirst();
  return row?.cancel_requested ?? true;
}

/** Ends a prediction that is not finished yet; returns false when it already was. */
export async function finishPrediction(
  db: Kysely<Database>,
  id: string,
  outcome: { status: 'SUCCEEDED' } | { status: 'FAILED'; error: string } | { status: 'CANCELED' },
): Promise<boolean> {
  const result = await db
    .updateTable('predictions')
    .set({
      status: outcome.status,
      error: outcome.status === 'FAILED' ? outcome.error : null,
      finished_at: new Date(),
    })
    .where('id', '=', id)
    .where('status', 'in', ['QUEUED', 'RUNNING'])
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * A QUEUED prediction is canceled at once; a RUNNING one is flagged and its worker stops at the
 * next chunk boundary. One statement, so a worker taking the job meanwhile cannot slip between.
 */
export async function cancelPrediction(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable('predictions')
    .set({
      cancel_requested: true,
      status: sql`case when status = 'QUEUED' then 'CANCELED' else status end`,
      finished_at: sql`case when status = 'QUEUED' then now() else finished_at end`,
    })
    .where('id', '=', id)
    .where('status', 'in', ['QUEUED', 'RUNNING'])
    .execute();
}
