import { executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../../../lib/logger.js';
import type { GatewayContext } from '../context.js';
import type { PreparedSubscription, ServedSupergraph } from './supergraph.js';

type RequestContext = Parameters<typeof executeQueryPlan>[2];
type ExecutionResult = Awaited<ReturnType<typeof executeQueryPlan>>;

export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export type EventExecutorOptions = {
  supergraph: ServedSupergraph;
  /** The operation, planned (shared by every subscription of its text). */
  prepared: PreparedSubscription;
  /** Coerced against the API schema. */
  variables: Record<string, unknown>;
  /**
   * Whose identity the entity fetches carry, exactly as for HTTP operations. No client address:
   * one executor serves every subscriber of a shared subscription, and rate limits never see it.
   */
  context: Pick<GatewayContext, 'caller'>;
  /** The gateway's data sources (HTTP to each subgraph), by subgraph name. */
  dataSources: ReadonlyMap<string, GraphQLDataSource>;
  logger: Logger;
  formatError: ErrorFormatter;
};

/** Turns one event of an upstream subscription into the response its subscribers asked for; never rejects. */
export type EventExecutor = (event: FormattedExecutionResult) => Promise<FormattedExecutionResult>;

// Nothing caches between the fetches of one event; executeQueryPlan only wants the shape.
const noCache: RequestContext['cache'] = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => undefined,
};

/**
 * Resolves each event with @apollo/gateway's own executeQueryPlan, so subscriptions get exactly
 * what HTTP operations get: batched `_entities` fetches, @requires inputs, error paths, and the
 * final shaping (aliases, fragments, __typename, null propagation).
 *
 * executeQueryPlan refuses Subscription nodes, and needs no special one: the event *is* the
 * response of the plan's primary fetch. So each event runs `Sequence [primary, rest]` with a
 * data source that answers the primary fetch with the event and passes every other fetch on.
 */
export function createEventExecutor(options: EventExecutorOptions): EventExecutor {
  const { supergraph, prepared, variables, context, logger } = options;
  const { document, text: source, operationName, operationContext, eventPlan: queryPlan } = prepared;
  const { primary } = prepared.node;
  const services: Record<string, GraphQLDataSource> = Object.fromEntries(options.dataSources);
  const primaryService = services[primary.serviceName];

  return async (event) => {
    const eventSource: GraphQLDataSource = {
      process: (request) => {
        if ('incomingRequestContext' in request && request.request.query === primary.operation) {
          return Promise.resolve(event);
        }
        if (!primaryService) return Promise.reject(new Error(`no data source for ${primary.serviceName}`));
        return primaryService.process(request);
      },
    };
    const requestContext: RequestContext = {
      request: { query: source, variables, ...(operationName ? { operationName } : {}) },
      context,
      logger,
      schema: supergraph.apiSchema,
      schemaHash: '' as RequestContext['schemaHash'],
      cache: noCache,
      queryHash: '',
      document,
      source,
      operationName: operationName ?? null,
      operation: operationContext.operation,
      // A fresh object per event: executeQueryPlan appends error paths to it.
      metrics: {},
      overallCachePolicy: undefined,
    };
    try {
      const result = await executeQueryPlan(
        queryPlan,
        { ...services, [primary.serviceName]: eventSource },
        requestContext,
        operationContext,
        supergraph.execution.supergraphSchema,
        supergraph.execution.apiSchema,
      );
      return formatResult(result, options.formatError);
    } catch (error) {
      return formatResult({ errors: [toGraphQLError(error)] }, options.formatError);
    }
  };
}

function formatResult(result: ExecutionResult, formatError: ErrorFormatter): FormattedExecutionResult {
  const errors = (result.errors ?? []).map((error) => {
    const graphQLError = toGraphQLError(error);
    return formatError(graphQLError.toJSON(), graphQLError);
  });
  return { data: result.data ?? null, ...(errors.length > 0 ? { errors } : {}) };
}

// executeQueryPlan reports a failed fetch with the fetch's own error, which need not be a GraphQLError.
function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const originalError = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(originalError.message, { originalError });
}
