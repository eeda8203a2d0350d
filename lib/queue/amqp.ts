import amqp, {
  type Options,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Message,
  type MessagePropertyHeaders,
} from 'amqplib';
import type { Logger } from '../logger.js';
import { injectContext } from '../telemetry/tracing.js';
import { amqpTlsOptions } from '../tls/index.js';
import {
  assertConsumeOptions,
  assertMaxDeliveries,
  PermanentJobError,
  QueueClosedError,
  QueueUnavailableError,
  serializeJob,
  traceContextOf,
  type ConsumeOptions,
  type Consumer,
  type DeadJob,
  type JobHandler,
  type JobQueue,
  type ReceivedJob,
} from './job-queue.js';

export type AmqpQueueOptions = {
  url: string;
  /** AMQP_CA_FILE: the CA an `amqps://` broker's certificate is verified with; unset: the system's CAs. */
  caFile?: string | undefined;
  /** The work queue; the dead letters go through the exchange `<queue>.dlx` to the queue `<queue>.dead`. */
  queue: string;
  /**
   * Deliveries of a job before it is dead-lettered, counting those cut short by a lost consumer.
   * It is an argument of the queue: changing it for an existing queue fails at startup
   * (PRECONDITION_FAILED) until the queue is deleted or migrated.
   */
  maxDeliveries: number;
  /** How long `enqueue` waits for an unreachable broker before it fails with QueueUnavailableError. Default 10 s. */
  enqueueTimeoutMs?: number;
  /** Reconnection backoff: exponential from `initialDelayMs` up to `maxDelayMs`, with jitter; forever once connected. */
  reconnect?: {
    initialDelayMs?: number;
    maxDelayMs?: number;
    /** Failed attempts at startup before `createAmqpQueue` gives up. Default 3. */
    startupRetries?: number;
  };
  logger?: Logger;
};

export interface AmqpJobQueue extends JobQueue {
  readonly kind: 'amqp';
  readonly names: { queue: string; deadLetterExchange: string; deadLetterQueue: string };
}

/** One live connection with its publishing channel; replaced wholesale on every reconnect. */
type Link = { model: ChannelModel; publisher: ConfirmChannel; alive: boolean };

/**
 * The job queue on RabbitMQ. The work queue is a quorum queue with a delivery limit: the broker
 * counts deliveries itself (`x-delivery-count`), including those whose consumer died, and
 * dead-letters a job past the limit, so the count survives any consumer crash. Needs RabbitMQ
 * 3.8 or later.
 *
 * One connection per instance, re-established with backoff by amqplib's recovery; on every
 * (re)connect the topology is declared again and every consumer re-subscribes. A channel that
 * closes on its own (a broker-side error) recycles the whole connection, the one recovery path.
 */
