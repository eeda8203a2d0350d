import { badInput } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/graphql/pagination.js';
import {
  LOG_LEVELS,
  MAX_LOG_SERVICE_LENGTH,
  type LogEntryLevel,
  type LogRecord,
} from '../../../../lib/platform-log/index.js';
import { validText } from '../../../../lib/validation.js';

/** `LogFilter` as the client sent it. */
export type LogFilterInput = {
  levels?: readonly LogEntryLevel[] | null;
  service?: string | null;
  projectId?: string | null;
  predictionId?: string | null;
  contains?: string | null;
  since?: Date | null;
};

/** A validated filter: what both `logs` (in SQL) and `logTail` (in memory) apply. */
export type LogQuery = {
  levels?: readonly LogEntryLevel[];
  service?: string;
  projectId?: string;
  predictionId?: string;
  /** Matched case-insensitively and literally. */
  contains?: string;
  /** Inclusive. */
  since?: Date;
};

export const MAX_CONTAINS_LENGTH = 200;

export function parseLogFilter(filter: LogFilterInput | null | undefined): LogQuery {
  if (!filter) return {};
  const query: LogQuery = {};
  if (filter.levels != null) {
    if (filter.levels.length === 0) {
      throw badInput('`filter.levels` must name at least one level; omit it for every level', {
        argument: 'filter.levels',
      });
    }
    query.levels = LOG_LEVELS.filter((level) => filter.levels!.includes(level));
  }
  if (filter.service != null) {
    query.service = validText(filter.service, {
      argument: 'filter.service',
      min: 1,
      max: MAX_LOG_SERVICE_LENGTH,
      trim: false,
    });
  }
  // Ids are compared as stored (lower-case UUIDs); one that is not a UUID simply matches nothing.
  if (filter.projectId != null) query.projectId = normalizeId(filter.projectId);
  if (filter.predictionId != null) query.predictionId = normalizeId(filter.predictionId);
  if (filter.contains != null && filter.contains !== '') {
    query.contains = validText(filter.contains, {
      argument: 'filter.contains',
      max: MAX_CONTAINS_LENGTH,
      trim: false,
    });
  }
  if (filter.since != null) query.since = filter.since;
  return query;
}

const normalizeId = (id: string): string => (isUuid(id) ? id.toLowerCase() : id);

/** False when an id in the query cannot name any row: the answer is empty without asking the database. */
export function canMatch(query: LogQuery): boolean {
  return [query.projectId, query.predictionId].every((id) => id === undefined || isUuid(id));
}

/** The filter applied to one entry, for the tail; the same semantics as listLogs' SQL. */
export function createLogMatcher(query: LogQuery): (record: LogRecord) => boolean {
  const contains = query.contains?.toLowerCase();
  const since = query.since?.getTime();
  return (record) =>
    (query.levels === undefined || query.levels.includes(record.level)) &&
    (query.service === undefined || record.service === query.service) &&
    (query.projectId === undefined || record.projectId === query.projectId) &&
    (query.predictionId === undefined || record.predictionId === query.predictionId) &&
    (contains === undefined || record.message.toLowerCase().includes(contains)) &&
    (since === undefined || record.loggedAt.getTime() >= since);
}
