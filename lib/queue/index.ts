import type { Logger } from '../logger.js';
import type { JobQueue } from './job-queue.js';
import { createMemoryQueue } from './memory.js';

export {
  InvalidJobError,
  MAX_JOB_BYTES,
  MAX_JOB_ID_LENGTH,
  MAX_PREFETCH,
  PermanentJobError,
  QueueClosedError,
  QueueUnavailableError,
  type ConsumeOptions,
  type Consumer,
  type DeadJob,
  type JobHandler,
  type JobQueue,
  type NewJob,
  type QueueCounts,
  type ReceivedJob,
} from './job-queue.js';
export { createMemoryQueue, type MemoryQueueOptions } from './memory.js';

export type JobQueueOptions = {
  /** AMQP_URL: when set, jobs live in RabbitMQ; otherwise in this process (embedded mode). */
  amqpUrl?: string | undefined;
  /** AMQP_CA_FILE: the CA an `amqps://` broker's certificate is verified with. */
  amqpCaFile?: string | undefined;
  /** The queue's name on the broker. Default `predictions`. */
  queue?: string;
  /** Deliveries of a job before it is dead-lettered. */
  maxDeliveries: number;
  logger?: Logger;
};

/** Picks the backend: RabbitMQ when a URL is configured, else the in-process queue. */
export async function createJobQueue(options: JobQueueOptions): Promise<JobQueue> {
  const { maxDeliveries, logger } = options;
  if (!options.amqpUrl) return createMemoryQueue({ maxDeliveries, logger });
  // Loaded on demand: deployments without RabbitMQ never load its client.
  const { createAmqpQueue } = await import('./amqp.js');
  return createAmqpQueue({
    url: options.amqpUrl,
    caFile: options.amqpCaFile,
    queue: options.queue ?? 'predictions',
    maxDeliveries,
    logger,
  });
}
