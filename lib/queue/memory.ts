import { injectContext } from '../telemetry/tracing.js';
import type { Logger } from '../logger.js';
import {
  assertConsumeOptions,
  assertMaxDeliveries,
  PermanentJobError,
  QueueClosedError,
  serializeJob,
  type Consumer,
  type DeadJob,
  type JobHandler,
  type JobQueue,
} from './job-queue.js';

export type MemoryQueueOptions = {
  maxDeliveries: number;
  logger?: Logger;
};

type StoredJob = {
  id: string;
  json: string;
  enqueuedAt: Date;
  deliveries: number;
  traceContext: Record<string, string>;
};

type MemoryConsumer = {
  handler: JobHandler;
  prefetch: number;
  running: Set<Promise<void>>;
  stopped: boolean;
};

/**
 * The job queue inside one process, for the embedded single-process mode. It keeps the AMQP
 * backend's semantics (prefetch, redelivery of failed jobs up to `maxDeliveries`, dead letters)
 * but not its durability: jobs live as long as the process.
 */
export function createMemoryQueue(options: MemoryQueueOptions): JobQueue {
  assertMaxDeliveries(options.maxDeliveries);
  const waiting: StoredJob[] = [];
  const dead: DeadJob[] = [];
  const consumers: MemoryConsumer[] = [];
  let closed = false;
  let dispatchScheduled = false;

  // Deferred to a microtask, as a broker would deliver: enqueue() and a handler's settling
  // return before the next handler runs.
  const scheduleDispatch = (): void => {
    if (dispatchScheduled) return;
    dispatchScheduled = true;
    queueMicrotask(() => {
      dispatchScheduled = false;
      dispatch();
    });
  };

  const dispatch = (): void => {
    // Round robin over the consumers with room, one job each per turn, as RabbitMQ does.
    let delivered = true;
    while (waiting.length > 0 && delivered) {
      delivered = false;
      for (const consumer of consumers) {
        if (waiting.length === 0) break;
        if (consumer.stopped || consumer.running.size >= consumer.prefetch) continue;
        deliver(consumer, waiting.shift() as StoredJob);
        delivered = true;
      }
    }
  };

  const deliver = (consumer: MemoryConsumer, job: StoredJob): void => {
    job.deliveries++;
    const run = (async () => {
      try {
        await consumer.handler({
          id: job.id,
          body: JSON.parse(job.json) as unknown,
          deliveryCount: job.deliveries,
          redelivered: job.deliveries > 1,
          enqueuedAt: job.enqueuedAt,
          traceContext: { ...job.traceContext },
        });
      } catch (error) {
        options.logger?.warn({ err: error, jobId: job.id, delivery: job.deliveries }, 'queue: job failed');
        if (error instanceof PermanentJobError) toDead(job, 'rejected');
        else if (job.deliveries >= options.maxDeliveries) toDead(job, 'delivery_limit');
        // Back at the head, as a quorum queue returns a message.
        else waiting.unshift(job);
      }
    })();
    consumer.running.add(run);
    void run.finally(() => {
      consumer.running.delete(run);
      scheduleDispatch();
    });
  };

  const toDead = (job: StoredJob, reason: DeadJob['reason']): void => {
    dead.push({ id: job.id, body: JSON.parse(job.json) as unknown, reason, enqueuedAt: job.enqueuedAt });
  };

  const stop = async (consumer: MemoryConsumer): Promise<void> => {
    consumer.stopped = true;
    const index = consumers.indexOf(consumer);
    if (index !== -1) consumers.splice(index, 1);
    // A stopped consumer gets no new jobs, so these are the last ones; they never reject.
    await Promise.all([...consumer.running]);
  };

  return {
    kind: 'memory',

    async enqueue(job) {
      if (closed) throw new QueueClosedError();
      waiting.push({
        id: job.id,
        json: serializeJob(job),
        enqueuedAt: new Date(),
        deliveries: 0,
        traceContext: injectContext({}),
      });
      scheduleDispatch();
    },

    async consume(handler, consumeOptions): Promise<Consumer> {
      if (closed) throw new QueueClosedError();
      assertConsumeOptions(consumeOptions);
      const consumer: MemoryConsumer = {
        handler,
        prefetch: consumeOptions.prefetch,
        running: new Set(),
        stopped: false,
      };
      consumers.push(consumer);
      scheduleDispatch();
      return { stop: () => stop(consumer) };
    },

    async counts() {
      return { waiting: waiting.length, dead: dead.length };
    },

    async takeDeadJobs(max) {
      return dead.splice(0, Math.max(0, max));
    },

    async close() {
      closed = true;
      await Promise.all([...consumers].map(stop));
    },
  };
}
