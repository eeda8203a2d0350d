import { afterAll, describe, expect, it } from 'vitest';
import { deleteQueueTopology } from '../../test/helpers/amqp.js';
import { testEnv } from '../../test/helpers/env.js';
import { until } from '../../test/helpers/wait.js';
import { createAmqpQueue, type AmqpJobQueue } from './amqp.js';
import { QueueUnavailableError, type JobQueue } from './index.js';
import { delivery, gate, rabbitmqctl, restoreBroker, uniqueQueue, type Delivery } from './testing/helpers.js';

// Disruptive: stops the shared RabbitMQ for a moment, so it runs on its own after the main suite
// (vitest.disruptive.config.ts), never beside tests that use the broker.
describe('amqp job queue across a broker restart', () => {
  const created: string[] = [];
  const open: JobQueue[] = [];
  const openQueue = async (
    name: string,
    options: Partial<Parameters<typeof createAmqpQueue>[0]> = {},
  ): Promise<AmqpJobQueue> => {
    if (!created.includes(name)) created.push(name);
    const queue = await createAmqpQueue({
      url: testEnv.amqpUrl,
      queue: name,
      maxDeliveries: 3,
      // Tight backoff: the test waits for the reconnect.
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      ...options,
    });
    open.push(queue);
    return queue;
  };

  afterAll(async () => {
    // Whatever happened above, the broker stays up for everyone else.
    await restoreBroker();
    await Promise.all(open.splice(0).map((queue) => queue.close()));
    for (const name of created.splice(0)) await deleteQueueTopology(name);
  });

  it('reconnects, resumes consuming, redelivers the job in flight and holds or fails enqueues', async () => {
    const name = uniqueQueue();
    const queue = await openQueue(name, { enqueueTimeoutMs: 30_000 });
    const impatient = await openQueue(name, { enqueueTimeoutMs: 200 });
    const deliveries: Delivery[] = [];
    const held = gate();
    const consumer = await queue.consume(
      async (job) => {
        deliveries.push(delivery(job));
        if (job.id === 'in-flight' && job.deliveryCount === 1) await held.wait;
      },
      { prefetch: 2 },
    );
    await queue.enqueue({ id: 'before', body: 1 });
    await queue.enqueue({ id: 'in-flight', body: 2 });
    await until(() => deliveries.length === 2, 'the first jobs');

    let waited: Promise<void> | undefined;
    try {
      await rabbitmqctl('stop_app');
      await expect(impatient.enqueue({ id: 'refused', body: 3 })).rejects.toThrow(QueueUnavailableError);
      // This one waits for the broker instead.
      waited = queue.enqueue({ id: 'during-outage', body: 4 });
      // The job in flight finishes while its connection is gone: its ack cannot reach the broker.
      held.open();
    } finally {
      await rabbitmqctl('start_app');
    }
    await waited;

    await until(
      () => deliveries.some((d) => d.id === 'during-outage') && deliveries.some((d) => d.deliveryCount > 1),
      'consuming to resume',
      90_000,
    );
    await queue.enqueue({ id: 'after', body: 5 });
    await until(() => deliveries.some((d) => d.id === 'after'), 'a job enqueued after the restart');
    await consumer.stop();

    expect(deliveries.filter((d) => d.id === 'in-flight')).toEqual([
      { id: 'in-flight', deliveryCount: 1, redelivered: false },
      { id: 'in-flight', deliveryCount: 2, redelivered: true },
    ]);
    expect(deliveries.filter((d) => d.id === 'refused')).toEqual([]);
    expect(deliveries.filter((d) => d.id === 'before')).toHaveLength(1);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });
});
