import { GraphQLError } from 'graphql';
import type { Kysely } from 'kysely';
import type { Database } from '../../lib/db/schema.js';
import type { ModelRunner } from '../../lib/inference/model-runner.js';
import { findServableModels } from '../../lib/inference/servable-model.js';
import type { Logger } from '../../lib/logger.js';
import type { PlatformLog } from '../../lib/platform-log/index.js';
import type { PubSub } from '../../lib/pubsub/index.js';
import type { JobQueue, ReceivedJob } from '../../lib/queue/index.js';
import { extractContext, inSpan, SpanKind, tracingEnabled } from '../../lib/telemetry/tracing.js';
import { predictionChannel, predictionEvent } from '../../modules/predictions/events.js';
import { isPredictionJob } from '../../modules/predictions/prediction-job.js';
import type { WorkerMetrics } from './metrics.js';
import {
  appendOutputs,
  findPredictionInputs,
  findPredictionsByIds,
  finishPrediction,
  isCancelRequested,
  startAttempt,
} from '../../modules/predictions/predictions.repository.js';
import type { WebhookSender } from '../../modules/predictions/webhook-sender.js';

export type PredictionWorkerOptions = {
  db: Kysely<Database>;
  queue: JobQueue;
  runner: ModelRunner;
  pubsub: PubSub;
  logger: Logger;
  /** Job logs, linked to the prediction and its project: stdout and the central log. */
  events: PlatformLog;
  /** Items run per chunk: progress is written, and cancellation checked, between chunks. */
  chunkSize: number;
  /** Jobs run at once by this worker. */
  concurrency: number;
  /** A job started this many times without finishing (crashes included) ends FAILED. */
  maxAttempts: number;
  maxElements: number;
  /** Most output elements of one item: an item over it fails the prediction. */
  maxOutputElements: number;
  /**
   * Sends the webhook deliveries each state change writes, at once. Without it they wait in the
   * outbox for a webhook worker's sweep.
   */
  webhooks?: Pick<WebhookSender, 'dispatch'> | undefined;
  /** Job outcomes for /metrics (worker/src/metrics.ts); none counted when unset. */
  metrics?: WorkerMetrics | undefined;
};

export type PredictionWorker = { stop(): Promise<void> };

/**
 * Runs one batch prediction from where its row says it is: a redelivered job (its worker died)
 * resumes after the last chunk it recorded, and every chunk is appended only if nobody else moved
 * the prediction on, so no item is ever run into the results twice.
 */
