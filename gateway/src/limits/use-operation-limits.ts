import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { errorCatalog, type ErrorCode } from '../../../lib/errors.js';
import { checkOperationLimits, checkVariableNesting, type OperationLimits } from './operation-limits.js';

/**
 * Apollo Server plugin applying the operation limits to every operation it runs (HTTP, and queries
 * and mutations sent over WebSocket): after validation, before the gateway plans or runs anything.
 * Tokens are bounded by Apollo's own parser (`parseOptions.maxTokens`); see `operationParseOptions`.
 */
export function useOperationLimits<TContext extends BaseContext>(
  limits: OperationLimits,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          const exceeded =
            checkVariableNesting(request.variables) ??
            checkOperationLimits(limits, schema, document, operationName, request.variables);
          if (!exceeded) return;
          // Errors thrown here default to status 500; the catalog's status goes in `extensions.http`,
          // which Apollo takes out of the error before it reaches the client.
          const code = exceeded.extensions.code as ErrorCode;
          throw new GraphQLError(exceeded.message, {
            extensions: { ...exceeded.extensions, http: { status: errorCatalog[code].httpStatus } },
          });
        },
      };
    },
  };
}

/** Apollo Server `parseOptions`: graphql-js stops parsing at the token limit rather than building the AST. */
export const operationParseOptions = (limits: OperationLimits) => ({ maxTokens: limits.maxTokens });
