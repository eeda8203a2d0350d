import type { Kysely } from 'kysely';
import { isForeignKeyViolation } from '../../../../lib/db/connect.js';
import type { Database, InferenceRequestRow } from '../../../../lib/db/schema.js';
import type { Logger } from '../../../../lib/logger.js';
import { createLogClock } from '../../../../lib/platform-log/log-id.js';

/** One call to record: what it was given, and what it answered or why it failed. */
export type InferenceRequestRecord = {
  modelId: string;
  userId: string;
  input: unknown;
  durationMs: number;
  metadata?: Record<string, unknown>;
} & ({ output: unknown } | { error: string });

export type InferenceRequestLogSettings = {
  /** How long a recorded request may wait in memory before its INSERT starts, ms (0: at once, still batched). */
  flushDelayMs: number;
  /** Most rows of one INSERT; a full batch is written without waiting for the delay. */
  maxBatchRows: number;
  /** Most rows held in memory (waiting or being written): past it, `record` waits for a write to finish. */
  maxBufferedRows: number;
  /** Most bytes of JSON (inputs, outputs) held in memory: past it, `record` waits too. */
  maxBufferedBytes: number;
};

export type InferenceRequestLog = {
  /**
   * Records one call: its row (id, time) is made here and returned at once; the INSERT happens
   * within `flushDelayMs`, many rows in one statement. Waits only when `maxBufferedRows` are held.
   */
  record(request: InferenceRequestRecord): Promise<InferenceRequestRow>;
  /** Resolves once every row recorded before the call is written (or refused by the database). */
  flush(): Promise<void>;
  /** Rows held in memory right now. */
  buffered(): number;
  /** Writes what is held and stops the timer; records after it are written at once, one flush each. */
  close(): Promise<void>;
};

type Row = InferenceRequestRow;
/** A row as written: its JSON columns serialized once, at `record`. */
type Pending = Omit<Row, 'input' | 'output' | 'metadata'> & { input: string; output: string | null; metadata: string };

/**
 * Write-behind of `inference_requests`: a synchronous predict does not wait for its own INSERT.
 * Rows wait in a bounded buffer and are written in multi-row INSERTs, on a short timer or as soon as
 * a batch is full; `flush` (before reads of the history, and on shutdown) writes everything held.
 * What a crash can lose: the rows recorded in the last `flushDelayMs` and those of a write in
 * flight (docs/deploy.md, "What a crash can lose").
 */
export function createInferenceRequestLog(
  db: Kysely<Database>,
  logger: Logger,
  settings: InferenceRequestLogSettings,
): InferenceRequestLog {
  const clock = createLogClock();
  let pending: Pending[] = [];
  let pendingBytes = 0;
  // Rows (and their bytes) being written; the chain of writes runs them one at a time, in recording order.
  let writing = 0;
  let writingBytes = 0;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // `record` calls waiting for room.
  let waiters: (() => void)[] = [];

  async function insert(rows: Pending[]): Promise<void> {
    await db.insertInto('inference_requests').values(rows).execute();
  }

  /** One batch: in one statement, else row by row, so that one refused row does not lose the others. */
  async function write(rows: Pending[]): Promise<void> {
    try {
      await insert(rows);
      return;
    } catch (error) {
      if (rows.length === 1) {
        report(rows[0]!, error);
        return;
      }
    }
    for (const row of rows) await insert([row]).catch((error: unknown) => report(row, error));
  }

  function report(row: Pending, error: unknown) {
    // The model (or the user) was deleted after the call, and its requests with it.
    if (isForeignKeyViolation(error)) {
      logger.info({ requestId: row.id, modelId: row.model_id }, 'inference request not recorded: its model is gone');
    } else {
      logger.error({ err: error, requestId: row.id, modelId: row.model_id }, 'could not record an inference request');
    }
  }

  /** Queues a write of everything pending; resolves once it (and every write before it) is done. */
  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length > 0) {
      const rows = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      writing += rows.length;
      writingBytes += bytes;
      chain = chain.then(async () => {
        try {
          for (let i = 0; i < rows.length; i += settings.maxBatchRows) {
            await write(rows.slice(i, i + settings.maxBatchRows));
          }
        } catch (error) {
          logger.error({ err: error, rows: rows.length }, 'could not record inference requests');
        } finally {
          writing -= rows.length;
          writingBytes -= bytes;
          const woken = waiters;
          waiters = [];
          for (const wake of woken) wake();
        }
      });
    }
    return chain;
  }

  function schedule() {
    if (closed || pending.length >= settings.maxBatchRows || settings.flushDelayMs === 0) {
      void flush();
    } else {
      timer ??= setTimeout(() => void flush(), settings.flushDelayMs);
    }
  }

  return {
    async record(request) {
      while (
        pending.length + writing >= settings.maxBufferedRows ||
        (pendingBytes + writingBytes >= settings.maxBufferedBytes && pending.length + writing > 0)
      ) {
        void flush();
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      const { id, loggedAt } = clock();
      const output = 'output' in request ? request.output : null;
      const row: Row = {
        id,
        model_id: request.modelId,
        user_id: request.userId,
        input: request.input,
        output,
        error: 'error' in request ? request.error : null,
        metadata: request.metadata ?? {},
        requested_at: loggedAt,
        duration_ms: request.durationMs,
      };
      const input = JSON.stringify(row.input) ?? 'null';
      const outputJson = 'output' in request ? (JSON.stringify(output) ?? 'null') : null;
      pending.push({ ...row, input, output: outputJson, metadata: JSON.stringify(row.metadata) });
      pendingBytes += input.length + (outputJson?.length ?? 0);
      schedule();
      return row;
    },
    flush,
    buffered: () => pending.length + writing,
    async close() {
      closed = true;
      await flush();
    },
  };
}
