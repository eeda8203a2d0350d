import type { ServerResponse } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import { errorCatalog, ErrorCode, isKnownErrorCode } from '../../../lib/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * An RFC 9457 problem: `type` names the error catalog's code (one type per code), `title` says
 * it in words, `detail` this occurrence, `code` is the GraphQL error code. Other members:
 * what the error's extensions carried (retryAfter, limit, argument, …) and, when the request had
 * several things wrong, `errors`.
 */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
};

/** A problem type's title: its code in words ("Not found", "Rate limited"); the catalog describes it in full. */
export const problemTitle = (code: ErrorCode): string => {
  const words = code.toLowerCase().replaceAll('_', ' ').replace('graphql', 'GraphQL');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** The problem type URI of an error code. */
export const problemType = (code: ErrorCode): string =>
  `https://ai-code.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`;

// Members a problem sets itself, and extensions that are the gateway's business (how Apollo sets a status).
const RESERVED = new Set([
  'type',
  'title',
  'status',
  'detail',
  'instance',
  'code',
  'errors',
  'http',
  'stacktrace',
  'serviceName',
]);

export function problem(
  code: ErrorCode,
  detail: string,
  extensions: Readonly<Record<string, unknown>> = {},
  status = errorCatalog[code].httpStatus,
): Problem {
  const result: Problem = { type: problemType(code), title: problemTitle(code), status, detail, code };
  for (const [key, value] of Object.entries(extensions)) {
    if (RESERVED.has(key) || value === undefined) continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) result[key] = value;
  }
  return result;
}

/** The problem a GraphQL answer's errors amount to: the first error's code decides the type and status. */
export function problemOfErrors(errors: readonly GraphQLFormattedError[], fallbackStatus?: number): Problem {
  const first = errors[0];
  const extensions = (first?.extensions ?? {}) as Record<string, unknown>;
  const code = isKnownErrorCode(extensions.code) ? extensions.code : ErrorCode.INTERNAL_SERVER_ERROR;
  const status =
    isKnownErrorCode(extensions.code) || fallbackStatus === undefined || fallbackStatus < 400
      ? errorCatalog[code].httpStatus
      : fallbackStatus;
  const result = problem(code, first?.message ?? 'Internal server error', extensions, status);
  if (errors.length > 1) {
    result.errors = errors.map((e) => ({
      detail: e.message,
      code: isKnownErrorCode(e.extensions?.code) ? e.extensions.code : ErrorCode.INTERNAL_SERVER_ERROR,
      ...(e.path ? { path: e.path } : {}),
    }));
  }
  return result;
}

/** Answers with a problem: Retry-After on 429 (and 503 when known), WWW-Authenticate on 401. */
export function sendProblem(res: ServerResponse, body: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = body.status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (typeof body.retryAfter === 'number' && !res.hasHeader('retry-after'))
    res.setHeader('retry-after', String(body.retryAfter));
  if (body.status === 429 && !res.hasHeader('retry-after')) res.setHeader('retry-after', '1');
  if (body.status === 401) res.setHeader('www-authenticate', 'Bearer');
  res.setHeader('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}
