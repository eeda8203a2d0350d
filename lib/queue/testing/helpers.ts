import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { ReceivedJob } from '../job-queue.js';

/** Shared by the queue's test files. */

export const uniqueQueue = (): string => `test-jobs-${randomUUID()}`;

/** A promise to hold handlers on, opened from the test. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export type Delivery = { id: string; deliveryCount: number; redelivered: boolean };
export const delivery = (job: ReceivedJob): Delivery => ({
  id: job.id,
  deliveryCount: job.deliveryCount,
  redelivered: job.redelivered,
});

const execFileAsync = promisify(execFile);

export function rabbitmqctl(...args: string[]): Promise<{ stdout: string }> {
  return execFileAsync('rabbitmqctl', args);
}

/**
 * After a test stopped the broker's app: starts it again and checks that it serves quorum queues
 * (RabbitMQ's quorum-queue subsystem can stay broken after stop_app/start_app); if it does not,
 * restarts the whole node. Other tests, and the next CI run, share this broker.
 */
export async function restoreBroker(): Promise<void> {
  await rabbitmqctl('start_app');
  const probe = () =>
    execFileAsync(process.execPath, ['scripts/probe-rabbitmq.mjs']).then(
      () => true,
      () => false,
    );
  if (await probe()) return;
  await rabbitmqctl('stop').catch(() => undefined);
  await execFileAsync('rabbitmq-server', ['-detached']);
  for (let attempt = 0; attempt < 60 && !(await probe()); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