export async function runPrediction(options: PredictionWorkerOptions, predictionId: string): Promise<void> {
  const { db, runner, pubsub, events } = options;
  const dispatch = (written: { deliveries: string[] }) => options.webhooks?.dispatch(written.deliveries);
  // Every entry is linked to the prediction (and, once known, its project): its owner can tail them.
  let links: { predictionId: string; projectId?: string } = { predictionId };
  const publish = async () => {
    const [row] = await findPredictionsByIds(db, [predictionId]);
    if (row) await pubsub.publish(predictionChannel(predictionId), predictionEvent(row));
  };
  const finish = async (outcome: Parameters<typeof finishPrediction>[2]) => {
    const finished = await finishPrediction(db, predictionId, outcome);
    if (finished) {
      await dispatch(finished);
      options.metrics?.finished(outcome.status);
      await publish();
      const detail = outcome.status === 'FAILED' ? `: ${outcome.error}` : '';
      (outcome.status === 'FAILED' ? events.error : events.info)(`Batch prediction ${outcome.status}${detail}`, {
        ...links,
        event: 'prediction.finished',
        status: outcome.status,
      });
    }
  };

  const prediction = await startAttempt(db, predictionId);
  if (!prediction) return; // finished, canceled while queued, or deleted: nothing to do
  await dispatch(prediction);
  if (prediction.attempts > options.maxAttempts) {
    return finish({ status: 'FAILED', error: `The job failed ${options.maxAttempts} times in a row; giving up` });
  }
  const [model] = await findServableModels(db, [prediction.model_id]);
  if (model) links = { predictionId, projectId: model.project_id };
  if (prediction.cancel_requested) return finish({ status: 'CANCELED' });
  await publish();
  events.info(
    prediction.items_done > 0
      ? `Batch prediction resumed at item ${prediction.items_done} (attempt ${prediction.attempts})`
      : `Batch prediction running: ${prediction.items_total} items`,
    { ...links, event: 'prediction.running', attempt: prediction.attempts, itemsDone: prediction.items_done },
  );
  if (!model || model.status !== 'READY') return finish({ status: 'FAILED', error: 'The model is no longer READY' });
  const inputs = (await findPredictionInputs(db, predictionId)) ?? [];

  let done = prediction.items_done;
  while (done < prediction.items_total) {
    if (await isCancelRequested(db, predictionId)) return finish({ status: 'CANCELED' });
    const chunk = inputs.slice(done, done + options.chunkSize);
    let outputs: unknown[];
    try {
      outputs = await runner.predictMany(model, chunk, {
        maxElements: options.maxElements,
        maxOutputElements: options.maxOutputElements,
      });
    } catch (error) {
      const item = error instanceof GraphQLError ? error.extensions.item : undefined;
      if (error instanceof GraphQLError && typeof item === 'number') {
        // One item's outputs were too large: name that item, not the whole chunk.
        events.warn(`Item ${done + item} failed`, { ...links, event: 'prediction.chunk_failed' });
        return finish({ status: 'FAILED', error: `Item ${done + item}: ${error.message}` });
      }
      // The items were validated when the job was queued: a failure here is the model's, and final.
      events.warn(`Running items ${done}-${done + chunk.length - 1} failed`, {
        ...links,
        event: 'prediction.chunk_failed',
      });
      return finish({
        status: 'FAILED',
        error: `Items ${done}-${done + chunk.length - 1}: ${(error as Error).message}`,
      });
    }
    const appended = await appendOutputs(db, predictionId, done, outputs);
    if (!appended) {
      events.info('Batch prediction moved on elsewhere (canceled or taken over); this worker stops', links);
      return;
    }
    await dispatch(appended);
    done += outputs.length;
    await publish();
    events.debug(`${done} of ${prediction.items_total} items done`, { ...links, event: 'prediction.progress' });
  }
  await finish({ status: 'SUCCEEDED' });
}

const DEAD_JOB_SWEEP_MS = 30_000;

/**
 * Consumes prediction jobs from the queue until stopped. Jobs the queue gave up on (delivered too
 * many times, e.g. while the database was away) are swept from its dead letters and their
 * predictions end FAILED, so no prediction stays RUNNING forever.
 */
export async function startPredictionWorker(options: PredictionWorkerOptions): Promise<PredictionWorker> {
  const { queue, logger } = options;
  const handle = async (job: ReceivedJob) => {
    if (!isPredictionJob(job.body)) {
      logger.error({ jobId: job.id }, 'dropping a malformed prediction job');
      return;
    }
    const { predictionId } = job.body;
    // A child of the request that enqueued the job (its traceparent came in the message's headers).
    await inSpan(
      'process prediction job',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'ai_code.service': 'worker',
          'messaging.operation.type': 'process',
          'messaging.message.id': job.id,
          'ai_code.prediction.id': predictionId,
          'ai_code.delivery_count': job.deliveryCount,
        },
      },
      async () => {
        try {
          await runPrediction(options, predictionId);
        } catch (error) {
          options.metrics?.attemptFailed();
          throw error;
        }
      },
      tracingEnabled() ? extractContext(job.traceContext) : undefined,
    );
  };
  const sweep = async () => {
    for (const dead of await queue.takeDeadJobs(100)) {
      if (!isPredictionJob(dead.body)) continue;
      const failed = await finishPrediction(options.db, dead.body.predictionId, {
        status: 'FAILED',
        error: 'The job could not be processed after repeated attempts',
      });
      if (failed) {
        await options.webhooks?.dispatch(failed.deliveries);
        options.metrics?.deadLettered();
        logger.warn({ predictionId: dead.body.predictionId, reason: dead.reason }, 'dead-lettered prediction failed');
      }
    }
  };
  const consumer = await queue.consume(handle, { prefetch: options.concurrency });
  const sweeper = setInterval(
    () => void sweep().catch((error: unknown) => logger.warn({ err: error }, 'dead-letter sweep failed')),
    DEAD_JOB_SWEEP_MS,
  );
  sweeper.unref();
  await sweep().catch((error: unknown) => logger.warn({ err: error }, 'dead-letter sweep failed'));
  return {
    stop: async () => {
      clearInterval(sweeper);
      await consumer.stop();
    },
  };
}
