import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, isKnownErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { reportUnexpectedError } from '../telemetry/sentry.js';
import { maxTokensExceeded } from './token-limit.js';

// Codes Apollo Server itself produces that clients must see unchanged (APQ relies on these two).
const PASSTHROUGH = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);
// Apollo's request-level codes, folded into the catalog's nearest code.
const REMAPPED: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
};

// Apollo's request-level errors that carry no code of their own (Apollo then gives them
// INTERNAL_SERVER_ERROR), recognized by their message.
const UNCODED: Record<string, ErrorCode> = {
  'provided sha does not match query': ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
  'Unsupported persisted query version': ErrorCode.BAD_USER_INPUT,
};

// graphql-js ends a message with its guesses at what was meant: "… Did you mean "email"?".
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** A message without graphql-js's "Did you mean …?" guesses, which reveal names in the schema. */
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, '');

export type ErrorFormatterOptions = {
  /**
   * Drops "Did you mean …?" suggestions from messages: they let a client enumerate the schema when
   * introspection is off. @default false
   */
  hideSuggestions?: boolean;
  /**
   * Drops the gateway's internal names from extensions: `serviceName` (which subgraph failed) and
   * `response` (a subgraph's URL and raw answer). @default false
   */
  hideInternals?: boolean;
};

// Extensions @apollo/gateway and SubgraphDataSource add to a subgraph's errors: they name the
// services behind the gateway and their addresses.
const INTERNAL_EXTENSIONS = ['serviceName', 'response'];

/**
 * Apollo Server `formatError`: errors with a catalog code reach the client as they are (without
 * stack traces); anything else is logged and replaced by a bare INTERNAL_SERVER_ERROR so no SQL,
 * path or stack leaks out.
 */
export function createErrorFormatter(logger: Logger, options: ErrorFormatterOptions = {}) {
  const message = options.hideSuggestions ? withoutSuggestions : (text: string) => text;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    if (options.hideInternals) for (const name of INTERNAL_EXTENSIONS) delete extensions[name];
    if (code === ErrorCode.GRAPHQL_PARSE_FAILED) {
      const tooManyTokens = maxTokensExceeded(formatted);
      if (tooManyTokens) return tooManyTokens.toJSON();
    }
    if (typeof code === 'string' && code in REMAPPED) {
      return { ...formatted, message: message(formatted.message), extensions: { ...extensions, code: REMAPPED[code] } };
    }
    if ((code === undefined || code === ErrorCode.INTERNAL_SERVER_ERROR) && Object.hasOwn(UNCODED, formatted.message)) {
      return { message: formatted.message, extensions: { ...extensions, code: UNCODED[formatted.message] } };
    }
    if ((isKnownErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) || PASSTHROUGH.has(String(code))) {
      return { ...formatted, message: message(formatted.message), extensions };
    }
    logger.error({ err: error, path: formatted.path }, 'unexpected error while handling a GraphQL request');
    reportUnexpectedError(error, { path: formatted.path });
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
