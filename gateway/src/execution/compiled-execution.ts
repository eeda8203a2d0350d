import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import type { Schema } from '@apollo/federation-internals';
import type { QueryPlan } from '@apollo/query-planner';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLSchema } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import { wrapExecutor, type GatewayInterface } from '../context.js';
import { planKey } from '../planning/use-planner-pool.js';
import { compilePlan, NotCompiled, type CompiledPlan, type RequestContext } from './plan-executor.js';

/** What @apollo/gateway keeps of the loaded supergraph, read (not changed) when a plan is compiled. */
type GatewayInternals = {
  schema?: GraphQLSchema;
  apiSchema?: Schema;
  supergraphSchema?: GraphQLSchema;
  serviceMap: Record<string, { dataSource: GraphQLDataSource }>;
};

export type PlanExecutionMetrics = { executions: Counter<'executor'> };

export function createPlanExecutionMetrics(registry: Registry): PlanExecutionMetrics {
  return {
    executions: new Counter({
      name: 'gateway_plan_executions_total',
      help: "Query plans executed: by the compiled executor (compiled; passthrough: one fetch, its answer passed through) or by @apollo/gateway's (apollo)",
      labelNames: ['executor'] as const,
      registers: [registry],
    }),
  };
}

// Plans the compiler left to Apollo's executor, so that they are not tried again.
const NOT_COMPILED = Symbol('not compiled');

/**
 * Runs operations with compiled plans (plan-executor.ts) in place of @apollo/gateway's
 * executeQueryPlan. The plan is the gateway's own (its plan cache, keyed as it keys it, filled by
 * the planner pool); the compiled form is kept beside it, for as long as the cache keeps the plan.
 * An operation whose plan is not cached yet, or that the compiler does not handle, is run by the
 * gateway's executor as before.
 */
export function compiledExecution(
  gateway: ApolloGateway,
  planCache: KeyValueCache<QueryPlan>,
  metrics?: PlanExecutionMetrics,
): GatewayInterface {
  const internals = gateway as unknown as GatewayInternals;
  const compiled = new WeakMap<QueryPlan, CompiledPlan | typeof NOT_COMPILED>();
  // Per request, as @apollo/gateway builds it: the gateway updates its services in place.
  const services = (): Record<string, GraphQLDataSource> => {
    const serviceMap = Object.create(null) as Record<string, GraphQLDataSource>;
    for (const name in internals.serviceMap) serviceMap[name] = internals.serviceMap[name]!.dataSource;
    return serviceMap;
  };
  const compiledFor = async (requestContext: RequestContext): Promise<CompiledPlan | undefined> => {
    if (requestContext.operation.operation === 'subscription') return undefined;
    // Apollo's executor answers this header with the plan outside production.
    if (requestContext.request.http?.headers.get('apollo-query-plan-experimental')) return undefined;
    if (requestContext.metrics.captureTraces) return undefined;
    const plan = await planCache.get(planKey(requestContext.queryHash, requestContext.request.operationName));
    if (!plan) return undefined;
    let entry = compiled.get(plan);
    if (entry === undefined) {
      const { schema, apiSchema, supergraphSchema } = internals;
      if (!schema || !apiSchema || !supergraphSchema) return undefined;
      try {
        entry = compilePlan({
          plan,
          document: requestContext.document,
          operationName: requestContext.request.operationName,
          schema,
          apiSchema,
          supergraphSchema,
        });
      } catch (error) {
        if (!(error instanceof NotCompiled)) throw error;
        entry = NOT_COMPILED;
      }
      compiled.set(plan, entry);
    }
    return entry === NOT_COMPILED ? undefined : entry;
  };
  return wrapExecutor(gateway, (executor) => async (requestContext) => {
    const plan = await compiledFor(requestContext as RequestContext);
    if (!plan) {
      metrics?.executions.inc({ executor: 'apollo' });
      return executor(requestContext);
    }
    metrics?.executions.inc({ executor: plan.passThrough ? 'passthrough' : 'compiled' });
    return plan.execute(requestContext as RequestContext, services());
  });
}
