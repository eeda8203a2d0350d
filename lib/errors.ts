import { GraphQLError } from 'graphql';

/**
 * The one error catalog of the platform. Every error a client can see carries one of these
 * codes in `extensions.code`, and clients branch on it: a code, once published, keeps its meaning.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  MAX_DEPTH_EXCEEDED: 'MAX_DEPTH_EXCEEDED',
  MAX_ALIASES_EXCEEDED: 'MAX_ALIASES_EXCEEDED',
  MAX_ROOT_FIELDS_EXCEEDED: 'MAX_ROOT_FIELDS_EXCEEDED',
  MAX_TOKENS_EXCEEDED: 'MAX_TOKENS_EXCEEDED',
  MAX_DIRECTIVES_EXCEEDED: 'MAX_DIRECTIVES_EXCEEDED',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  MAX_INPUT_DEPTH_EXCEEDED: 'MAX_INPUT_DEPTH_EXCEEDED',
  MAX_INPUT_VALUES_EXCEEDED: 'MAX_INPUT_VALUES_EXCEEDED',
  QUERY_PLANNING_TIMEOUT: 'QUERY_PLANNING_TIMEOUT',
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What each code means, and the HTTP status used when the whole request fails with it. */
export const errorCatalog: Record<ErrorCode, { description: string; httpStatus: number }> = {
  UNAUTHENTICATED: {
    description: 'No valid credentials: missing, expired or invalid token, or wrong login.',
    httpStatus: 401,
  },
  FORBIDDEN: { description: 'Authenticated, but the role does not allow this operation.', httpStatus: 403 },
  BAD_USER_INPUT: {
    description: 'An argument is invalid; the message names it and says what is expected.',
    httpStatus: 400,
  },
  NOT_FOUND: { description: 'The object does not exist or is not visible to the caller.', httpStatus: 404 },
  CONFLICT: {
    description: 'The change conflicts with existing data (for example a duplicate email).',
    httpStatus: 409,
  },
  RATE_LIMITED: { description: 'Too many requests; retry after `extensions.retryAfter` seconds.', httpStatus: 429 },
  PAYLOAD_TOO_LARGE: { description: 'The request or one of its inputs exceeds a size limit.', httpStatus: 413 },
  REQUEST_TIMEOUT: {
    description: 'The request (its headers, its body, or the run it asked for) took longer than the platform allows.',
    httpStatus: 408,
  },
  NOT_ACCEPTABLE: {
    description: 'The Accept header admits neither application/graphql-response+json nor application/json.',
    httpStatus: 406,
  },
  GRAPHQL_VALIDATION_FAILED: { description: 'The operation is not valid against the schema.', httpStatus: 400 },
  GRAPHQL_PARSE_FAILED: { description: 'The operation is not syntactically valid GraphQL.', httpStatus: 400 },
  // The operation limits: the whole operation is refused before anything runs; `extensions.limit`
  // is the limit and `extensions.actual` the operation's measure (see docs/security.md).
  MAX_DEPTH_EXCEEDED: { description: 'The operation nests fields deeper than the gateway allows.', httpStatus: 400 },
  MAX_ALIASES_EXCEEDED: { description: 'The operation uses more aliases than the gateway allows.', httpStatus: 400 },
  MAX_ROOT_FIELDS_EXCEEDED: {
    description: 'The operation selects more root fields than the gateway allows.',
    httpStatus: 400,
  },
  MAX_TOKENS_EXCEEDED: {
    description: 'The operation text has more tokens than the gateway parses (parsing stops there: no `actual`).',
    httpStatus: 400,
  },
  MAX_DIRECTIVES_EXCEEDED: {
    description: 'The operation uses more directives than the gateway allows.',
    httpStatus: 400,
  },
  COST_LIMIT_EXCEEDED: {
    description: 'The operation could fetch more objects than the gateway allows (lists weighted by `first`).',
    httpStatus: 400,
  },
  MAX_INPUT_DEPTH_EXCEEDED: {
    description: 'A literal or variable value of the operation nests lists and objects deeper than the gateway allows.',
    httpStatus: 400,
  },
  MAX_INPUT_VALUES_EXCEEDED: {
    description: "The operation's literals and variables hold more values than the gateway allows.",
    httpStatus: 413,
  },
  QUERY_PLANNING_TIMEOUT: {
    description:
      'The gateway could not plan the operation in the time it allows one operation (its planners are busy, or the operation is too complex).',
    httpStatus: 503,
  },
  SUBGRAPH_UNAVAILABLE: {
    description:
      'A service behind the gateway did not answer (down, or past its timeout): the fields it owns are null, the rest of the response is complete.',
    httpStatus: 502,
  },
  PERSISTED_QUERY_NOT_IN_LIST: {
    description: 'This gateway runs only registered operations (safelist); register the operation first.',
    httpStatus: 400,
  },
  PERSISTED_QUERY_HASH_MISMATCH: {
    description:
      'The persisted query hash sent (extensions.persistedQuery.sha256Hash) is not the SHA-256 of the query.',
    httpStatus: 400,
  },
  INTERNAL_SERVER_ERROR: { description: 'An unexpected failure; details are logged, never sent.', httpStatus: 500 },
};

const knownCodes = new Set<string>(Object.values(ErrorCode));

export function isKnownErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && knownCodes.has(code);
}

/** Builds a client-facing error with its catalog code. */
export function err(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const notFound = (what: string): GraphQLError => err(ErrorCode.NOT_FOUND, `${what} not found`);
export const unauthenticated = (message = 'Authentication required'): GraphQLError =>
  err(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'Not allowed'): GraphQLError => err(ErrorCode.FORBIDDEN, message);
export const badInput = (message: string, extensions: Record<string, unknown> = {}): GraphQLError =>
  err(ErrorCode.BAD_USER_INPUT, message, extensions);
