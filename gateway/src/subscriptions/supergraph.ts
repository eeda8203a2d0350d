import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';

/** One supergraph, as the subscription side serves it. */
export type ServedSupergraph = {
  /** The API schema clients' operations are validated and coerced against. */
  apiSchema: GraphQLSchema;
  /** What @apollo/gateway's executeQueryPlan needs next to a plan. */
  execution: { supergraphSchema: GraphQLSchema; apiSchema: Schema };
  /**
   * Plans a (valid) subscription operation: the fetch that opens it upstream and the plan run on
   * every event. `key` identifies the operation text; plans are cached by it.
   */
  planSubscription(key: string, document: DocumentNode, operationName: string | undefined): SubscriptionNode;
};

/**
 * Builds the planner over a supergraph SDL, as @apollo/gateway does for HTTP operations. The gateway
 * keeps its planner private, so this is a second one over the same SDL: it plans the same way.
 */
export function loadSupergraph(supergraphSdl: string, maxCachedPlans = 500): ServedSupergraph {
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const planner = new QueryPlanner(supergraph);
  const plans = new Map<string, SubscriptionNode>();
  return {
    apiSchema: apiSchema.toGraphQLJSSchema(),
    execution: { supergraphSchema: supergraph.schema.toGraphQLJSSchema(), apiSchema },
    planSubscription(key, document, operationName) {
      const cached = plans.get(key);
      if (cached) {
        // Least recently used goes first: re-inserting moves a hit to the end.
        plans.delete(key);
        plans.set(key, cached);
        return cached;
      }
      const operation = operationFromDocument(apiSchema, document, { operationName });
      const plan = planner.buildQueryPlan(operation).node;
      if (plan?.kind !== 'Subscription') throw new Error(`expected a subscription plan, got ${plan?.kind}`);
      if (plans.size >= maxCachedPlans) plans.delete(plans.keys().next().value as string);
      plans.set(key, plan);
      return plan;
    },
  };
}
