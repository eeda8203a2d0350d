import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Database } from '../../lib/db/schema.js';
import type { Logger } from '../../lib/logger.js';
import type { PlatformLog } from '../../lib/platform-log/index.js';
import type { Consumer, JobQueue, ReceivedJob } from '../../lib/queue/index.js';
import { postWebhook, type AttemptResult, type Resolver } from '../../lib/webhooks/destination.js';
import { signWebhook } from '../../lib/webhooks/signature.js';
import type { WebhookSettings } from '../../lib/webhooks/settings.js';
import {
  claimDueDeliveries,
  recordDeliveryAttempt,
  startDeliveryAttempt,
  type ClaimedDelivery,
} from './webhook-deliveries.repository.js';

/*
 * Sends the webhook outbox, at least once. Each attempt is a job on the webhook queue (RabbitMQ in
 * services mode, in-process on the embedded default): `dispatch` claims the deliveries a state
 * change just wrote and queues their first attempt; an attempt that fails leaves its delivery due
 * again after a backoff (WEBHOOK_RETRY_BASE_MS doubling up to WEBHOOK_RETRY_MAX_MS, for
 * WEBHOOK_RETRY_FOR_MS from the event); and a sweeper queues every due delivery it finds. The
 * table is the state of record, so a job lost with a broker, or a worker killed mid-attempt (its
 * claim runs out), costs a delay, never a delivery. Every attempt carries the same `webhook-id`.
 */

/** One attempt of one delivery: attempt number `attempts + 1`. */
export type WebhookJob = { deliveryId: string; attempts: number };

export function isWebhookJob(body: unknown): body is WebhookJob {
  const job = body as WebhookJob;
  return (
    typeof job === 'object' && job !== null && typeof job.deliveryId === 'string' && Number.isInteger(job.attempts)
  );
}

/** Deliveries claimed by one sweep query; a sweep repeats while it fills them. */
const SWEEP_BATCH = 100;
/** Attempts one worker makes at once. */
const CONCURRENCY = 16;

export type WebhookSenderOptions = {
  db: Kysely<Database>;
  /** The webhook queue (not the prediction jobs' one). */
  queue: JobQueue;
  logger: Logger;
  /** Deliveries given up are recorded here, linked to their prediction and project. */
  events: PlatformLog;
  settings: WebhookSettings;
  /** Where `webhook_deliveries_total{outcome}` is registered. */
  registry?: Registry | undefined;
  /** Name resolution for destinations (tests pass their own); dns.lookup by default. */
  resolve?: Resolver | undefined;
};

