import { isUuid } from '../graphql/pagination.js';
import type { LogEntryLevel } from '../db/schema.js';
import type { JsonObject, JsonValue } from '../docstore/index.js';
import { nextLogStamp } from './log-id.js';

export type { LogEntryLevel };

export const LOG_LEVELS: readonly LogEntryLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/** Longer messages are truncated (the `logs` table checks the same bound). */
export const MAX_LOG_MESSAGE_LENGTH = 4096;
/** A service name, e.g. `inference`; the table checks the same bound. */
export const MAX_LOG_SERVICE_LENGTH = 64;
/** Larger metadata is replaced by a note saying so: one entry never fails a batch, nor fills the store. */
export const MAX_LOG_METADATA_BYTES = 16 * 1024;
/** Deeper values are replaced by a placeholder (the document store refuses deep documents). */
export const MAX_LOG_METADATA_DEPTH = 8;

/** One entry of the central log as written: what the sink stores, copies and publishes. */
export type LogRecord = {
  /** A UUIDv7, monotonic within the process: ordering by (loggedAt, id) is write order. */
  id: string;
  level: LogEntryLevel;
  message: string;
  service: string;
  /** Everything else the writer passed, as plain JSON. */
  metadata: JsonObject | null;
  projectId: string | null;
  predictionId: string | null;
  /** The user the entry concerns (see migration 0005): it may read entries linked to nothing else. */
  userId: string | null;
  loggedAt: Date;
};

/** What a writer passes with a message: the links, and any other fields as metadata. */
export type LogFields = {
  projectId?: string | null | undefined;
  predictionId?: string | null | undefined;
  userId?: string | null | undefined;
  [field: string]: unknown;
};

const LINKS = ['projectId', 'predictionId', 'userId'] as const;

/**
 * Builds the record of one entry at the moment it is written: it gets its id and time now, and a
 * copy of its fields, so a caller that changes its objects afterwards changes nothing. Never throws:
 * text is cleaned and bounded, metadata made plain JSON, and a link that is not a UUID stays in the
 * metadata instead of becoming a link that cannot name a row.
 */
export function createLogRecord(
  service: string,
  level: LogEntryLevel,
  message: string,
  fields: LogFields = {},
): LogRecord {
  const { id, loggedAt } = nextLogStamp();
  const links: Record<(typeof LINKS)[number], string | null> = { projectId: null, predictionId: null, userId: null };
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if ((LINKS as readonly string[]).includes(key) && (value == null || (typeof value === 'string' && isUuid(value)))) {
      links[key as (typeof LINKS)[number]] = value ? value.toLowerCase() : null;
    } else if (value !== undefined) {
      rest[key] = value;
    }
  }
  return {
    id,
    level,
    message: boundedText(String(message), MAX_LOG_MESSAGE_LENGTH),
    service: boundedText(service, MAX_LOG_SERVICE_LENGTH) || 'unknown',
    metadata: toMetadata(rest),
    ...links,
    loggedAt,
  };
}

// PostgreSQL text and jsonb cannot hold NUL, and a lone surrogate is not valid UTF-8.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this pattern is for
const UNSTORABLE = /\u0000|\p{Cs}/gu;

/** `text` storable and at most `max` characters long, truncated with an ellipsis. */
export function boundedText(text: string, max: number): string {
  const clean = text.replace(UNSTORABLE, '\uFFFD');
  if (clean.length <= max) return clean;
  // Cleaning again drops half of a surrogate pair the cut may have split.
  return `${clean.slice(0, max - 1)}…`.replace(UNSTORABLE, '');
}

const MAX_KEY_LENGTH = 200;
// Secrets never reach the central log, at any depth: stdout redacts the same keys (lib/logger.ts).
const SECRET_KEYS = new Set(['password', 'refreshtoken', 'accesstoken', 'authorization']);

/** Plain JSON of whatever a writer passed: errors, dates, bigints and cycles included. */
function toMetadata(fields: Record<string, unknown>): JsonObject | null {
  if (Object.keys(fields).length === 0) return null;
  const seen = new Set<object>();
  const convert = (value: unknown, depth: number): JsonValue | undefined => {
    switch (typeof value) {
      case 'string':
        return boundedText(value, MAX_LOG_METADATA_BYTES);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'object':
        break;
      default:
        // undefined, functions and symbols have no JSON form: left out, as JSON.stringify does.
        return undefined;
    }
    if (value === null) return null;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (value instanceof Error) {
      return { name: boundedText(value.name, 200), message: boundedText(value.message, MAX_LOG_MESSAGE_LENGTH) };
    }
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_LOG_METADATA_DEPTH) return '[too deep]';
    seen.add(value);
    let result: JsonValue;
    if (Array.isArray(value)) {
      result = value.map((item) => convert(item, depth + 1) ?? null);
    } else {
      const object: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        if (SECRET_KEYS.has(key.toLowerCase())) continue;
        const converted = convert(item, depth + 1);
        // The document store refuses an empty key.
        if (converted !== undefined) object[boundedText(key, MAX_KEY_LENGTH) || '(empty)'] = converted;
      }
      result = object;
    }
    seen.delete(value);
    return result;
  };
  const metadata = convert(fields, 0) as JsonObject;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  return bytes <= MAX_LOG_METADATA_BYTES ? metadata : { truncated: true, bytes };
}
