import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { JobQueue, QueueCounts } from './job-queue.js';

/**
 * The job queue's depth as a gauge read at each scrape: `job_queue_messages{queue, state}` with
 * `state` waiting (jobs no consumer has taken yet) or dead (the dead-letter queue). What the
 * queue-depth and dead-letter alerts read (deploy/monitoring/). A broker that does not answer
 * leaves the gauge out of that scrape (no stale value), and `job_queue_up` says so.
 */
export function registerQueueMetrics(registry: Registry, queue: JobQueue, name: string, logger?: Logger): void {
  // Each gauge reads the queue itself (two cheap reads per scrape: a passive declare each on AMQP).
  const read = (): Promise<QueueCounts | undefined> =>
    queue.counts().catch((error: unknown) => {
      logger?.warn({ err: error, queue: name }, 'queue depth unavailable for /metrics');
      return undefined;
    });
  new Gauge({
    name: 'job_queue_up',
    help: 'Whether the last scrape could read the job queue depth (1) or not (0)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.set({ queue: name }, (await read()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'job_queue_messages',
    help: 'Jobs in the queue: waiting for a consumer, or dead-lettered',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await read();
      if (!counts) return;
      this.set({ queue: name, state: 'waiting' }, counts.waiting);
      this.set({ queue: name, state: 'dead' }, counts.dead);
    },
  });
}
