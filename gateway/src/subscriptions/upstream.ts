import { createClient, type Client, type FormattedExecutionResult, type Sink } from 'graphql-ws';
import type { GraphQLFormattedError } from 'graphql';
import WebSocket from 'ws';
import { IDENTITY_HEADER } from '../../../lib/auth/identity.js';

export type UpstreamRequest = { query: string; operationName?: string; variables: Record<string, unknown> };

/** graphql-ws connections from the gateway to subgraphs, one per (subgraph, identity), shared by its subscriptions. */
export type UpstreamPool = {
  /**
   * Opens a subscription at a subgraph, as the caller whose signed identity header is given (null:
   * anonymous). Returns the function that ends it; the connection closes with its last subscription.
   */
  subscribe(
    subgraph: string,
    identityHeader: string | null,
    request: UpstreamRequest,
    sink: Sink<FormattedExecutionResult>,
  ): () => void;
  /** Open connections, for stats. */
  connections(): number;
  close(): Promise<void>;
};

export type UpstreamPoolOptions = {
  /** The HTTP GraphQL URL of a subgraph; its graphql-ws endpoint is the same URL over ws(s). */
  url(subgraph: string): string | undefined;
  /** Time a subgraph gets to acknowledge a new connection. @default 10000 */
  connectionAckTimeoutMs?: number;
  /** The signed header of anonymous callers: subgraphs refuse a connection without one. */
  anonymousHeader(): string;
};

/**
 * The identity travels in the connection_init payload, so a connection carries exactly one caller:
 * this is the WebSocket counterpart of the identity header on every HTTP fetch.
 */
export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const clients = new Map<string, { client: Client; subscriptions: number }>();

  return {
    subscribe(subgraph, identityHeader, request, sink) {
      const url = options.url(subgraph);
      if (!url) throw new Error(`subgraph ${subgraph} has no URL`);
      const key = `${subgraph}\n${identityHeader ?? ''}`;
      let entry = clients.get(key);
      if (!entry) {
        entry = {
          client: createClient({
            url: websocketUrl(url),
            webSocketImpl: WebSocket,
            // Read at connection time, so a long-lived pool never presents an expired anonymous header.
            connectionParams: () => ({ [IDENTITY_HEADER]: identityHeader ?? options.anonymousHeader() }),
            // A subscription is not replayed elsewhere: a lost connection ends its subscriptions
            // with an error, and clients subscribe again (resubscribing upstream would restart
            // the stream silently, and might repeat events).
            retryAttempts: 0,
            connectionAckWaitTimeout: options.connectionAckTimeoutMs ?? 10_000,
          }),
          subscriptions: 0,
        };
        clients.set(key, entry);
      }
      const opened = entry;
      opened.subscriptions++;
      const unsubscribe = opened.client.subscribe<Record<string, unknown>, Record<string, unknown>>(request, {
        next: (event) => sink.next(event),
        // A subgraph's `error` message carries GraphQL errors (a resolver failed mid-stream): it
        // becomes a last event, so its errors reach clients like those of any other event.
        error: (error: unknown) => {
          if (!areFormattedErrors(error)) return sink.error(error);
          sink.next({ errors: error });
          sink.complete();
        },
        complete: () => sink.complete(),
      });
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        unsubscribe();
        if (--opened.subscriptions === 0 && clients.get(key) === opened) {
          clients.delete(key);
          void dispose(opened.client);
        }
      };
    },
    connections: () => clients.size,
    close: async () => {
      const open = [...clients.values()];
      clients.clear();
      await Promise.all(open.map(({ client }) => dispose(client)));
    },
  };
}

/**
 * Closes a connection. graphql-ws's dispose waits for a connection still being made, and rejects
 * when the subgraph then refuses or closes it (a restart: 1012): a connection that ended so needs
 * no closing, and that rejection must not go unhandled.
 */
function dispose(client: Client): Promise<void> {
  return Promise.resolve(client.dispose()).catch(() => undefined);
}

function areFormattedErrors(value: unknown): value is GraphQLFormattedError[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((error) => typeof error === 'object' && error !== null && typeof error.message === 'string')
  );
}

function websocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
