import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { errorCatalog, type ErrorCode } from '../../../lib/errors.js';
import { checkOperationLimits, MAX_VALIDATION_ERRORS, type OperationLimits } from './operation-limits.js';

/**
 * Errors thrown from a plugin hook default to status 500; the catalog's status goes in
 * `extensions.http`, which Apollo takes out of the error before it reaches the client.
 */
function withStatus(error: GraphQLError): GraphQLError {
  const code = error.extensions.code as ErrorCode;
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, http: { status: errorCatalog[code].httpStatus } },
  });
}

/**
 * Apollo Server plugin applying the request-dependent limits to every operation it runs (HTTP, and
 * queries and mutations sent over WebSocket): variables, and cost (lists weighted by `first`, which
 * a variable may give), once the operation is resolved and before the gateway plans or runs
 * anything. What the document alone decides was refused before Apollo parsed it (admission.ts):
 * Apollo ends a request with a 500 for anything thrown before this hook.
 */
export function useOperationLimits<TContext extends BaseContext>(
  limits: OperationLimits,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          const exceeded = checkOperationLimits(limits, schema, document, operationName, request.variables);
          if (exceeded) throw withStatus(exceeded);
        },
      };
    },
  };
}

/** Apollo Server `parseOptions`: graphql-js stops parsing at the token limit rather than building the AST. */
export const operationParseOptions = (limits: OperationLimits) => ({ maxTokens: limits.maxTokens });

/** Apollo Server `validationOptions`: validation stops after a few errors. */
export const operationValidationOptions = { maxErrors: MAX_VALIDATION_ERRORS };
