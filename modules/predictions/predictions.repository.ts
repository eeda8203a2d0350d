import { sql, type Kysely } from 'kysely';
import { newestFirstPerParent } from '../../lib/db/pagination.js';
import type { Database, PredictionRow, WebhookEventName } from '../../lib/db/schema.js';
import type { PageArgs } from '../../lib/graphql/pagination.js';
import { recordWebhookEvent } from './webhook-deliveries.repository.js';

/** A prediction as read for the API and the worker: its row without the (possibly large) inputs, nor its webhook. */
export type PredictionSummary = Omit<PredictionRow, 'inputs' | 'webhook_url' | 'webhook_events'> & {
  owner_id: string;
  project_id: string;
};

/*
 * Every state change that a webhook tells of writes its delivery (webhook-deliveries.repository.ts)
 * in the same transaction, and returns its id for the caller to hand to the sender at once. If the
 * process dies between the commit and that, the delivery is in the table, due: a sweeper sends it.
 */

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
  prediction: {
    id: string;
    modelId: string;
    userId: string;
    inputs: unknown[];
    webhook?: { url: string; events: readonly WebhookEventName[] } | undefined;
  },
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
      webhook_url: prediction.webhook?.url ?? null,
      webhook_events: prediction.webhook ? JSON.stringify(prediction.webhook.events) : null,
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

/** Ids of the webhook deliveries a state change wrote. */
export type Deliveries = { deliveries: string[] };

/**
 * A worker takes the job: QUEUED → RUNNING (or RUNNING again after a redelivery; only the first
 * start is a webhook's STARTED). Returns undefined when the prediction is already finished or
 * gone, so the job is simply dropped.
 */
export async function startAttempt(
  db: Kysely<Database>,
  id: string,
): Promise<(PredictionRow & Deliveries) | undefined> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('predictions')
      .select('status')
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    const row = await trx
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
    if (!row) return undefined;
    const started = before?.status === 'QUEUED' ? await recordWebhookEvent(trx, row, 'STARTED') : undefined;
    return { ...row, deliveries: started ? [started] : [] };
  });
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
): Promise<Deliveries | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('predictions')
      .set((eb) => ({
        outputs: sql`outputs || ${JSON.stringify(outputs)}::jsonb`,
        items_done: eb('items_done', '+', outputs.length),
      }))
      .where('id', '=', id)
      .where('status', '=', 'RUNNING')
      .where('items_done', '=', itemsDone)
      .returning(['id', 'model_id', 'status', 'items_done', 'items_total', 'error', 'webhook_url', 'webhook_events'])
      .executeTakeFirst();
    if (!row) return undefined;
    const progress = await recordWebhookEvent(trx, row, 'PROGRESS');
    return { deliveries: progress ? [progress] : [] };
  });
}

export async function isCancelRequested(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('predictions').select('cancel_requested').where('id', '=', id).executeTakeFirst();
  return row?.cancel_requested ?? true;
}

const webhookColumns = [
  'id',
  'model_id',
  'status',
  'items_done',
  'items_total',
  'error',
  'webhook_url',
  'webhook_events',
] as const;

/** Ends a prediction that is not finished yet; undefined when it already was. */
export async function finishPrediction(
  db: Kysely<Database>,
  id: string,
  outcome: { status: 'SUCCEEDED' } | { status: 'FAILED'; error: string } | { status: 'CANCELED' },
): Promise<Deliveries | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('predictions')
      .set({
        status: outcome.status,
        error: outcome.status === 'FAILED' ? outcome.error : null,
        finished_at: new Date(),
      })
      .where('id', '=', id)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .returning(webhookColumns)
      .executeTakeFirst();
    if (!row) return undefined;
    const completed = await recordWebhookEvent(trx, row, 'COMPLETED');
    return { deliveries: completed ? [completed] : [] };
  });
}

/**
 * A QUEUED prediction is canceled at once; a RUNNING one is flagged and its worker stops at the
 * next chunk boundary. One statement, so a worker taking the job meanwhile cannot slip between.
 */
export async function cancelPrediction(db: Kysely<Database>, id: string): Promise<Deliveries> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('predictions')
      .set({
        cancel_requested: true,
        status: sql`case when status = 'QUEUED' then 'CANCELED' else status end`,
        finished_at: sql`case when status = 'QUEUED' then now() else finished_at end`,
      })
      .where('id', '=', id)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .returning(webhookColumns)
      .executeTakeFirst();
    // Canceled while queued: no worker will touch it again, so its completion is told from here.
    const completed = row?.status === 'CANCELED' ? await recordWebhookEvent(trx, row, 'COMPLETED') : undefined;
    return { deliveries: completed ? [completed] : [] };
  });
}
