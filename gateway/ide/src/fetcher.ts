import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { Kind, parse, type DocumentNode } from 'graphql';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { eventList } from './event-list.js';
import type { Outcome } from './sign-in-hint.js';

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
 * A subscription's response is the running list of its events (see event-list.ts). `onOutcome`
 * hears every result and error, with the headers sent (for the sign-in hint).
 */
export function createFetcher(
  httpUrl: string,
  wsUrl: string,
  onOutcome: (outcome: Outcome) => void = () => {},
): Fetcher {
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

  /** Passes results on as they come, telling `onOutcome` of each (`outcome` picks what it hears). */
  async function* observed<T>(results: AsyncIterable<T>, headers: Headers | undefined, outcome = (r: T): unknown => r) {
    try {
      for await (const result of results) {
        onOutcome({ headers, result: outcome(result) });
        yield result;
      }
    } catch (error) {
      onOutcome({ headers, error });
      throw error;
    }
  }

  function subscribe(headers: Headers, params: Parameters<Fetcher>[0]) {
    const events = clientFor(headers).iterate({
      query: params.query,
      operationName: params.operationName ?? null,
      variables: params.variables ?? null,
    });
    return observed(eventList(events, describe), headers, (list) => list.newestFirst[0]);
  }

  /** Over HTTP, GraphiQL's own fetcher: one result, or a stream of them (incremental delivery). */
  async function request(params: Parameters<Fetcher>[0], opts?: FetcherOpts) {
    const headers = opts?.headers;
    try {
      const result = await http(params, opts);
      if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) {
        return observed(result, headers);
      }
      onOutcome({ headers, result });
      return result;
    } catch (error) {
      onOutcome({ headers, error });
      throw error;
    }
  }

  return (params, opts?: FetcherOpts) => {
    if (!isSubscription(params.query, params.operationName)) return request(params, opts);
    // Fetcher's type names graphql's ExecutionResult; what arrives is JSON that GraphiQL only displays.
    return subscribe(opts?.headers ?? {}, params) as AsyncIterable<unknown> as AsyncIterable<ExecutionResult>;
  };
}
