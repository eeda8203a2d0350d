import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorCatalog, isKnownErrorCode } from '../../../lib/errors.js';

/** Label of an operation sent without a name. */
export const ANONYMOUS_OPERATION = '(anonymous)';
/** Label of the names past MAX_OPERATION_NAMES, or not GraphQL names: the label set stays bounded. */
export const OTHER_OPERATION = '(other)';
/** Distinct operation names given a label of their own; a client inventing names cannot grow the series past it. */
export const MAX_OPERATION_NAMES = 500;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

export type OperationOutcome = 'success' | 'client_error' | 'server_error';

/**
 * An operation's outcome by its errors' codes (lib/errors.ts): a code answered with a 5xx status,
 * or no known code at all, is the server's fault; any other error is the client's.
 */
export function operationOutcome(errors: readonly GraphQLFormattedError[] | undefined): OperationOutcome {
  if (!errors || errors.length === 0) return 'success';
  for (const error of errors) {
    const code = error.extensions?.code;
    if (!isKnownErrorCode(code) || errorCatalog[code].httpStatus >= 500) return 'server_error';
  }
  return 'client_error';
}

/**
 * GraphQL operations by name, type and outcome, and their durations: what the error-rate and
 * per-operation latency alerts read (deploy/monitoring/). `http_requests_total` sees one route,
 * `/graphql`, answered 200 even when an operation fails.
 */
export function useOperationMetrics<TContext extends object>(registry: Registry): ApolloServerPlugin<TContext> {
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations handled, by operation name, type and outcome (success, client_error, server_error)',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'GraphQL operation handling time, by operation name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const names = new Set<string>();
  const label = (name: string | null | undefined): string => {
    if (!name) return ANONYMOUS_OPERATION;
    if (!NAME.test(name)) return OTHER_OPERATION;
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return OTHER_OPERATION;
    names.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation, request, response }) {
          // Before the document is resolved (a parse or validation error), the name the client sent.
          const labels = {
            operation: label(operationName ?? request.operationName),
            type: operation?.operation ?? 'unknown',
          };
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          operations.inc({ ...labels, outcome: operationOutcome(errors) });
          duration.observe(labels, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
