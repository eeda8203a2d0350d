import type { GraphQLDataSource } from '@apollo/gateway';
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import type { Caller } from './auth.js';

/** What every operation runs with, over HTTP and over WebSocket alike. */
export type GatewayContext = {
  caller: Caller | null;
  /**
   * The client's address (see TRUST_PROXY): of the request over HTTP, of the connection's upgrade
   * request over WebSocket. Budgets of anonymous and sign-in calls are kept by it.
   */
  clientIp: string;
};

/** How the gateway calls one subgraph, with the operation's context. */
export type GatewayDataSource = GraphQLDataSource<GatewayContext>;

/** A subgraph's answer to one fetch, as the query plan's executor reads it. */
export type SubgraphResponse = Awaited<ReturnType<GatewayDataSource['process']>>;

/** The gateway as Apollo Server drives it: `load` gives the executor every operation runs through. */
export type GatewayInterface = ApolloServerOptionsWithGateway<GatewayContext>['gateway'];
export type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/**
 * `gateway` with each executor it loads (the first, and one per supergraph change) replaced by
 * `wrap(executor)`: how layers such as in-flight sharing and the compiled executor stack up.
 */
export function wrapExecutor(
  gateway: GatewayInterface,
  wrap: (executor: GatewayExecutor) => GatewayExecutor,
): GatewayInterface {
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    load: async (options) => {
      const loaded = await gateway.load(options);
      return loaded.executor ? { ...loaded, executor: wrap(loaded.executor) } : loaded;
    },
  };
}
