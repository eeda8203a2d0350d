export {
  createLogRecord,
  LOG_LEVELS,
  MAX_LOG_MESSAGE_LENGTH,
  MAX_LOG_METADATA_BYTES,
  MAX_LOG_SERVICE_LENGTH,
  type LogEntryLevel,
  type LogFields,
  type LogRecord,
} from './log-record.js';
export {
  createLogSink,
  LOG_DOCUMENT_COLLECTION,
  type LogDropReason,
  type LogSink,
  type LogSinkOptions,
} from './log-sink.js';
export { createPlatformLog, type PlatformLog, type PlatformLogOptions } from './platform-log.js';
export { LOG_TAIL_CHANNEL, readTailMessage, toTailMessage, type LogTailEntry, type LogTailMessage } from './tail.js';
