import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import { createErrorFormatter } from '../../lib/graphql/format-error.js';
import { createGraphQLHandler } from '../../lib/http/graphql-handler.js';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import { createServiceServer, type ServiceServer } from '../../lib/http/service-server.js';
import type { Logger } from '../../lib/logger.js';
import type { Authenticator, Caller } from './auth.js';
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
};

export type Gateway = ServiceServer & {
  /** The subgraphs this gateway calls, with the URLs it calls them at. */
  subgraphs(): ReadonlyMap<string, string>;
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
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls[name] ?? url;
      if (!target)
        throw new Error(`subgraph ${name} has no URL in the supergraph and no SUBGRAPH_${name.toUpperCase()}_URL`);
      subgraphs.set(name, target);
      return new SubgraphDataSource({ url: target });
    },
    logger,
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handling closes servers in order; Apollo must not race it.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(logger),
    plugins: [ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  const service = createServiceServer({
    logger,
    metrics: createHttpMetrics('gateway'),
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
  });
  return {
    ...service,
    subgraphs: () => subgraphs,
    close: async () => {
      await service.close();
      await apollo.stop();
    },
  };
}
