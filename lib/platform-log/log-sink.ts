import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/schema.js';
import { Collections } from '../docstore/collections.js';
import type { DocumentStore } from '../docstore/index.js';
import type { Logger } from '../logger.js';
import type { PubSub } from '../pubsub/index.js';
import type { LogRecord } from './log-record.js';
import { insertLogRecords } from './logs.repository.js';
import { LOG_TAIL_CHANNEL, toTailMessage } from './tail.js';

/** The document-store collection holding the copy of the log (for analytics). */
export const LOG_DOCUMENT_COLLECTION = Collections.logs;

/**
 * Where a lost entry was lost: `buffer_full` and `closed` never left the process (they are on stdout
 * only); `database`, `documents` and `tail` are the destinations a batch failed to reach after its
 * retries (the other destinations still got it).
 */
export type LogDropReason = 'buffer_full' | 'closed' | 'database' | 'documents' | 'tail';

export type LogSinkOptions = {
  db: Kysely<Database>;
  /** Receives a copy of every entry, collection LOG_DOCUMENT_COLLECTION. */
  documents: DocumentStore;
  /** Every flushed batch is published on `channel`, for `logTail`. */
  pubsub: PubSub;
  /** Where `platform_log_dropped_total` and `platform_log_buffered` are registered (one sink per registry). */
  registry: Registry;
  /** Reports drops and failed flushes (to stdout: never through the sink itself). */
  logger: Logger;
  /** Entries held while waiting for a flush; a write beyond it is dropped and counted. @default 10000 */
  maxBuffer?: number;
  /** Longest time an entry waits for its batch to fill up. @default 250 */
  flushIntervalMs?: number;
  /** Entries per INSERT (and per document batch and message). @default 500 */
  maxBatch?: number;
  /** Tries per destination and batch before the batch is dropped there and counted. @default 3 */
  maxAttempts?: number;
  /** Wait before the first retry, doubled before each next one. @default 100 */
  retryDelayMs?: number;
  /** @default LOG_TAIL_CHANNEL */
  channel?: string;
};

/** The asynchronous half of the platform log: buffers entries and writes them out in batches. */
export interface LogSink {
  /** Queues an entry: synchronous, constant time, never throws. A full buffer drops it (counted). */
  write(record: LogRecord): void;
  /** Writes out everything buffered; resolves once it is stored, or dropped and counted. */
  flush(): Promise<void>;
  /** Flushes what is left; later writes are dropped (counted as `closed`). Idempotent. */
  close(): Promise<void>;
  stats(): { buffered: number; dropped: Record<LogDropReason, number> };
}

/**
 * Batches go out one at a time, in order: one INSERT into `logs`, then the document copy, then one
 * pub/sub message with the batch's entries as stored. Each destination is retried on its own; a
 * destination that keeps failing loses the batch (counted per reason), the others still get it.
 * While a batch retries, new entries wait in the bounded buffer: a slow or failing database makes
 * the log drop entries (counted, and still on stdout), never makes callers wait or memory grow.
 */
export function createLogSink(options: LogSinkOptions): LogSink {
  const { db, documents, pubsub, logger } = options;
  const maxBuffer = options.maxBuffer ?? 10_000;
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const maxBatch = options.maxBatch ?? 500;
  const maxAttempts = options.maxAttempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const channel = options.channel ?? LOG_TAIL_CHANNEL;
  for (const [name, value] of Object.entries({ maxBuffer, maxBatch, maxAttempts })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }

  const buffer: LogRecord[] = [];
  const droppedCounts: Record<LogDropReason, number> = {
    buffer_full: 0,
    closed: 0,
    database: 0,
    documents: 0,
    tail: 0,
  };
  const dropped = new Counter({
    name: 'platform_log_dropped_total',
    help: 'Platform log entries lost before reaching a destination, by where they were lost',
    labelNames: ['reason'] as const,
    registers: [options.registry],
  });
  new Gauge({
    name: 'platform_log_buffered',
    help: 'Platform log entries waiting to be written',
    registers: [options.registry],
    collect() {
      this.set(buffer.length);
    },
  });

  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  // Entries refused since the buffer last had room: reported once when it fills, once when it drains.
  let overflow = 0;

  const drop = (reason: LogDropReason, count: number): void => {
    droppedCounts[reason] += count;
    dropped.inc({ reason }, count);
  };

  function cancelScheduled(): void {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
  }

  /** A full batch goes out on the next turn of the event loop, a partial one after the interval. */
  function schedule(): void {
    if (running || buffer.length === 0) return;
    if (buffer.length >= maxBatch) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      immediate ??= setImmediate(() => start(false));
    } else if (!timer && !immediate) {
      // Never what keeps a process alive: close() flushes what is left.
      timer = setTimeout(() => start(false), flushIntervalMs).unref();
    }
  }

  function start(all: boolean): Promise<void> {
    cancelScheduled();
    running ??= drain(all)
      // deliver() settles every failure itself; this only keeps a bug from becoming an unhandled rejection.
      .catch((error: unknown) => logger.error({ err: error }, 'platform log flush failed'))
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  }

  /** Sends the first batch, then more while full ones are waiting (every one when `all`). */
  async function drain(all: boolean): Promise<void> {
    do {
      const batch = buffer.splice(0, maxBatch);
      if (overflow > 0) {
        logger.warn({ dropped: overflow }, 'platform log buffer has room again; entries were dropped meanwhile');
        overflow = 0;
      }
      if (batch.length > 0) await deliver(batch);
    } while (buffer.length >= maxBatch || (all && buffer.length > 0));
  }

  async function deliver(batch: LogRecord[]): Promise<void> {
    const stored = await attempt('database', batch.length, () => insertLogRecords(db, batch));
    // Entries as stored: a link to a row that was gone is not passed on either.
    const records = stored ? batch.map((record) => ({ ...record, ...stored.get(record.id) })) : batch;
    await attempt('documents', records.length, () =>
      documents.insertMany(
        LOG_DOCUMENT_COLLECTION,
        records.map(({ id, loggedAt, ...rest }) => ({ id, body: { ...rest, loggedAt: loggedAt.toISOString() } })),
      ),
    );
    await attempt('tail', records.length, () => pubsub.publish(channel, toTailMessage(records)));
  }

  async function attempt<T>(reason: LogDropReason, entries: number, write: () => Promise<T>): Promise<T | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        return await write();
      } catch (error) {
        if (tries >= maxAttempts) {
          drop(reason, entries);
          logger.error({ err: error, destination: reason, entries, tries }, 'platform log batch dropped');
          return undefined;
        }
        logger.warn({ err: error, destination: reason, entries, tries }, 'platform log batch failed; retrying');
        await sleep(retryDelayMs * 2 ** (tries - 1));
      }
    }
  }

  async function flush(): Promise<void> {
    while (running) await running;
    if (buffer.length > 0) await start(true);
  }

  return {
    write(record) {
      if (closed) {
        drop('closed', 1);
        return;
      }
      if (buffer.length >= maxBuffer) {
        drop('buffer_full', 1);
        if (overflow++ === 0) logger.warn({ maxBuffer }, 'platform log buffer full: dropping entries until it drains');
        return;
      }
      buffer.push(record);
      schedule();
    },

    flush,

    close() {
      closed = true;
      closing ??= flush();
      return closing;
    },

    stats: () => ({ buffered: buffer.length, dropped: { ...droppedCounts } }),
  };
}
