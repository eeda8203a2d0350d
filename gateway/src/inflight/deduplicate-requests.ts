import {
  ApolloServer,
  type ApolloServerOptions,
  type HTTPGraphQLRequest,
  type HTTPGraphQLResponse,
} from '@apollo/server';
import { createInflight } from './inflight.js';

// Headers about the connection, not the request: they never change the answer.
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'content-length']);
// A document without these words holds only queries (an operation's type is spelled out).
const NOT_ONLY_QUERIES = /\b(?:mutation|subscription)\b/;

/**
 * The key under which identical HTTP GraphQL requests share one answer, or null for a request that
 * must run on its own: anything but a POST of a single operation whose document holds only queries.
 * Every header is part of the key, Authorization included, so only the same caller's byte-identical
 * requests meet.
 */
export function sharedRequestKey(request: HTTPGraphQLRequest): string | null {
  if (request.method !== 'POST') return null;
  const body = request.body as { query?: unknown } | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  if (typeof body.query !== 'string' || NOT_ONLY_QUERIES.test(body.query)) return null;
  let serialized: string;
  try {
    serialized = JSON.stringify(body);
  } catch {
    // Too deeply nested to serialize: no key, so the request runs on its own and the operation
    // limits refuse it with their clear error.
    return null;
  }
  let key = `${request.search}\n${serialized}`;
  for (const [name, value] of request.headers) {
    if (!CONNECTION_HEADERS.has(name)) key += `\n${name}: ${value}`;
  }
  return key;
}

/**
 * Apollo Server that answers identical in-flight queries (see sharedRequestKey) from one execution,
 * response text included: the ones that arrive while the first runs get its finished answer without
 * parsing, planning, executing or serializing anything. Inbound request deduplication, as Hive
 * Gateway and the Router do. Responses streamed in parts (@defer) are not shared: their later
 * requesters run on their own.
 */
export class DeduplicatingApolloServer<TContext extends object> extends ApolloServer<TContext> {
  readonly #inflight = createInflight<HTTPGraphQLResponse>();
  readonly #share: boolean;

  constructor(options: ApolloServerOptions<TContext> & { /** @default true */ shareInflightRequests?: boolean }) {
    super(options);
    this.#share = options.shareInflightRequests ?? true;
  }

  override async executeHTTPGraphQLRequest(
    request: Parameters<ApolloServer<TContext>['executeHTTPGraphQLRequest']>[0],
  ): Promise<HTTPGraphQLResponse> {
    const key = this.#share ? sharedRequestKey(request.httpGraphQLRequest) : null;
    if (key === null) return super.executeHTTPGraphQLRequest(request);
    let ran = false;
    const answer = await this.#inflight.run(key, () => {
      ran = true;
      return super.executeHTTPGraphQLRequest(request);
    });
    return ran || answer.body.kind === 'complete' ? answer : super.executeHTTPGraphQLRequest(request);
  }
}