export async function createAmqpQueue(options: AmqpQueueOptions): Promise<AmqpJobQueue> {
  assertMaxDeliveries(options.maxDeliveries);
  const { queue, logger } = options;
  const names = { queue, deadLetterExchange: `${queue}.dlx`, deadLetterQueue: `${queue}.dead` };
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 10_000;

  let link: Link | null = null;
  let closed = false;
  const linkWaiters = new Set<() => void>();
  const consumers = new Set<AmqpConsumer>();

  const declareTopology = async (channel: Channel): Promise<void> => {
    await channel.assertExchange(names.deadLetterExchange, 'direct', { durable: true });
    await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, queue);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        // The limit counts redeliveries: a message is delivered at most limit + 1 times.
        'x-delivery-limit': options.maxDeliveries - 1,
        'x-dead-letter-exchange': names.deadLetterExchange,
        'x-dead-letter-routing-key': queue,
        // The queue keeps a dead letter until the dead-letter queue has confirmed it.
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
  };

  /** Closes a connection whose channel failed; amqplib's recovery then opens a new one. */
  const recycle = (failed: Link, why: string): void => {
    // Deferred: when the connection itself goes, its channels close first; by then it is dead.
    setImmediate(() => {
      if (!failed.alive || closed) return;
      logger?.warn({ queue, why }, 'queue: recycling the AMQP connection');
      failed.alive = false;
      failed.model.close().catch(() => {});
    });
  };

  const setup = async (model: ChannelModel): Promise<void> => {
    // Until the setup is done nobody else listens: an unheard 'error' would crash the process.
    // A connection error here fails the setup, and the recovery reports it.
    model.on('error', () => {});
    const publisher = await model.createConfirmChannel();
    const current: Link = { model, publisher, alive: true };
    publisher.on('error', (error: Error) => logger?.warn({ err: error, queue }, 'queue: publishing channel error'));
    publisher.on('close', () => recycle(current, 'the publishing channel closed'));
    model.on('close', () => {
      current.alive = false;
      if (link === current) link = null;
    });
    await declareTopology(publisher);
    // From here consume() attaches new consumers itself; the ones already there are attached
    // below. A failure fails the setup, and amqplib retries the whole connection.
    link = current;
    await Promise.all([...consumers].map((consumer) => consumer.attach(current)));
    for (const wake of linkWaiters) wake();
    logger?.info({ queue }, 'queue: connected to AMQP');
  };

  const connection = await amqp.connect(options.url, {
    ...amqpTlsOptions(options.url, options.caFile),
    recovery: {
      initialDelay: options.reconnect?.initialDelayMs ?? 100,
      maxDelay: options.reconnect?.maxDelayMs ?? 10_000,
      initialMaxRetries: options.reconnect?.startupRetries ?? 3,
      maxRetries: Infinity,
      setup,
      // Resolve at once so the listeners below are in place before the first attempt.
      waitForConnect: false,
    },
  });
  connection.on('error', (error: Error) => logger?.warn({ err: error, queue }, 'queue: AMQP connection error'));
  connection.on('disconnect', (error: Error) => logger?.warn({ err: error, queue }, 'queue: AMQP connection lost'));
  connection.on('connect-failed', (error: Error) => logger?.warn({ err: error, queue }, 'queue: AMQP connect failed'));
  connection.on('handler-error', (error: Error, event: string) =>
    logger?.error({ err: error, queue, event }, 'queue: AMQP event handler threw'),
  );
  // Connect now so a wrong URL fails at startup, not on the first job.
  await connection.waitForConnect();

  /** The live link, waiting for a reconnect until `deadline`. */
  const linkBefore = async (deadline: number): Promise<Link> => {
    for (;;) {
      if (closed) throw new QueueClosedError();
      if (link?.alive) return link;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new QueueUnavailableError(`The AMQP broker has been unreachable for ${enqueueTimeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          linkWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        linkWaiters.add(wake);
      });
    }
  };

  /** Runs `use` with a short-lived channel of the live link (for reads that must not disturb the others). */
  const withChannel = async <R>(use: (channel: Channel) => Promise<R>): Promise<R> => {
    const current = await linkBefore(Date.now() + enqueueTimeoutMs);
    const channel = await current.model.createChannel();
    // A failed operation closes the channel with an error event; the rejection carries it.
    channel.on('error', () => {});
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  };

  class AmqpConsumer implements Consumer {
    private channel: Channel | null = null;
    private consumerTag: string | null = null;
    private readonly running = new Set<Promise<void>>();
    private stopping: Promise<void> | null = null;
    private attaching: Promise<void> = Promise.resolve();

    constructor(
      private readonly handler: JobHandler,
      private readonly prefetch: number,
    ) {}

    /** Subscribes on `current`'s connection; called again after every reconnect. */
    attach(current: Link): Promise<void> {
      const attaching = this.subscribe(current);
      this.attaching = attaching.catch(() => {});
      return attaching;
    }

    private async subscribe(current: Link): Promise<void> {
      if (this.stopping) return;
      const channel = await current.model.createChannel();
      channel.on('error', (error: Error) => logger?.warn({ err: error, queue }, 'queue: consumer channel error'));
      channel.on('close', () => {
        if (this.channel === channel) this.channel = null;
        if (!this.stopping) recycle(current, 'a consumer channel closed');
      });
      this.channel = channel;
      await channel.prefetch(this.prefetch);
      const reply = await channel.consume(queue, (message) => this.receive(current, channel, message));
      this.consumerTag = reply.consumerTag;
    }

    private receive(current: Link, channel: Channel, message: ConsumeMessage | null): void {
      if (message === null) {
        // The broker cancelled the consumer: the queue was deleted. Reconnecting declares it again.
        recycle(current, 'the broker cancelled a consumer');
        return;
      }
      const job = receivedJob(message);
      if (!job) {
        logger?.error(
          { queue, messageId: message.properties.messageId },
          'queue: dead-lettering a job that is not JSON',
        );
        settle(channel, message, 'reject');
        return;
      }
      const run = this.handle(job, channel, message);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }

    /** Runs the handler and settles the job; never rejects. */
    private async handle(job: ReceivedJob, channel: Channel, message: ConsumeMessage): Promise<void> {
      try {
        await this.handler(job);
        settle(channel, message, 'ack');
      } catch (error) {
        logger?.warn({ err: error, queue, jobId: job.id, delivery: job.deliveryCount }, 'queue: job failed');
        settle(channel, message, error instanceof PermanentJobError ? 'reject' : 'requeue');
      }
    }

    stop(): Promise<void> {
      this.stopping ??= (async () => {
        consumers.delete(this);
        // A subscription under way completes first, so that its consumer is cancelled too.
        await this.attaching;
        const { channel, consumerTag } = this;
        // Once the cancel is confirmed no delivery arrives; those before it are handled as usual.
        if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => {});
        while (this.running.size > 0) await Promise.all([...this.running]);
        this.channel = null;
        await channel?.close().catch(() => {});
      })();
      return this.stopping;
    }
  }

  const settle = (channel: Channel, message: Message, outcome: 'ack' | 'requeue' | 'reject'): void => {
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, outcome === 'requeue');
    } catch (error) {
      // The channel died with the connection: the broker puts the job back and delivers it again.
      logger?.warn({ err: error, queue, messageId: message.properties.messageId }, `queue: ${outcome} lost`);
    }
  };

  return {
    kind: 'amqp',
    names,

    async enqueue(job) {
      if (closed) throw new QueueClosedError();
      const content = Buffer.from(serializeJob(job));
      // The enqueuing request's trace goes along in the message's headers (W3C traceparent).
      const traceContext = injectContext({});
      const deadline = Date.now() + enqueueTimeoutMs;
      for (;;) {
        const current = await linkBefore(deadline);
        try {
          await publishConfirmed(current.publisher, queue, content, {
            persistent: true,
            messageId: job.id,
            contentType: 'application/json',
            headers: { 'enqueued-at': new Date().toISOString(), ...traceContext },
            timeoutMs: Math.max(1, deadline - Date.now()),
          });
          return;
        } catch (error) {
          // The connection went while the broker had the message or not: publish again (a job
          // may then be stored twice, which at-least-once handlers absorb). A refusal from a
          // live broker is final.
          if (current.alive && !(error instanceof ConfirmTimeoutError)) throw error;
          if (Date.now() >= deadline) {
            throw new QueueUnavailableError(`Job ${job.id} was not confirmed by the broker`, { cause: error });
          }
        }
      }
    },

    async consume(handler, consumeOptions: ConsumeOptions) {
      if (closed) throw new QueueClosedError();
      assertConsumeOptions(consumeOptions);
      const consumer = new AmqpConsumer(handler, consumeOptions.prefetch);
      consumers.add(consumer);
      const current = link;
      // While disconnected it starts with the next connection, as after any reconnect.
      if (current?.alive) {
        try {
          await consumer.attach(current);
        } catch (error) {
          logger?.warn({ err: error, queue }, 'queue: starting a consumer failed; retrying on a new connection');
          recycle(current, 'starting a consumer failed');
        }
      }
      return consumer;
    },

    counts: () =>
      withChannel(async (channel) => {
        const [work, dead] = [await channel.checkQueue(queue), await channel.checkQueue(names.deadLetterQueue)];
        return { waiting: work.messageCount, dead: dead.messageCount };
      }),

    takeDeadJobs: (max) =>
      withChannel(async (channel) => {
        const jobs: DeadJob[] = [];
        while (jobs.length < max) {
          const message = await channel.get(names.deadLetterQueue);
          if (message === false) break;
          jobs.push(deadJob(message));
          channel.ack(message);
        }
        return jobs;
      }),

    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      closed = true;
      for (const wake of linkWaiters) wake();
      await connection.close();
    },
  };
}

class ConfirmTimeoutError extends Error {}

function publishConfirmed(
  channel: ConfirmChannel,
  queue: string,
  content: Buffer,
  { timeoutMs, ...properties }: Options.Publish & { timeoutMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConfirmTimeoutError('No publisher confirm')), timeoutMs);
    const done = (error: unknown): void => {
      clearTimeout(timer);
      if (error) reject(error instanceof Error ? error : new Error(`The broker refused the job: ${String(error)}`));
      else resolve();
    };
    try {
      channel.sendToQueue(queue, content, properties, done);
    } catch (error) {
      // A channel closed since the link was taken: treated like a connection lost mid-publish.
      done(error);
    }
  });
}

const header = (headers: MessagePropertyHeaders | undefined, name: string): unknown => headers?.[name];

function enqueuedAt(message: Message): Date {
  const value = header(message.properties.headers, 'enqueued-at');
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

function parse(message: Message): { ok: true; body: unknown } | { ok: false } {
  try {
    return { ok: true, body: JSON.parse(message.content.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}

function receivedJob(message: ConsumeMessage): ReceivedJob | null {
  const parsed = parse(message);
  if (!parsed.ok) return null;
  // The quorum queue sets x-delivery-count on redeliveries only: the number of earlier ones.
  const earlier = Number(header(message.properties.headers, 'x-delivery-count') ?? 0);
  const deliveryCount = (Number.isFinite(earlier) ? earlier : 0) + 1;
  return {
    id: String(message.properties.messageId ?? ''),
    body: parsed.body,
    deliveryCount,
    redelivered: message.fields.redelivered || deliveryCount > 1,
    enqueuedAt: enqueuedAt(message),
    traceContext: traceContextOf(message.properties.headers),
  };
}

function deadJob(message: Message): DeadJob {
  const parsed = parse(message);
  const headers = message.properties.headers;
  const reason = header(headers, 'x-first-death-reason') ?? headers?.['x-death']?.[0]?.reason ?? 'unknown';
  return {
    id: String(message.properties.messageId ?? ''),
    body: parsed.ok ? parsed.body : message.content.toString('utf8'),
    reason: String(reason),
    enqueuedAt: enqueuedAt(message),
  };
}
