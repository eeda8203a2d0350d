import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { LogEvent } from 'kysely';
import { tracer } from '../telemetry/tracing.js';

const OPERATION =
  /^\s*(?:with\b[\s\S]*?\)\s*)?(select|insert|update|delete|merge|create|alter|drop|truncate|begin|commit|rollback|savepoint|release|lock)\b/i;

/**
 * A span per SQL query, made from Kysely's query log once the query is done (start time = end -
 * duration): `db.system` postgresql, the statement's text with its `$1` placeholders (never the
 * parameters' values), an error status for a failed query. It is a child of the span active where
 * the query ran. connectDatabase installs it only while tracing is on, so without OTEL_* Kysely
 * neither times nor logs queries.
 */
export function querySpan(event: LogEvent): void {
  const end = Date.now();
  const sql = event.query.sql;
  const operation = OPERATION.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  const span = tracer().startSpan(operation, {
    kind: SpanKind.CLIENT,
    startTime: end - event.queryDurationMillis,
    attributes: {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.query.text': sql.length > 4096 ? `${sql.slice(0, 4096)}…` : sql,
    },
  });
  if (event.level === 'error') {
    const error = event.error;
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : 'query failed' });
  }
  span.end(end);
}
