import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteQueueTopology } from '../../test/helpers/amqp.js';
import { testEnv } from '../../test/helpers/env.js';
import { until } from '../../test/helpers/wait.js';
import { createJobQueue, PermanentJobError, type JobQueue } from './index.js';
import { registerQueueMetrics } from './metrics.js';
import { uniqueQueue } from './testing/helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const line = (text: string, name: string, labels: string) =>
  new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];

async function depthAfterWork(queue: JobQueue, name: string) {
  const registry = new Registry();
  registerQueueMetrics(registry, queue, name);
  for (const id of ['a', 'b', 'c']) await queue.enqueue({ id, body: { id } });
  const waiting = await registry.metrics();
  expect(line(waiting, 'job_queue_messages', `queue="${name}",state="waiting"`)).toBe('3');
  expect(line(waiting, 'job_queue_messages', `queue="${name}",state="dead"`)).toBe('0');
  expect(line(waiting, 'job_queue_up', `queue="${name}"`)).toBe('1');
  // One job refused for good goes to the dead letters; the others are done.
  const consumer = await queue.consume(
    async (job) => {
      if (job.id === 'b') throw new PermanentJobError('bad input');
    },
    { prefetch: 3 },
  );
  await until(async () => (await queue.counts()).dead === 1, 'the dead letter');
  await until(async () => (await queue.counts()).waiting === 0, 'the queue to drain');
  await consumer.stop();
  const after = await registry.metrics();
  expect(line(after, 'job_queue_messages', `queue="${name}",state="waiting"`)).toBe('0');
  expect(line(after, 'job_queue_messages', `queue="${name}",state="dead"`)).toBe('1');
  return registry;
}

describe('job queue metrics', () => {
  it('report the waiting and dead-lettered jobs of the in-process queue', async () => {
    const queue = await createJobQueue({ amqpUrl: undefined, maxDeliveries: 2 });
    cleanups.push(() => queue.close());
    await depthAfterWork(queue, 'predictions');
  });

  it('report the waiting and dead-lettered jobs of a RabbitMQ queue', async () => {
    const name = uniqueQueue();
    const queue = await createJobQueue({ amqpUrl: testEnv.amqpUrl, queue: name, maxDeliveries: 2 });
    cleanups.push(async () => {
      await queue.close();
      await deleteQueueTopology(name);
    });
    await depthAfterWork(queue, name);
  });

  it('leave the depth out and set job_queue_up to 0 when the queue cannot answer', async () => {
    const queue = await createJobQueue({ amqpUrl: undefined, maxDeliveries: 2 });
    cleanups.push(() => queue.close());
    const broken: JobQueue = {
      ...queue,
      counts: () => Promise.reject(new Error('broker away')),
    };
    const failing = new Registry();
    registerQueueMetrics(failing, broken, 'predictions');
    const text = await failing.metrics();
    expect(line(text, 'job_queue_up', 'queue="predictions"')).toBe('0');
    expect(text).not.toMatch(/^job_queue_messages\{/m);
  });
});