export type WebhookSender = {
  /** Queues the first attempt of deliveries just written; never throws (the sweeper catches up). */
  dispatch(deliveryIds: readonly string[]): Promise<void>;
  /** Queues every due delivery; returns how many. */
  sweep(): Promise<number>;
  /** Makes one attempt (the job handler). */
  attempt(job: WebhookJob): Promise<void>;
};

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const { db, queue, logger, events, settings } = options;
  // How long a claimed delivery is left to its attempt before it counts as lost and is due again:
  // the attempt's own deadline and as long again for a job waiting in the queue.
  const leaseMs = settings.timeoutMs + Math.max(settings.timeoutMs, 5_000);
  const outcomes = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: succeeded, retrying (failed, will retry), gave_up (failed for good)',
    labelNames: ['outcome'],
    registers: options.registry ? [options.registry] : [],
  });

  const enqueue = async (claimed: ClaimedDelivery[]) => {
    for (const { id, attempts } of claimed) {
      const job: WebhookJob = { deliveryId: id, attempts };
      await queue.enqueue({ id: `${id}.${attempts}`, body: job });
    }
  };

  async function send(job: WebhookJob): Promise<void> {
    const attempt = await startDeliveryAttempt(db, { id: job.deliveryId, attempts: job.attempts }, leaseMs);
    if (!attempt) return; // made already, or settled: a duplicate job
    let result: AttemptResult;
    if (!attempt.url) {
      result = { ok: false, status: null, error: 'The prediction has no webhook', refused: true };
    } else if (!attempt.secret) {
      result = { ok: false, status: null, error: 'The project has no signing secret', refused: false };
    } else {
      result = await postWebhook(attempt.url, {
        headers: signWebhook(attempt.secret, attempt.id, new Date(), attempt.payload),
        body: attempt.payload,
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivate,
        ...(options.resolve ? { resolve: options.resolve } : {}),
      });
    }
    const recorded = await recordDeliveryAttempt(
      db,
      attempt.id,
      attempt.attempt,
      result.ok
        ? { succeeded: true, status: result.status! }
        : {
            succeeded: false,
            status: result.status,
            error: result.error ?? 'failed',
            retryInMs: Math.min(settings.retryBaseMs * 2 ** (attempt.attempt - 1), settings.retryMaxMs),
            retryForMs: settings.retryForMs,
            giveUp: result.refused,
          },
    );
    if (!recorded) return; // its claim ran out and another attempt began: that one records
    const outcome = result.ok ? 'succeeded' : recorded.gaveUp ? 'gave_up' : 'retrying';
    outcomes.inc({ outcome });
    const links = { predictionId: attempt.predictionId, projectId: attempt.projectId || undefined };
    const fields = { deliveryId: attempt.id, webhookEvent: attempt.event, attempt: attempt.attempt };
    if (outcome === 'gave_up') {
      events.warn(`Webhook ${attempt.event} delivery given up after ${attempt.attempt} attempts: ${result.error}`, {
        ...links,
        ...fields,
        event: 'webhook.gave_up',
        lastStatus: result.status,
      });
    } else if (outcome === 'retrying') {
      events.debug(`Webhook ${attempt.event} attempt ${attempt.attempt} failed: ${result.error}`, {
        ...links,
        ...fields,
        event: 'webhook.attempt_failed',
      });
    }
  }

  return {
    async dispatch(deliveryIds) {
      if (deliveryIds.length === 0) return;
      try {
        await enqueue(await claimDueDeliveries(db, { ids: deliveryIds, limit: deliveryIds.length, leaseMs }));
      } catch (error) {
        logger.warn({ err: error, deliveryIds }, 'webhook dispatch failed; the sweeper will send them');
      }
    },
    async sweep() {
      let total = 0;
      for (;;) {
        const claimed = await claimDueDeliveries(db, { limit: SWEEP_BATCH, leaseMs });
        await enqueue(claimed);
        total += claimed.length;
        if (claimed.length < SWEEP_BATCH) return total;
      }
    },
    attempt: send,
  };
}

export type WebhookWorker = { stop(): Promise<void> };

/**
 * Consumes webhook attempts from the queue and sweeps the outbox every WEBHOOK_SWEEP_INTERVAL_MS,
 * until stopped. Jobs the queue dead-letters are dropped: their deliveries stay due in the table.
 */
export async function startWebhookWorker(
  sender: WebhookSender,
  options: Pick<WebhookSenderOptions, 'queue' | 'logger' | 'settings'>,
): Promise<WebhookWorker> {
  const { queue, logger } = options;
  const handle = async (job: ReceivedJob) => {
    if (!isWebhookJob(job.body)) {
      logger.error({ jobId: job.id }, 'dropping a malformed webhook job');
      return;
    }
    await sender.attempt(job.body);
  };
  const consumer: Consumer = await queue.consume(handle, { prefetch: CONCURRENCY });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const sweepOnce = async () => {
    try {
      await sender.sweep();
      await queue.takeDeadJobs(SWEEP_BATCH);
    } catch (error) {
      logger.warn({ err: error }, 'webhook sweep failed');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepOnce().finally(schedule);
    }, options.settings.sweepIntervalMs);
    timer.unref();
  };
  running = sweepOnce().finally(schedule);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await consumer.stop();
    },
  };
}
