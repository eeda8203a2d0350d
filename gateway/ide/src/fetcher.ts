import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { Kind, parse, type DocumentNode } from 'graphql';
import { createClient, type Client, type ExecutionResult, type FormattedExecutionResult } from 'graphql-ws';

type Headers = Record<string, unknown>;

/**
 * Whether the operation to run is a subscription. It parses the query itself: the editor's parsed
 * document (`opts.documentAST`) can lag behind the text just typed.
 */
function isSubscription(query: string, operationName: string | null | undefined): boolean {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    return false; // Sent over HTTP, where the server reports the syntax error.
  }
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === 'subscription' &&
      (!operationName || definition.name?.value === operationName),
  );
}

/** A close event is what graphql-ws rejects with when the server ends the connection: make it readable. */
function describe(error: unknown): Error {
  if (error instanceof Error) return error;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return new Error(`WebSocket closed: ${code} ${reason || ''}`.trim());
  }
  return new Error(String(error));
}

/**
 * GraphiQL's fetcher for this gateway: queries and mutations over HTTP with the headers editor's
 * headers; subscriptions over graphql-ws on the same URL, where those headers (Authorization above
 * all) travel in the connection_init payload, since browsers cannot set headers on a WebSocket.
 * One connection serves every subscription made with the same headers; changing them opens a new one.
 */
export function createFetcher(httpUrl: string, wsUrl: string): Fetcher {
  const http = createGraphiQLFetcher({ url: httpUrl });
  let ws: { key: string; client: Client } | undefined;

  const clientFor = (headers: Headers): Client => {
    const key = JSON.stringify(headers);
    if (ws?.key !== key) {
      void ws?.client.dispose();
      ws = { key, client: createClient({ url: wsUrl, connectionParams: headers, retryAttempts: 0 }) };
    }
    return ws.client;
  };

  async function* subscribe(client: Client, params: Parameters<Fetcher>[0]): AsyncGenerator<FormattedExecutionResult> {
    try {
      yield* client.iterate({
        query: params.query,
        operationName: params.operationName ?? null,
        variables: params.variables ?? null,
      });
    } catch (error) {
      throw describe(error);
    }
  }

  return (params, opts?: FetcherOpts) => {
    if (!isSubscription(params.query, params.operationName)) return http(params, opts);
    // Fetcher's type names graphql's ExecutionResult; what arrives is its JSON form, which GraphiQL only displays.
    return subscribe(clientFor(opts?.headers ?? {}), params) as AsyncIterable<ExecutionResult>;
  };
}
