import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { IDENTITY_HEADER } from '../../../lib/auth/identity.js';
import type { GatewayContext, GatewayDataSource, SubgraphResponse } from '../context.js';
import { distinctRepresentations, spreadEntities } from './entity-batch.js';
import type { Inflight } from '../inflight/inflight.js';
import { injectContext, inSpan, SpanKind, tracingEnabled } from '../../../lib/telemetry/tracing.js';
import type { Deadline } from '../../../lib/http/in-process.js';
import { subgraphEndpoint, type SubgraphAnswer, type SubgraphClient } from './subgraph-client.js';

type CacheHint = { maxAge?: number; scope?: 'PRIVATE' | 'PUBLIC' };

export type SubgraphDataSourceOptions = {
  url: string;
  client: SubgraphClient;
  /**
   * Shares identical in-flight queries (same subgraph, same caller, same body); absent: every fetch
   * is sent. Mutations are never shared.
   */
  inflight?: Inflight<SubgraphAnswer>;
  /**
   * Time one fetch has, ms: past it the request is cancelled (not just abandoned, so a slow
   * subgraph does not keep the connection and its work) and process() rejects with
   * SubgraphTimeoutError. Callers sharing an in-flight fetch share its deadline. Absent: none.
   */
  timeoutMs?: number;
  /** The signed header sent for callers without a token: subgraphs refuse a request without one. */
  anonymousHeader(): string;
  /** The subgraph's name, for its fetch spans. @default the URL's host */
  name?: string;
};

/** A subgraph fetch that was cancelled at its deadline. */
export class SubgraphTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the subgraph did not answer within ${timeoutMs} ms`);
    this.name = 'SubgraphTimeoutError';
  }
}

// Operations the query planner writes start with their keyword (or `{` for an anonymous query).
const QUERY_TEXT = /^\s*(?:query\b|\{)/;

/**
 * Calls one subgraph for @apollo/gateway's query plans (and the subscription side's entity fetches),
 * as RemoteGraphQLDataSource does: JSON over HTTP POST, a non-2xx answer as a GraphQLError carrying
 * the response, the subgraph's Cache-Control folded into the operation's cache policy. It forwards
 * the caller's identity as the signed internal header, never any client-set header, and sends each
 * distinct entity representation of a fetch once (entity-batch.ts).
 */
export class SubgraphDataSource implements GatewayDataSource {
  readonly url: string;
  readonly #endpoint;
  readonly #client: SubgraphClient;
  readonly #inflight: Inflight<SubgraphAnswer> | undefined;
  readonly #deadline: Deadline | undefined;
  readonly #anonymousHeader: () => string;
  readonly #name: string;

  constructor(options: SubgraphDataSourceOptions) {
    this.url = options.url;
    this.#endpoint = subgraphEndpoint(options.url);
    this.#client = options.client;
    this.#inflight = options.inflight;
    const timeoutMs = options.timeoutMs;
    this.#deadline =
      timeoutMs === undefined ? undefined : { ms: timeoutMs, reason: () => new SubgraphTimeoutError(timeoutMs) };
    this.#anonymousHeader = options.anonymousHeader;
    this.#name = options.name ?? new URL(options.url).host;
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResponse> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    const caller = 'incomingRequestContext' in options ? options.context.caller : null;
    const headers: Record<string, string> = {};
    // Set by the gateway itself (e.g. the trace request header), never copied from the client.
    if (request.http) for (const [name, value] of request.http.headers) headers[name] = value;
    headers['content-type'] = 'application/json';
    headers[IDENTITY_HEADER] = caller ? caller.identityHeader : this.#anonymousHeader();
    const representations = request.variables?.representations as unknown;
    const batch = Array.isArray(representations) ? distinctRepresentations(representations) : null;
    const body = JSON.stringify({
      query: request.query,
      variables: batch ? { ...request.variables, representations: batch.representations } : request.variables,
      operationName: request.operationName,
      extensions: request.extensions,
    });
    // A client span per fetch, its traceparent sent along (nothing when tracing is off).
    const send = () =>
      tracingEnabled()
        ? inSpan(
            `fetch ${this.#name}`,
            { kind: SpanKind.CLIENT, attributes: { 'ai_code.subgraph': this.#name, 'server.address': this.url } },
            async (span) => {
              const answer = await this.#send(injectContext({ ...headers }), body);
              span?.setAttribute('http.response.status_code', answer.status);
              return answer;
            },
          )
        : this.#send(headers, body);
    const answer =
      this.#inflight && QUERY_TEXT.test(request.query)
        ? await this.#inflight.run(`${this.url}\n${caller?.identityHeader ?? ''}\n${body}`, send)
        : await send();

    // Parsed per caller even when the answer was shared: the plan executor merges into these objects.
    const parsed = parseBody(answer);
    // A subgraph refuses an operation it cannot run (a value that does not coerce, say) with a 400
    // and its own errors, as GraphQL over HTTP has it: those errors are the answer, codes included.
    const refusedWithErrors = answer.status === 400 && hasErrors(parsed);
    if ((answer.status < 200 || answer.status > 299) && !refusedWithErrors) {
      throw new GraphQLError(`${answer.status}: ${answer.statusText}`, {
        extensions: {
          response: { url: this.url, status: answer.status, statusText: answer.statusText, body: parsed },
          ...(answer.status === 401 ? { code: 'UNAUTHENTICATED' } : answer.status === 403 ? { code: 'FORBIDDEN' } : {}),
        },
      });
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new Error(`Expected JSON response body, but received: ${String(parsed)}`);
    }
    if (batch) spreadEntities(parsed, batch);
    if ('incomingRequestContext' in options) {
      const policy = options.incomingRequestContext.overallCachePolicy as { restrict?(hint: CacheHint): void } | null;
      policy?.restrict?.(cacheHint(answer.cacheControl));
    }
    return parsed as SubgraphResponse;
  }

  #send(headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    return this.#client.post(this.#endpoint, headers, body, this.#deadline);
  }
}

function hasErrors(body: unknown): boolean {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  return Array.isArray(errors) && errors.length > 0;
}

function parseBody(answer: SubgraphAnswer): unknown {
  const json =
    answer.contentType.startsWith('application/json') ||
    answer.contentType.startsWith('application/graphql-response+json');
  return json ? JSON.parse(answer.body) : answer.body;
}

/** A subgraph's Cache-Control as a cache hint; none (or anything unparseable) means max-age 0. */
export function cacheHint(header: string | undefined): CacheHint {
  const hint: CacheHint = { maxAge: 0 };
  for (const directive of header?.split(',') ?? []) {
    const [name, value] = directive
      .trim()
      .split('=', 2)
      .map((part) => part.trim()) as [string, string | undefined];
    if (name === 'max-age' && value && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
    else if (name === 'private') hint.scope = 'PRIVATE';
    else if (name === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}
