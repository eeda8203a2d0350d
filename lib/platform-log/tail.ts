import type { JsonObject } from '../docstore/index.js';
import { isUuid } from '../graphql/pagination.js';
import { LOG_LEVELS, type LogEntryLevel, type LogRecord } from './log-record.js';

/** The pub/sub channel new entries are published on, for `logTail`. */
export const LOG_TAIL_CHANNEL = 'logs';

/** The JSON form of a record on the channel. */
export type LogTailEntry = Omit<LogRecord, 'loggedAt'> & { loggedAt: string };

/** One message per flushed batch: its entries in the order they were written. */
export type LogTailMessage = { entries: LogTailEntry[] };

export function toTailMessage(records: readonly LogRecord[]): LogTailMessage {
  return { entries: records.map((record) => ({ ...record, loggedAt: record.loggedAt.toISOString() })) };
}

const optionalId = (value: unknown): value is string | null =>
  value === null || (typeof value === 'string' && isUuid(value));

/**
 * The records of a message from the channel. Messages cross processes, so each entry is checked:
 * whatever is not a well-formed entry is left out rather than trusted.
 */
export function readTailMessage(message: unknown): LogRecord[] {
  const entries = (message as Partial<LogTailMessage> | null)?.entries;
  if (!Array.isArray(entries)) return [];
  const records: LogRecord[] = [];
  for (const entry of entries as Array<Partial<Record<keyof LogTailEntry, unknown>>>) {
    const loggedAt = typeof entry.loggedAt === 'string' ? new Date(entry.loggedAt) : null;
    if (
      typeof entry.id !== 'string' ||
      !isUuid(entry.id) ||
      !LOG_LEVELS.includes(entry.level as LogEntryLevel) ||
      typeof entry.message !== 'string' ||
      typeof entry.service !== 'string' ||
      !(entry.metadata === null || (typeof entry.metadata === 'object' && !Array.isArray(entry.metadata))) ||
      !optionalId(entry.projectId) ||
      !optionalId(entry.predictionId) ||
      !optionalId(entry.userId) ||
      !loggedAt ||
      Number.isNaN(loggedAt.getTime())
    ) {
      continue;
    }
    records.push({
      id: entry.id,
      level: entry.level as LogEntryLevel,
      message: entry.message,
      service: entry.service,
      metadata: entry.metadata as JsonObject | null,
      projectId: entry.projectId,
      predictionId: entry.predictionId,
      userId: entry.userId,
      loggedAt,
    });
  }
  return records;
}
