import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Kysely } from 'kysely';
import { isOwnerOrAdminInProject, requireIdentity } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { Database } from '../../../../lib/db/schema.js';
import { badInput, err, ErrorCode, notFound } from '../../../../lib/errors.js';
import {
  predictionChannel,
  predictionEvent,
  TERMINAL_STATUSES,
  type PredictionEvent,
} from '../../../../modules/predictions/events.js';
import type { ModelRunner } from '../../../../lib/inference/model-runner.js';
import {
  cancelPrediction,
  findPredictionsByIds,
  insertPrediction,
  type PredictionSummary,
} from '../../../../modules/predictions/predictions.repository.js';
import type { PredictionJob } from '../../../../modules/predictions/prediction-job.js';
import { isUuid } from '../../../../lib/graphql/pagination.js';
import type { PlatformLog } from '../../../../lib/platform-log/index.js';
import type { PubSub, Subscription } from '../../../../lib/pubsub/index.js';
import type { JobQueue } from '../../../../lib/queue/index.js';
import type { WebhookEventName } from '../../../../lib/db/schema.js';
import {
  checkWebhookUrl,
  RefusedDestinationError,
  type DestinationPolicy,
} from '../../../../lib/webhooks/destination.js';
import { WEBHOOK_EVENTS } from '../../../../modules/predictions/webhook-events.js';
import type { PredictService } from './predict.service.js';

export type BatchLimits = {
  /** Most items in one batch prediction. */
  maxItems: number;
  /** Largest accepted `items`, as serialized JSON bytes. */
  maxInputBytes: number;
  /** Most tensor elements in one item. */
  maxElements: number;
};

export type PredictionsServiceDeps = {
  db: Kysely<Database>;
  runner: ModelRunner;
  predict: PredictService;
  queue: JobQueue;
  pubsub: PubSub;
  /** Platform events (job logs): stdout and the central log. */
  events: PlatformLog;
  limits: BatchLimits;
  /** Which webhook destinations startPrediction accepts (the worker checks again after DNS). */
  webhookPolicy: DestinationPolicy;
};

export type WebhookRequest = { url: string; events?: readonly WebhookEventName[] | null };

/**
 * A webhook as startPrediction stores it: a URL that is not obviously refused (its scheme, a
 * literal address; the name's addresses are checked at each delivery) and its events (all when
 * none are named).
 * @throws BAD_USER_INPUT
 */
export function validWebhook(
  webhook: WebhookRequest,
  policy: DestinationPolicy,
): { url: string; events: WebhookEventName[] } {
  try {
    checkWebhookUrl(webhook.url, policy);
  } catch (error) {
    if (error instanceof RefusedDestinationError) {
      throw badInput(error.message, { argument: 'input.webhook.url' });
    }
    throw error;
  }
  if (webhook.events?.length === 0) {
    throw badInput('`webhook.events` names at least one event; leave it out for all of them', {
      argument: 'input.webhook.events',
    });
  }
  const events = webhook.events ?? WEBHOOK_EVENTS;
  return { url: webhook.url, events: WEBHOOK_EVENTS.filter((event) => events.includes(event)) };
}

export type PredictionsService = ReturnType<typeof createPredictionsService>;

/** A watched prediction's row is read again after this long without an event. */
const RECHECK_AFTER_MS = 5_000;

