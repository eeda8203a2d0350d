import { Counter, type Registry } from 'prom-client';

/** What the worker counts of the jobs it runs: read by the worker-failure alerts (deploy/monitoring/). */
export type WorkerMetrics = {
  /** A batch prediction ended, with its final status. */
  finished(status: 'SUCCEEDED' | 'FAILED' | 'CANCELED'): void;
  /** An attempt threw (database away, crash of a dependency): the job goes back to the queue. */
  attemptFailed(): void;
  /** A job the queue gave up on (dead-lettered), its prediction ended FAILED by the sweep. */
  deadLettered(): void;
};

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const jobs = new Counter({
    name: 'worker_jobs_finished_total',
    help: 'Batch predictions the worker finished, by final status (succeeded, failed, canceled)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'worker_job_attempt_errors_total',
    help: 'Job attempts that threw, so the job was handed back to the queue for another delivery',
    registers: [registry],
  });
  const dead = new Counter({
    name: 'worker_jobs_dead_lettered_total',
    help: 'Dead-lettered jobs whose predictions the worker ended FAILED',
    registers: [registry],
  });
  // Every series from the start, so that rate() sees the first increment.
  for (const status of ['succeeded', 'failed', 'canceled']) jobs.inc({ status }, 0);
  return {
    finished: (status) => jobs.inc({ status: status.toLowerCase() }),
    attemptFailed: () => errors.inc(),
    deadLettered: () => dead.inc(),
  };
}
