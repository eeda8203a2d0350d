import type { GraphQLError } from 'graphql';
import { err, ErrorCode } from '../errors.js';

// graphql-js's own message when `parse(source, { maxTokens })` gives up (16.x spells it "more that").
const TOKEN_LIMIT = /Document contains more th(?:an|at) (\d+) tokens\. Parsing aborted\./;

/**
 * The catalog's MAX_TOKENS_EXCEEDED for graphql-js's parse abort at `maxTokens` (which otherwise
 * reaches clients as a GRAPHQL_PARSE_FAILED syntax error), or undefined for any other error.
 * Parsing stops at the limit, so the real count is unknown: the error names the limit only.
 */
export function maxTokensExceeded(error: { message: string }): GraphQLError | undefined {
  const match = TOKEN_LIMIT.exec(error.message);
  if (!match) return undefined;
  const limit = Number(match[1]);
  return err(ErrorCode.MAX_TOKENS_EXCEEDED, `The operation has more than ${limit} tokens`, { limit });
}