export function createPredictionsService(deps: PredictionsServiceDeps) {
  const { db, runner, queue, pubsub, events, limits } = deps;

  async function findVisible(identity: Identity | null, id: string): Promise<PredictionSummary | null> {
    if (!identity || !isUuid(id)) return null;
    const [prediction] = await findPredictionsByIds(db, [id]);
    return prediction && isOwnerOrAdminInProject(identity, prediction.owner_id, prediction.project_id)
      ? prediction
      : null;
  }

  async function reload(id: string): Promise<PredictionSummary> {
    const [prediction] = await findPredictionsByIds(db, [id]);
    if (!prediction) throw notFound('Prediction');
    return prediction;
  }

  async function* follow(id: string, events: Subscription<PredictionEvent>): AsyncGenerator<PredictionSummary, void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      let last = await reload(id);
      yield last;
      if (TERMINAL_STATUSES.has(last.status)) return;
      // Pub/sub delivers at most once: events published while its connection was down are lost.
      // So the row is also read again after a quiet spell, and a stream never waits forever on
      // a state it missed (a job that finished during a Redis outage).
      let next = events.next();
      for (;;) {
        const quiet = new Promise<'quiet'>((resolve) => {
          timer = setTimeout(() => resolve('quiet'), RECHECK_AFTER_MS);
        });
        const outcome = await Promise.race([next, quiet]);
        clearTimeout(timer);
        if (outcome !== 'quiet') {
          if (outcome.done) return;
          next = events.next();
        }
        const current = await reload(id);
        if (current.status === last.status && current.items_done === last.items_done) continue;
        last = current;
        yield current;
        if (TERMINAL_STATUSES.has(current.status)) return;
      }
    } finally {
      clearTimeout(timer);
      events.close();
    }
  }

  return {
    findVisible,

    /** Validates every item up front, records the prediction QUEUED and hands it to the workers. */
    async start(
      identity: Identity | null,
      input: { modelId: string; items: unknown[]; webhook?: WebhookRequest | null },
    ): Promise<PredictionSummary> {
      const model = await deps.predict.requireModel(identity, input.modelId);
      if (model.status !== 'READY') {
        throw badInput(`Model ${model.version} is ${model.status}, not READY: it cannot serve predictions yet`, {
          argument: 'modelId',
        });
      }
      const { items } = input;
      if (items.length === 0) throw badInput('`items` must contain at least one item', { argument: 'items' });
      if (items.length > limits.maxItems) {
        throw err(ErrorCode.PAYLOAD_TOO_LARGE, `\`items\` may contain at most ${limits.maxItems} items`, {
          limit: limits.maxItems,
        });
      }
      if (Buffer.byteLength(JSON.stringify(items)) > limits.maxInputBytes) {
        throw err(ErrorCode.PAYLOAD_TOO_LARGE, `\`items\` exceed the limit of ${limits.maxInputBytes} bytes`, {
          limit: limits.maxInputBytes,
        });
      }
      items.forEach((item, index) => {
        try {
          runner.validate(model, item, { maxElements: limits.maxElements });
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          // Name the item, keep the tensor, expected shape and code the runner reported.
          throw err(error.extensions.code as ErrorCode, `items[${index}]: ${error.message}`, {
            ...error.extensions,
            item: index,
          });
        }
      });

      const webhook = input.webhook ? validWebhook(input.webhook, deps.webhookPolicy) : undefined;

      const id = randomUUID();
      await insertPrediction(db, { id, modelId: model.id, userId: identity!.userId, inputs: items, webhook });
      // Read back before enqueueing: the answer is the prediction as queued, whatever a fast worker does next.
      const prediction = await reload(id);
      await pubsub.publish(predictionChannel(id), predictionEvent(prediction));
      const job: PredictionJob = { predictionId: id };
      await queue.enqueue({ id, body: job });
      events.info(`Batch prediction of ${items.length} items queued`, {
        event: 'prediction.queued',
        predictionId: id,
        modelId: model.id,
        projectId: model.project_id,
        items: items.length,
      });
      return prediction;
    },

    /**
     * The prediction's current state, then each change, ending after a terminal state. Subscribes
     * before reading the current state, so no change between the two is missed; states are read
     * from the row (the state of record), and an event that changes nothing is not repeated.
     */
    async watch(identity: Identity | null, id: string): Promise<AsyncIterableIterator<PredictionSummary>> {
      requireIdentity(identity);
      if (!(await findVisible(identity, id))) throw notFound('Prediction');
      const events = await pubsub.subscribe<PredictionEvent>(predictionChannel(id));
      const states = follow(id, events);
      // A generator waiting on its next event only sees return() once that event comes; closing the
      // subscription first ends that wait, so an unsubscribing client releases everything at once.
      const iterator: AsyncIterableIterator<PredictionSummary> = {
        next: () => states.next(),
        return: async () => {
          events.close();
          return states.return(undefined);
        },
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    },

    /** QUEUED ends CANCELED at once; RUNNING stops at its next chunk; finished ones are returned as they are. */
    async cancel(identity: Identity | null, id: string): Promise<PredictionSummary> {
      const prediction = await findVisible(identity, id);
      if (!prediction) throw notFound('Prediction');
      if (prediction.status !== 'QUEUED' && prediction.status !== 'RUNNING') return prediction;
      await cancelPrediction(db, id);
      const updated = await reload(id);
      if (updated.status !== prediction.status) await pubsub.publish(predictionChannel(id), predictionEvent(updated));
      events.info(`Cancel requested (${updated.status})`, {
        event: 'prediction.cancel_requested',
        predictionId: id,
        status: updated.status,
      });
      return updated;
    },
  };
}
