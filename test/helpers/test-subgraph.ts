import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { Gateway, GatewayOptions } from '../../gateway/src/create-gateway.js';
import type { Identity } from '../../lib/auth/identity.js';
import type { RouteHandler, ServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import { createSubgraphServer } from '../../lib/subgraph/create-subgraph.js';
import { testEnv } from './env.js';
import { createTestGateway } from './gateway.js';
import { TEST_SECRETS } from './subscription-subgraphs.js';

export type TestSubgraph = {
  /** The supergraph of this one subgraph, as composition makes it. */
  supergraphSdl: string;
  /** The subgraph's server (its `inject` serves requests without a socket). */
  server: ServiceServer;
  /** Its GraphQL endpoint, e.g. http://127.0.0.1:4321/graphql. */
  url: string;
  /** A gateway in front of it (test secrets, generous rate limits unless `options` says otherwise). */
  startGateway(options?: Partial<GatewayOptions>): Promise<{ gateway: Gateway; base: string }>;
  /** Closes the gateways started, then the subgraph. */
  close(): Promise<void>;
};

/** A subgraph made up for a gateway test, `sdl` and `resolvers` its whole schema, listening on a free port. */
export async function startTestSubgraph(
  name: string,
  sdl: string,
  resolvers: unknown,
  routes?: Record<string, RouteHandler>,
): Promise<TestSubgraph> {
  const subgraph = await createSubgraphServer({
    name,
    typeDefs: sdl,
    logger: createLogger(name, testEnv.logLevel),
    internalSecret: TEST_SECRETS.internal,
    createContext: (identity: Identity | null) => ({ identity }),
    readiness: async () => true,
    production: false,
    resolvers,
    ...(routes ? { routes } : {}),
  });
  const url = `${await subgraph.listen(0, '127.0.0.1')}/graphql`;
  const composed = composeServices([{ name, url, typeDefs: parse(sdl) }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const supergraphSdl = composed.supergraphSdl;
  const gateways: Gateway[] = [];
  return {
    supergraphSdl,
    server: subgraph,
    url,
    async startGateway(options = {}) {
      const gateway = await createTestGateway({ supergraphSdl, secrets: TEST_SECRETS, ...options });
      gateways.push(gateway);
      return { gateway, base: await gateway.listen(0, '127.0.0.1') };
    },
    async close() {
      for (const gateway of gateways.splice(0)) await gateway.close();
      await subgraph.close();
    },
  };
}
