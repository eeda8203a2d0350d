import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteQueueTopology } from '../../test/helpers/amqp.js';
import { testEnv } from '../../test/helpers/env.js';
import { until } from '../../test/helpers/wait.js';
import { projectRoot } from '../project-root.js';
import { createAmqpQueue, type AmqpJobQueue } from './amqp.js';
import { delivery, gate, rabbitmqctl, uniqueQueue, type Delivery } from './testing/helpers.js';
import {
  createJobQueue,
  InvalidJobError,
  MAX_JOB_BYTES,
  PermanentJobError,
  QueueClosedError,
  type JobHandler,
  type JobQueue,
  type ReceivedJob,
} from './index.js';

// One contract, both backends: no mocks, a real RabbitMQ. Every test uses queues of its own,
// deleted afterwards.

const MAX_DELIVERIES = 3;

type Backend = { name: string; open(): Promise<{ queue: JobQueue; cleanup(): Promise<void> }> };

const backends: Backend[] = [
  {
    name: 'memory',
    async open() {
      // Through the factory: with no AMQP URL it must pick the in-process queue.
      const queue = await createJobQueue({ amqpUrl: undefined, maxDeliveries: MAX_DELIVERIES });
      expect(queue.kind).toBe('memory');
      return { queue, cleanup: () => queue.close() };
    },
  },
  {
    name: 'amqp',
    async open() {
      const name = uniqueQueue();
      const queue = await createJobQueue({ amqpUrl: testEnv.amqpUrl, queue: name, maxDeliveries: MAX_DELIVERIES });
      expect(queue.kind).toBe('amqp');
      return {
        queue,
        async cleanup() {
          await queue.close();
          await deleteQueueTopology(name);
        },
      };
    },
  },
];

