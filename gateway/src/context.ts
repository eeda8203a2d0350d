import type { GraphQLDataSource } from '@apollo/gateway';
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
