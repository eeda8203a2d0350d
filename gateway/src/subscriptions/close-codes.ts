/**
 * WebSocket close codes of the gateway's own making. graphql-ws's `CloseCode` covers the protocol
 * (4400–4499: 4401 for an invalid or expired access token, 4403 where a subgraph refuses an
 * identity); these are application codes in the 4000 range. graphql-ws clients do not treat 4000
 * codes as fatal, so a client with retries enabled reconnects and subscribes again on its own,
 * which is the right reaction to both.
 */
export enum SubscriptionCloseCode {
  /** The gateway now serves another supergraph; subscriptions planned against the old one are gone. */
  SupergraphChanged = 4000,
  /** The client read its events too slowly: one of its subscriptions overflowed its queue. */
  SlowConsumer = 4001,
}

/** The close reason sent with each code: stable strings clients may match on. */
export const subscriptionCloseReason: Record<SubscriptionCloseCode, string> = {
  [SubscriptionCloseCode.SupergraphChanged]: 'SUPERGRAPH_CHANGED',
  [SubscriptionCloseCode.SlowConsumer]: 'SLOW_CONSUMER',
};