describe.each(backends)('job queue contract: $name', (backend) => {
  let queue: JobQueue;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ queue, cleanup } = await backend.open());
  });

  afterEach(async () => {
    await cleanup();
  });

  it('delivers a job with its id and body, and acks it when the handler resolves', async () => {
    const before = Date.now();
    await queue.enqueue({ id: 'job-1', body: { predictionId: 'p1', items: [1, 'two', null] } });
    const received: ReceivedJob[] = [];
    const consumer = await queue.consume(async (job) => void received.push(job), { prefetch: 1 });
    await until(() => received.length === 1, 'the delivery');
    expect(received[0]).toMatchObject({
      id: 'job-1',
      body: { predictionId: 'p1', items: [1, 'two', null] },
      deliveryCount: 1,
      redelivered: false,
    });
    expect(received[0]?.enqueuedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    // Stopping gives back unacked jobs: none, since the handler's success acked it.
    await consumer.stop();
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('holds at most `prefetch` unsettled jobs per consumer', async () => {
    const held = gate();
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    for (let i = 0; i < 5; i++) await queue.enqueue({ id: `job-${i}`, body: i });
    const consumer = await queue.consume(
      async () => {
        maxRunning = Math.max(maxRunning, ++running);
        await held.wait;
        running--;
        done++;
      },
      { prefetch: 2 },
    );
    // Two taken, three left on the broker: the third is not delivered while two are unsettled.
    await until(async () => running === 2 && (await queue.counts()).waiting === 3, 'two jobs in flight');
    expect(maxRunning).toBe(2);
    held.open();
    await until(() => done === 5, 'every job');
    expect(maxRunning).toBe(2);
    await consumer.stop();
  });

  it('redelivers a job whose handler failed, telling the handler it is a redelivery', async () => {
    const deliveries: Delivery[] = [];
    const consumer = await queue.consume(
      async (job) => {
        deliveries.push(delivery(job));
        if (job.deliveryCount === 1) throw new Error('transient failure');
      },
      { prefetch: 1 },
    );
    await queue.enqueue({ id: 'flaky', body: {} });
    await until(() => deliveries.length === 2, 'the redelivery');
    await consumer.stop();
    expect(deliveries).toEqual([
      { id: 'flaky', deliveryCount: 1, redelivered: false },
      { id: 'flaky', deliveryCount: 2, redelivered: true },
    ]);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('dead-letters a job after maxDeliveries failures, and the queue goes on', async () => {
    const deliveries: Delivery[] = [];
    const consumer = await queue.consume(
      async (job) => {
        deliveries.push(delivery(job));
        if (job.id === 'poison') throw new Error('always fails');
      },
      { prefetch: 1 },
    );
    await queue.enqueue({ id: 'poison', body: { predictionId: 'p9' } });
    await queue.enqueue({ id: 'fine', body: null });
    await until(async () => (await queue.counts()).dead === 1, 'the dead letter');
    await until(() => deliveries.some((d) => d.id === 'fine'), 'the next job');
    await consumer.stop();

    expect(deliveries.filter((d) => d.id === 'poison').map((d) => d.deliveryCount)).toEqual([1, 2, 3]);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 1 });
    const [dead, ...more] = await queue.takeDeadJobs(10);
    expect(more).toEqual([]);
    expect(dead).toMatchObject({ id: 'poison', body: { predictionId: 'p9' }, reason: 'delivery_limit' });
    expect(dead?.enqueuedAt).toBeInstanceOf(Date);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('dead-letters at once a job whose handler throws PermanentJobError', async () => {
    const deliveries: Delivery[] = [];
    const consumer = await queue.consume(
      async (job) => {
        deliveries.push(delivery(job));
        throw new PermanentJobError('the input can never work');
      },
      { prefetch: 1 },
    );
    await queue.enqueue({ id: 'hopeless', body: 1 });
    await until(async () => (await queue.counts()).dead === 1, 'the dead letter');
    await consumer.stop();
    expect(deliveries).toEqual([{ id: 'hopeless', deliveryCount: 1, redelivered: false }]);
    expect(await queue.takeDeadJobs(1)).toMatchObject([{ id: 'hopeless', body: 1, reason: 'rejected' }]);
  });

  it('counts a handler that throws instead of rejecting as a failure', async () => {
    const deliveries: Delivery[] = [];
    const handler: JobHandler = (job) => {
      deliveries.push(delivery(job));
      if (job.deliveryCount === 1) throw new Error('thrown, not rejected');
      return Promise.resolve();
    };
    const consumer = await queue.consume(handler, { prefetch: 1 });
    await queue.enqueue({ id: 'sync-throw', body: 'x' });
    await until(() => deliveries.length === 2, 'the redelivery');
    await consumer.stop();
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('stops taking jobs on stop(), and resolves once the running ones are settled', async () => {
    const held = gate();
    const events: string[] = [];
    const first = await queue.consume(
      async (job) => {
        events.push(`start ${job.id}`);
        await held.wait;
        events.push(`end ${job.id}`);
      },
      { prefetch: 1 },
    );
    await queue.enqueue({ id: 'a', body: 'a' });
    await until(() => events.length === 1, 'the first job to start');
    const stopping = first.stop().then(() => events.push('stopped'));
    await queue.enqueue({ id: 'b', body: 'b' });
    held.open();
    await stopping;
    expect(events).toEqual(['start a', 'end a', 'stopped']);
    expect(await queue.counts()).toEqual({ waiting: 1, dead: 0 });
    await first.stop(); // idempotent

    const later: Delivery[] = [];
    const second = await queue.consume(async (job) => void later.push(delivery(job)), { prefetch: 1 });
    await until(() => later.length === 1, 'the job left behind');
    expect(later).toEqual([{ id: 'b', deliveryCount: 1, redelivered: false }]);
    await second.stop();
  });

  it('hands every job to exactly one of several consumers', async () => {
    const seen: string[] = [];
    const handler: JobHandler = async (job) => {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(job.id);
    };
    const consumers = await Promise.all([1, 2].map(() => queue.consume(handler, { prefetch: 3 })));
    const ids = Array.from({ length: 30 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => queue.enqueue({ id, body: { id } })));
    await until(() => seen.length === ids.length, 'every job');
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    expect(seen.toSorted()).toEqual(ids);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('refuses invalid jobs and options', async () => {
    await expect(queue.enqueue({ id: '', body: 1 })).rejects.toThrow(InvalidJobError);
    await expect(queue.enqueue({ id: 'x'.repeat(201), body: 1 })).rejects.toThrow(InvalidJobError);
    await expect(queue.enqueue({ id: 'j', body: undefined })).rejects.toThrow(InvalidJobError);
    await expect(queue.enqueue({ id: 'j', body: 1n })).rejects.toThrow(InvalidJobError);
    await expect(queue.enqueue({ id: 'j', body: 'x'.repeat(MAX_JOB_BYTES) })).rejects.toThrow(InvalidJobError);
    await expect(queue.consume(async () => {}, { prefetch: 0 })).rejects.toThrow(RangeError);
    await expect(queue.consume(async () => {}, { prefetch: 1.5 })).rejects.toThrow(RangeError);
    expect(await queue.counts()).toEqual({ waiting: 0, dead: 0 });
  });

  it('stops its consumers on close() and refuses use afterwards', async () => {
    const held = gate();
    let finished = false;
    await queue.consume(
      async () => {
        await held.wait;
        finished = true;
      },
      { prefetch: 1 },
    );
    await queue.enqueue({ id: 'last', body: 1 });
    // Let the job start, then close while it runs.
    await until(async () => (await queue.counts()).waiting === 0, 'the job to be taken');
    const closing = queue.close();
    held.open();
    await closing;
    expect(finished).toBe(true);
    await expect(queue.enqueue({ id: 'late', body: 1 })).rejects.toThrow(QueueClosedError);
    await expect(queue.consume(async () => {}, { prefetch: 1 })).rejects.toThrow(QueueClosedError);
  });
});

describe('amqp job queue', () => {
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
      maxDeliveries: MAX_DELIVERIES,
      // Tight backoff: the broker-restart test waits for the reconnect.
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      ...options,
    });
    open.push(queue);
    return queue;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((queue) => queue.close()));
    for (const name of created.splice(0)) await deleteQueueTopology(name);
  });

  it('declares a durable quorum queue with a delivery limit and a dead-letter queue', async () => {
    const name = uniqueQueue();
    const queue = await openQueue(name);
    expect(queue.names).toEqual({
      queue: name,
      deadLetterExchange: `${name}.dlx`,
      deadLetterQueue: `${name}.dead`,
    });
    const { stdout } = await rabbitmqctl('list_queues', 'name', 'type', 'durable', 'arguments', '--no-table-headers');
    const line = stdout.split('\n').find((entry) => entry.startsWith(`${name}\t`));
    expect(line).toMatch(/\tquorum\ttrue\t/);
    // A delivery limit of n - 1 redeliveries: n deliveries in all.
    expect(line).toContain(`{"x-delivery-limit",${MAX_DELIVERIES - 1}}`);
    expect(line).toContain(`{"x-dead-letter-exchange","${name}.dlx"}`);
    expect(stdout.split('\n').some((entry) => entry.startsWith(`${name}.dead\t`))).toBe(true);

    // The limit is part of the queue: another one for the same queue fails at startup.
    await expect(openQueue(name, { maxDeliveries: 7, reconnect: { startupRetries: 0 } })).rejects.toThrow(
      /PRECONDITION_FAILED/,
    );
  });

  it('redelivers the job of a consumer process that dies before acking it', async () => {
    const name = uniqueQueue();
    const queue = await openQueue(name);
    await queue.enqueue({ id: 'orphan', body: { predictionId: 'p1' } });

    const fixture = fileURLToPath(new URL('./testing/consumer-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, testEnv.amqpUrl, name, `${MAX_DELIVERIES}`], {
      cwd: projectRoot,
      env: { PATH: testEnv.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(() => output.includes('received orphan 1'), `the other process to take the job:\n${output}`, 20_000);
    } finally {
      // No stop(), no close: its connection just drops, as when a worker crashes.
      child.kill('SIGKILL');
      await exited;
    }

    const received: ReceivedJob[] = [];
    const consumer = await queue.consume(async (job) => void received.push(job), { prefetch: 1 });
    await until(() => received.length === 1, 'the redelivery');
    await consumer.stop();
    expect(received[0]).toMatchObject({
      id: 'orphan',
      body: { predictionId: 'p1' },
      deliveryCount: 2,
      redelivered: true,
    });
  });

  it('dead-letters a message that is not JSON instead of failing on it forever', async () => {
    const name = uniqueQueue();
    const queue = await openQueue(name);
    const connection = await amqp.connect(testEnv.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue(name, Buffer.from('not json {'), { messageId: 'garbled', persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    let calls = 0;
    const consumer = await queue.consume(async () => void calls++, { prefetch: 1 });
    await until(async () => (await queue.counts()).dead === 1, 'the dead letter');
    await consumer.stop();
    expect(calls).toBe(0);
    expect(await queue.takeDeadJobs(5)).toMatchObject([{ id: 'garbled', body: 'not json {', reason: 'rejected' }]);
  });

  it('fails at startup when the broker cannot be reached', async () => {
    await expect(
      createAmqpQueue({
        url: 'amqp://guest:guest@127.0.0.1:1',
        queue: uniqueQueue(),
        maxDeliveries: 1,
        reconnect: { initialDelayMs: 10, startupRetries: 1 },
      }),
    ).rejects.toThrow();
  });
});
