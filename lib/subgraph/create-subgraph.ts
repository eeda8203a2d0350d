import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import { IDENTITY_HEADER, verifyIdentity, type Identity } from '../auth/identity.js';
import { createErrorFormatter } from '../graphql/format-error.js';
import { createGraphQLHandler } from '../http/graphql-handler.js';
import { createHttpMetrics } from '../http/metrics.js';
import { createServiceServer, type RouteHandler, type ServiceServer } from '../http/service-server.js';
import type { Logger } from '../logger.js';
import { projectRoot } from '../project-root.js';

export type CreateSubgraphOptions<TContext extends object> = {
  /** The subgraph's name; its SDL is `schema/<name>.graphql`. */
  name: string;
  // Codegen's resolver types and @apollo/subgraph's resolver map differ only in how they type
  // `__resolveReference`; each subgraph's resolvers are checked against the generated types.
  resolvers: unknown;
  logger: Logger;
  /** Verifies the identity header the gateway signs. */
  internalSecret: string;
  /** Builds the per-request context (loaders are per request so their caches never outlive it). */
  createContext: (identity: Identity | null) => TContext;
  readiness: () => Promise<boolean>;
  /** @default 1 MiB */
  maxBodyBytes?: number;
  /** Production hides introspection. */
  production: boolean;
  routes?: Record<string, RouteHandler>;
};

export function readSubgraphSdl(name: string): string {
  return readFileSync(join(projectRoot, 'schema', `${name}.graphql`), 'utf8');
}

/** An @apollo/subgraph service behind the common service server (health, readiness, metrics). */
export async function createSubgraphServer<TContext extends object>(
  options: CreateSubgraphOptions<TContext>,
): Promise<ServiceServer> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(readSubgraphSdl(options.name)),
    resolvers: options.resolvers as GraphQLResolverMap<unknown>,
  });
  const apollo = new ApolloServer<TContext>({
    schema,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handling closes servers in order; Apollo must not race it.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(options.logger),
    // No inline traces (ftv1): they cost time on every request and expose timings to callers.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const metrics = createHttpMetrics(options.name);
  const graphql = createGraphQLHandler({
    apollo,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    context: async (req) => {
      const header = req.headers[IDENTITY_HEADER];
      const identity = typeof header === 'string' ? verifyIdentity(options.internalSecret, header) : null;
      return options.createContext(identity);
    },
  });
  const service = createServiceServer({
    logger: options.logger,
    metrics,
    graphql,
    readiness: options.readiness,
    ...(options.routes ? { routes: options.routes } : {}),
  });
  return {
    ...service,
    close: async () => {
      await service.close();
      await apollo.stop();
    },
  };
}
