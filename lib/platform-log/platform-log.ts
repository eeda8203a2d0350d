import type { Logger } from '../logger.js';
import { createLogRecord, LOG_LEVELS, type LogEntryLevel, type LogFields } from './log-record.js';
import type { LogSink } from './log-sink.js';

export type PlatformLogOptions = {
  /** The service writing, e.g. `users`; recorded with every entry. */
  service: string;
  /** Structured output on stdout: every entry goes there at once, whatever happens to the sink. */
  logger: Logger;
  /** The central log. Without one, entries go to stdout only (a process without a database). */
  sink?: LogSink | undefined;
  /** Least severe level recorded in the central log; less severe entries go to stdout only. @default 'INFO' */
  minLevel?: LogEntryLevel;
};

type Write = (message: string, fields?: LogFields) => void;

/**
 * How a service records its platform events (errors, job logs, auth events, model status changes).
 * `fields` may link the entry to a project, a prediction and the user it concerns, which decides
 * who may read it (ADMIN: everyone's; a USER: entries of their projects and predictions, and entries
 * about them that are linked to neither); every other field is kept as metadata.
 */
export interface PlatformLog {
  debug: Write;
  info: Write;
  warn: Write;
  error: Write;
}

const PINO_LEVEL = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

export function createPlatformLog(options: PlatformLogOptions): PlatformLog {
  const { service, logger, sink } = options;
  const recorded = new Set(LOG_LEVELS.slice(LOG_LEVELS.indexOf(options.minLevel ?? 'INFO')));
  const writer =
    (level: LogEntryLevel): Write =>
    (message, fields = {}) => {
      if (!sink || !recorded.has(level)) {
        logger[PINO_LEVEL[level]](fields, message);
        return;
      }
      const record = createLogRecord(service, level, message, fields);
      // The id on stdout too, so a line there can be found in the central log.
      logger[PINO_LEVEL[level]]({ ...fields, logId: record.id }, record.message);
      sink.write(record);
    };
  return { debug: writer('DEBUG'), info: writer('INFO'), warn: writer('WARN'), error: writer('ERROR') };
}
