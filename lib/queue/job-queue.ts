/**
 * The job queue of batch predictions: durable, at least once. A job is delivered to one consumer
 * at a time; it leaves the queue when its handler succeeds, comes back when the handler fails or
 * the consumer dies before finishing, and goes to the dead-letter queue after `maxDeliveries`
 * deliveries, so a poison job never loops. Since a job can run more than once (a consumer that
 * dies after the work but before the ack), handlers are idempotent: they key their effects on
 * `job.id`.
 */
export interface JobQueue {
  readonly kind: 'amqp' | 'memory';
  /**
   * Stores a job; once this resolves the broker has it on disk (AMQP: a publisher confirm).
   * @throws InvalidJobError for an invalid id or a body without a JSON form or too large
   * @throws QueueUnavailableError when the broker stays unreachable for the enqueue timeout
   */
  enqueue(job: NewJob): Promise<void>;
  /**
   * Starts a consumer. It holds at most `prefetch` jobs at once; each goes to `handler`, and the
   * promise it returns settles the job: resolved, done (acked); rejected, delivered again (to
   * this consumer or another) until `maxDeliveries`, then dead-lettered; rejected with
   * PermanentJobError, dead-lettered at once. Consuming survives broker restarts.
   */
  consume(handler: JobHandler, options: ConsumeOptions): Promise<Consumer>;
  /** Jobs waiting for a consumer (not those being handled) and jobs in the dead-letter queue. */
  counts(): Promise<QueueCounts>;
  /** Removes up to `max` dead jobs, oldest first, and returns them: to inspect, fix, and re-enqueue. */
  takeDeadJobs(max: number): Promise<DeadJob[]>;
  /** Stops every consumer (as `Consumer.stop()` does) and releases the connection. */
  close(): Promise<void>;
}

export type NewJob = {
  /** The job's identity (e.g. the prediction id), kept across deliveries; at most MAX_JOB_ID_LENGTH characters. */
  id: string;
  /** Anything with a JSON form, at most MAX_JOB_BYTES serialized: name the inputs, don't carry them. */
  body: unknown;
};

export interface ReceivedJob<T = unknown> {
  readonly id: string;
  /** The parsed JSON body; a fresh copy on every delivery. */
  readonly body: T;
  /** 1 on the first delivery, then 2, 3… up to `maxDeliveries`. */
  readonly deliveryCount: number;
  /** Delivered before: a handler failed on it, or its consumer went away before finishing it. */
  readonly redelivered: boolean;
  readonly enqueuedAt: Date;
  /**
   * The W3C trace context of the code that enqueued the job (`traceparent`, `tracestate`), carried
   * in the message's headers; empty when tracing was off there. The handler continues its trace.
   */
  readonly traceContext: Readonly<Record<string, string>>;
}

export type JobHandler = (job: ReceivedJob) => Promise<void>;

export type ConsumeOptions = {
  /** Jobs handled at once by this consumer, 1 to 1000. */
  prefetch: number;
};

export interface Consumer {
  /** Stops taking jobs and resolves once the handlers already running have settled their jobs. Idempotent. */
  stop(): Promise<void>;
}

export type QueueCounts = { waiting: number; dead: number };

export type DeadJob = {
  id: string;
  /** The parsed body; the raw text when it is not JSON. */
  body: unknown;
  /** `delivery_limit` (failed `maxDeliveries` times) or `rejected` (PermanentJobError, or a body that is not JSON). */
  reason: 'delivery_limit' | 'rejected' | (string & {});
  enqueuedAt: Date;
};

export const MAX_JOB_ID_LENGTH = 200;
export const MAX_JOB_BYTES = 1024 * 1024;
export const MAX_PREFETCH = 1000;

/** Thrown by a handler for a job that can never succeed (invalid input): no retries, straight to the dead letters. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export class InvalidJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidJobError';
  }
}

export class QueueUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}

export class QueueClosedError extends Error {
  constructor() {
    super('The job queue is closed');
  }
}

const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** The trace context headers of a message's headers (strings only; anything else is dropped). */
export function traceContextOf(headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const value = headers?.[name];
    if (typeof value === 'string' && value.length <= 512) carrier[name] = value;
  }
  return carrier;
}

/** Checks a job and returns its JSON body, the one place both backends validate. */
export function serializeJob(job: NewJob): string {
  if (typeof job.id !== 'string' || job.id === '' || job.id.length > MAX_JOB_ID_LENGTH) {
    throw new InvalidJobError(`A job id is a string of 1 to ${MAX_JOB_ID_LENGTH} characters`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(job.body);
  } catch (error) {
    throw new InvalidJobError(`Job ${job.id}: the body has no JSON form`, { cause: error });
  }
  if (json === undefined) throw new InvalidJobError(`Job ${job.id}: the body has no JSON form`);
  if (Buffer.byteLength(json) > MAX_JOB_BYTES) {
    throw new InvalidJobError(`Job ${job.id}: the body exceeds ${MAX_JOB_BYTES} bytes`);
  }
  return json;
}

export function assertConsumeOptions(options: ConsumeOptions): void {
  if (!Number.isInteger(options.prefetch) || options.prefetch < 1 || options.prefetch > MAX_PREFETCH) {
    throw new RangeError(`prefetch must be an integer from 1 to ${MAX_PREFETCH}, got ${options.prefetch}`);
  }
}

export function assertMaxDeliveries(maxDeliveries: number): void {
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new RangeError(`maxDeliveries must be a positive integer, got ${maxDeliveries}`);
  }
}
