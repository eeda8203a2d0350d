import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { buildOperationContext } from '@apollo/gateway';
import { QueryPlanner, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { readSupergraphDirectives } from '../supergraph-directives.js';

/**
 * A subscription operation made ready to serve, once per distinct operation text and shared by
 * every subscription of that text: its plan, and what executing the plan on each event needs.
 */
export type PreparedSubscription = {
  /** The fetch that opens it upstream, and the rest run on each event. */
  node: SubscriptionNode;
  /** `Sequence [primary, rest]`: what each event runs, its primary fetch answered by the event. */
  eventPlan: QueryPlan;
  /** The first subscriber's document (every one of this text parses to the same). */
  document: DocumentNode;
  /** Its canonical text. */
  text: string;
  operationName: string | undefined;
  operationContext: ReturnType<typeof buildOperationContext>;
};

/** One supergraph, as the subscription side serves it. */
export type ServedSupergraph = {
  /** The API schema clients' operations are validated and coerced against. */
  apiSchema: GraphQLSchema;
  /**
   * Root fields that stream a state rather than events (declared `@replayLatest`): a client joining a
   * shared subscription of one of these first gets the latest state the others got.
   */
  replayLatest: ReadonlySet<string>;
  /** What @apollo/gateway's executeQueryPlan needs next to a plan. */
  execution: { supergraphSchema: GraphQLSchema; apiSchema: Schema };
  /**
   * Prepares a (valid) subscription operation, `text` being its canonical (printed) text: cached by
   * text and operation name, so that thousands of subscriptions of one operation share one plan,
   * one AST and one operation context. Plans with `plan` (the planner pool) on a cache miss, or on
   * this thread when none is given.
   */
  prepareSubscription(
    text: string,
    document: DocumentNode,
    operationName: string | undefined,
    plan?: (text: string, operationName: string | undefined) => Promise<QueryPlan>,
  ): Promise<PreparedSubscription>;
};

/**
 * Builds the planner over a supergraph SDL, as @apollo/gateway does for HTTP operations. The gateway
 * keeps its planner private, so this is a second one over the same SDL: it plans the same way.
 */
export function loadSupergraph(supergraphSdl: string, maxCachedPlans = 500): ServedSupergraph {
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const planner = new QueryPlanner(supergraph);
  const prepared = new Map<string, PreparedSubscription>();
  const graphqlApiSchema = apiSchema.toGraphQLJSSchema();
  return {
    apiSchema: graphqlApiSchema,
    replayLatest: readSupergraphDirectives(supergraphSdl).replayLatest,
    execution: { supergraphSchema: supergraph.schema.toGraphQLJSSchema(), apiSchema },
    async prepareSubscription(text, document, operationName, plan) {
      const key = `${operationName ?? ''}\n${text}`;
      const cached = prepared.get(key);
      if (cached) {
        // Least recently used goes first: re-inserting moves a hit to the end.
        prepared.delete(key);
        prepared.set(key, cached);
        return cached;
      }
      const node = plan
        ? (await plan(text, operationName)).node
        : planner.buildQueryPlan(operationFromDocument(apiSchema, document, { operationName })).node;
      if (node?.kind !== 'Subscription') throw new Error(`expected a subscription plan, got ${node?.kind}`);
      const entry: PreparedSubscription = {
        node,
        eventPlan: {
          kind: 'QueryPlan',
          node: node.rest ? { kind: 'Sequence', nodes: [node.primary, node.rest] } : node.primary,
        },
        document,
        text,
        operationName,
        operationContext: buildOperationContext({
          schema: graphqlApiSchema,
          operationDocument: document,
          ...(operationName ? { operationName } : {}),
        }),
      };
      // Another subscriber of this text may have prepared it while this one waited for its plan.
      const raced = prepared.get(key);
      if (raced) return raced;
      if (prepared.size >= maxCachedPlans) prepared.delete(prepared.keys().next().value as string);
      prepared.set(key, entry);
      return entry;
    },
  };
}
