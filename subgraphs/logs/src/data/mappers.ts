import type { LogRecord } from '../../../../lib/platform-log/index.js';

/** A `LogEntry` resolves from its record, whether read from the table or from the tail channel. */
export type LogEntryParent = LogRecord;
