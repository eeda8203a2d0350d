/**
 * A federation served in one process, for comparing the compiled executor with @apollo/gateway's
 * (the differential tests, bench/gateway/executor.ts): subgraphs built with @apollo/subgraph and
 * executed by graphql-js, each answer passed through JSON as an HTTP subgraph's would be, and two
 * Apollo Servers over the same supergraph, one on each executor.
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer, type GraphQLRequest } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { execute, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { Registry } from 'prom-client';
import { createPlanCache } from '../planning/use-planner-pool.js';
import { compiledExecution, createPlanExecutionMetrics } from './compiled-execution.js';

export type InProcessSubgraph = { name: string; typeDefs: string; resolvers: unknown };

/** What the operation runs with: `failSubgraph` makes that subgraph's fetches reject (an outage). */
export type InProcessContext = { failSubgraph?: string };

class InProcessDataSource implements GraphQLDataSource<InProcessContext> {
  readonly #documents = new Map<string, DocumentNode>();
  readonly #answers = new Map<string, string>();
  constructor(
    readonly name: string,
    readonly schema: GraphQLSchema,
    /** Keep each distinct request's answer text (the data never changes): for benchmarks. */
    readonly memoize: boolean,
  ) {}

  async process(options: GraphQLDataSourceProcessOptions<InProcessContext>) {
    const { request } = options;
    if ('context' in options && options.context?.failSubgraph === this.name)
      throw new Error(`connect ECONNREFUSED (${this.name})`);
    const key = this.memoize ? JSON.stringify(request) : '';
    let answer = this.memoize ? this.#answers.get(key) : undefined;
    if (answer === undefined) {
      let document = this.#documents.get(request.query!);
      if (!document) this.#documents.set(request.query!, (document = parse(request.query!)));
      const result = await execute({
        schema: this.schema,
        document,
        variableValues: request.variables ?? null,
        operationName: request.operationName ?? null,
      });
      answer = JSON.stringify(result);
      if (this.memoize) this.#answers.set(key, answer);
    }
    // A fresh tree per fetch, as a subgraph's answer parsed off the wire: the executors merge into it.
    return JSON.parse(answer);
  }
}

export type InProcessFederation = {
  supergraphSdl: string;
  /** Runs an operation on Apollo's executor and on the compiled one; the compiled counts of the latter. */
  apollo: ApolloServer<InProcessContext>;
  compiled: ApolloServer<InProcessContext>;
  compiledRuns(): Promise<{ compiled: number; passThrough: number; apollo: number }>;
  stop(): Promise<void>;
};

export async function createInProcessFederation(
  subgraphs: readonly InProcessSubgraph[],
  options: { memoize?: boolean } = {},
): Promise<InProcessFederation> {
  const schemas = new Map<string, GraphQLSchema>();
  for (const subgraph of subgraphs)
    schemas.set(
      subgraph.name,
      buildSubgraphSchema({
        typeDefs: parse(subgraph.typeDefs),
        resolvers: subgraph.resolvers as GraphQLResolverMap<unknown>,
      }),
    );
  const composed = composeServices(
    subgraphs.map((subgraph) => ({
      name: subgraph.name,
      url: `http://in-process/${subgraph.name}`,
      typeDefs: parse(subgraph.typeDefs),
    })),
  );
  if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
  const supergraphSdl = composed.supergraphSdl;
  const gatewayOf = (cache?: ReturnType<typeof createPlanCache>) =>
    new ApolloGateway({
      supergraphSdl,
      buildService: ({ name }) => new InProcessDataSource(name, schemas.get(name)!, options.memoize ?? false),
      ...(cache ? { queryPlannerConfig: { cache } } : {}),
    });
  const registry = new Registry();
  const planCache = createPlanCache(30, () => undefined);
  const compiledGateway = gatewayOf(planCache);
  const apollo = new ApolloServer<InProcessContext>({ gateway: gatewayOf(), includeStacktraceInErrorResponses: false });
  const compiled = new ApolloServer<InProcessContext>({
    gateway: compiledExecution(compiledGateway, planCache, createPlanExecutionMetrics(registry)),
    includeStacktraceInErrorResponses: false,
  });
  await Promise.all([apollo.start(), compiled.start()]);
  return {
    supergraphSdl,
    apollo,
    compiled,
    async compiledRuns() {
      const metric = await registry.getSingleMetric('gateway_plan_executions_total')!.get();
      const count = (executor: string) => metric.values.find((value) => value.labels.executor === executor)?.value ?? 0;
      return { compiled: count('compiled'), passThrough: count('passthrough'), apollo: count('apollo') };
    },
    async stop() {
      await Promise.all([apollo.stop(), compiled.stop()]);
    },
  };
}

/** The response body an Apollo Server gives for one operation, as the text it would send. */
export async function responseText(
  server: ApolloServer<InProcessContext>,
  request: GraphQLRequest,
  contextValue: InProcessContext = {},
): Promise<string> {
  const response = await server.executeOperation(request, { contextValue });
  if (response.body.kind !== 'single') throw new Error('incremental delivery');
  return JSON.stringify(response.body.singleResult);
}
