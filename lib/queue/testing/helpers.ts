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
