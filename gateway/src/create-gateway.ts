import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { Gauge } from 'prom-client';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import { badInput } from '../../lib/errors.js';
import { createErrorFormatter } from '../../lib/graphql/format-error.js';
import { createGraphQLHandler } from '../../lib/http/graphql-handler.js';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import { createGraphQLWsEndpoint, createServiceServer, type ServiceServer } from '../../lib/http/service-server.js';
import type { Logger } from '../../lib/logger.js';
import type { Authenticator, Caller } from './auth.js';
import {
  createSubscriptionServer,
  defaultSubscriptionLimits,
  type SubscriptionLimits,
  type SubscriptionStats,
} from './subscriptions/subscription-server.js';
import { createUploadProxy } from './upload-proxy.js';

export type GatewayContext = { caller: Caller | null };

export type GatewayOptions = {
  supergraphSdl: string;
  /** Subgraph URL overrides by subgraph name; others come from the supergraph. */
  subgraphUrls: Record<string, string>;
  authenticator: Authenticator;
  logger: Logger;
  maxBodyBytes: number;
  introspection: boolean;
  /** Time allowed for a subgraph to answer a readiness probe. @default 2000 */
  readinessTimeoutMs?: number;
  /** The subgraph whose `/uploads/…` route receives model uploads. @default 'models' */
  uploadsSubgraph?: string;
  /** Limits of subscriptions over WebSocket; each one left out keeps its default. */
  subscriptions?: Partial<SubscriptionLimits>;
};

export type Gateway = ServiceServer & {
  /** The subgraphs this gateway calls, with the URLs it calls them at. */
  subgraphs(): ReadonlyMap<string, string>;
  /**
   * Serves another supergraph from now on: HTTP operations are planned against it at once, and
   * WebSocket connections with subscriptions open are closed with 4000 SUPERGRAPH_CHANGED so their
   * clients subscribe again. Throws (and changes nothing) when the SDL is not a valid supergraph.
   */
  updateSupergraph(supergraphSdl: string): void;
  /** Open subscriptions and connections, on both sides of the gateway. */
  subscriptionStats(): SubscriptionStats;
};

/** Forwards the caller's identity as the signed internal header; never any client-set header. */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const caller = 'context' in options ? options.context.caller : null;
    if (caller) options.request.http?.headers.set(IDENTITY_HEADER, caller.identityHeader);
  }
}

async function subgraphAnswers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{__typename}"}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger, authenticator } = options;
  const subgraphs = new Map<string, string>();
  const dataSources = new Map<string, GraphQLDataSource>();
  const formatError = createErrorFormatter(logger);
  let updateSupergraph: ((supergraphSdl: string) => void) | undefined;
  const gateway = new ApolloGateway({
    // The hook form of a static supergraph: the same SDL, plus the `update` callback that swaps it.
    supergraphSdl: async ({ update }) => {
      updateSupergraph = update;
      return { supergraphSdl: options.supergraphSdl };
    },
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls[name] ?? url;
      if (!target)
        throw new Error(`subgraph ${name} has no URL in the supergraph and no SUBGRAPH_${name.toUpperCase()}_URL`);
      const dataSource = new SubgraphDataSource({ url: target });
      subgraphs.set(name, target);
      dataSources.set(name, dataSource);
      return dataSource;
    },
    logger,
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handling closes servers in order; Apollo must not race it.
    stopOnTerminationSignals: false,
    formatError,
    plugins: [ApolloServerPluginLandingPageDisabled()],
  });
  const subscriptions = createSubscriptionServer({
    authenticator,
    logger,
    limits: { ...defaultSubscriptionLimits, ...options.subscriptions },
    dataSources,
    subgraphUrl: (name) => subgraphs.get(name),
    executeOperation: async (request, contextValue) => {
      const response = await apollo.executeOperation(request, { contextValue });
      if (response.body.kind === 'single') return response.body.singleResult;
      return { errors: [badInput('Incremental delivery (@defer, @stream) is not served over WebSocket').toJSON()] };
    },
    formatError,
  });
  // Every supergraph the gateway loads, the first included, whichever way it arrives.
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => subscriptions.setSupergraph(coreSupergraphSdl));
  await apollo.start();

  const metrics = createHttpMetrics('gateway');
  new Gauge({
    name: 'graphql_subscriptions',
    help: 'Open subscriptions: of clients, and upstream at subgraphs (identical client subscriptions share one)',
    labelNames: ['side'] as const,
    registers: [metrics.registry],
    collect() {
      const stats = subscriptions.stats();
      this.set({ side: 'client' }, stats.subscriptions);
      this.set({ side: 'upstream' }, stats.upstreamSubscriptions);
    },
  });

  const service = createServiceServer({
    logger,
    metrics,
    graphql: createGraphQLHandler({
      apollo,
      maxBodyBytes: options.maxBodyBytes,
      context: async (req) => ({ caller: authenticator.authenticate(req.headers.authorization) }),
    }),
    routes: {
      '/uploads/': createUploadProxy(() => {
        const url = subgraphs.get(options.uploadsSubgraph ?? 'models');
        return url ? new URL('/', url).toString() : undefined;
      }, logger),
    },
    readiness: async () => {
      if (subgraphs.size === 0) return false;
      const probes = [...subgraphs.values()].map((url) => subgraphAnswers(url, options.readinessTimeoutMs ?? 2000));
      return (await Promise.all(probes)).every(Boolean);
    },
    websocket: createGraphQLWsEndpoint(subscriptions.graphqlWs, { logger, maxPayload: options.maxBodyBytes }),
  });
  return {
    ...service,
    subgraphs: () => subgraphs,
    updateSupergraph: (supergraphSdl) => {
      if (!updateSupergraph) throw new Error('the gateway has not loaded its supergraph');
      updateSupergraph(supergraphSdl);
    },
    subscriptionStats: () => subscriptions.stats(),
    close: async () => {
      await service.close();
      await subscriptions.close();
      await apollo.stop();
    },
  };
}
