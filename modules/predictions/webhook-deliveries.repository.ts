import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { newestFirstPerParent } from '../../lib/db/pagination.js';
import type { Database, WebhookDeliveryRow, WebhookEventName } from '../../lib/db/schema.js';
import type { PageArgs } from '../../lib/graphql/pagination.js';
import { shouldSendProgress, subscribedTo, webhookPayload, type WebhookPredictionState } from './webhook-events.js';

/*
 * The webhook outbox. A delivery row is written in the transaction of the state change it tells
 * of, due at once; `next_attempt_at` says when it is due next while it is pending, null once it
 * succeeded or was given up. Whoever sends it first *claims* it (pushes `next_attempt_at` a lease
 * ahead), so a row is never sent twice at once however many workers sweep, and a claim whose
 * worker died simply runs out: the row is due again.
 */

type Executor = Kysely<Database> | Transaction<Database>;

const ms = (value: number) => sql<Date>`now() + make_interval(secs => ${value / 1000})`;

/** A prediction as the outbox needs it: its state and its webhook. */
export type WebhookSource = WebhookPredictionState & {
  webhook_url: string | null;
  webhook_events: WebhookEventName[] | null;
};

/**
 * Adds the event to the outbox when the prediction's webhook wants it (progress as throttled by
 * shouldSendProgress); returns the delivery's id, or undefined when there is none to send.
 */
export async function recordWebhookEvent(
  trx: Executor,
  prediction: WebhookSource,
  event: WebhookEventName,
): Promise<string | undefined> {
  if (!prediction.webhook_url || !subscribedTo(prediction.webhook_events, event)) return undefined;
  const now = new Date();
  if (event === 'PROGRESS') {
    const last = await trx
      .selectFrom('webhook_deliveries')
      .select('payload')
      .where('prediction_id', '=', prediction.id)
      .where('event', '=', 'PROGRESS')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const sent = last ? (JSON.parse(last.payload) as { timestamp: string; data: { itemsDone: number } }) : undefined;
    const previous = sent && { itemsDone: sent.data.itemsDone, at: new Date(sent.timestamp) };
    if (!shouldSendProgress(prediction, previous, now)) return undefined;
  }
  const id = randomUUID();
  await trx
    .insertInto('webhook_deliveries')
    .values({
      id,
      prediction_id: prediction.id,
      event,
      payload: webhookPayload(event, prediction, now),
      next_attempt_at: sql<Date>`now()`,
    })
    .execute();
  return id;
}

/** A delivery handed to an attempt: its id and the attempts made before. */
export type ClaimedDelivery = { id: string; attempts: number };

/**
 * Claims due deliveries for `leaseMs` (all due ones up to `limit`, or only those of `ids`): each
 * returned one is to be sent once, by whoever claimed it. Rows another claimer holds are skipped.
 */
export async function claimDueDeliveries(
  db: Kysely<Database>,
  options: { ids?: readonly string[]; limit: number; leaseMs: number },
): Promise<ClaimedDelivery[]> {
  if (options.ids?.length === 0) return [];
  return db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: ms(options.leaseMs) })
    .where('id', 'in', (eb) => {
      let due = eb
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('next_attempt_at')
        .limit(options.limit)
        .forUpdate()
        .skipLocked();
      if (options.ids) due = due.where('id', 'in', options.ids);
      return due;
    })
    .returning(['id', 'attempts'])
    .execute();
}

export type DeliveryAttempt = {
  id: string;
  event: WebhookEventName;
  predictionId: string;
  projectId: string;
  payload: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  url: string | null;
  /** The project's signing secret at this moment (null if it has none yet). */
  secret: string | null;
};

/**
 * Starts attempt `attempts + 1` of a claimed delivery: counts it and extends its lease. Undefined
 * when that attempt was made already (a duplicate job) or the delivery is settled.
 */
export async function startDeliveryAttempt(
  db: Kysely<Database>,
  claimed: ClaimedDelivery,
  leaseMs: number,
): Promise<DeliveryAttempt | undefined> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_attempt_at: sql<Date>`now()`,
      next_attempt_at: ms(leaseMs),
    }))
    .where('id', '=', claimed.id)
    .where('attempts', '=', claimed.attempts)
    .where('next_attempt_at', 'is not', null)
    .returning(['id', 'event', 'prediction_id', 'payload', 'attempts'])
    .executeTakeFirst();
  if (!row) return undefined;
  const target = await db
    .selectFrom('predictions')
    .innerJoin('models', 'models.id', 'predictions.model_id')
    .leftJoin('webhook_signing_secrets', 'webhook_signing_secrets.project_id', 'models.project_id')
    .select(['predictions.webhook_url', 'models.project_id', 'webhook_signing_secrets.secret'])
    .where('predictions.id', '=', row.prediction_id)
    .executeTakeFirst();
  return {
    id: row.id,
    event: row.event,
    predictionId: row.prediction_id,
    projectId: target?.project_id ?? '',
    payload: row.payload,
    attempt: row.attempts,
    url: target?.webhook_url ?? null,
    secret: target?.secret ?? null,
  };
}

export type AttemptOutcome =
  | { succeeded: true; status: number }
  | {
      succeeded: false;
      status: number | null;
      error: string;
      /** Wait before the next attempt; past the retry window (or with `giveUp`), none comes. */
      retryInMs: number;
      retryForMs: number;
      giveUp?: boolean;
    };

/**
 * Records how attempt `attempt` went, unless another attempt has begun meanwhile (its lease ran
 * out). Returns whether the delivery is now given up, or undefined when nothing was recorded.
 */
export async function recordDeliveryAttempt(
  db: Kysely<Database>,
  id: string,
  attempt: number,
  outcome: AttemptOutcome,
): Promise<{ gaveUp: boolean } | undefined> {
  const query = db.updateTable('webhook_deliveries').where('id', '=', id).where('attempts', '=', attempt);
  if (outcome.succeeded) {
    const result = await query
      .set({ succeeded: true, last_status: outcome.status, last_error: null, next_attempt_at: null })
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? { gaveUp: false } : undefined;
  }
  const over = outcome.giveUp
    ? sql<boolean>`true`
    : sql<boolean>`created_at + make_interval(secs => ${outcome.retryForMs / 1000}) <= now()`;
  const row = await query
    .set({
      last_status: outcome.status,
      last_error: outcome.error.slice(0, 1000),
      next_attempt_at: sql<Date | null>`case when ${over} then null else ${ms(outcome.retryInMs)} end`,
      gave_up_at: sql<Date | null>`case when ${over} then now() else null end`,
    })
    .returning('gave_up_at')
    .executeTakeFirst();
  return row && { gaveUp: row.gave_up_at !== null };
}

/** Each prediction's newest `first + 1` deliveries in one query. */
export async function listDeliveriesOfPredictions(
  db: Kysely<Database>,
  predictionIds: readonly string[],
  page: PageArgs,
): Promise<Map<string, WebhookDeliveryRow[]>> {
  return newestFirstPerParent(db, db.selectFrom('webhook_deliveries').selectAll(), {
    parent: 'prediction_id',
    parentIds: predictionIds,
    keyset: ['created_at', 'id'],
    page,
  });
}
