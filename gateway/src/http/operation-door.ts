import type { IncomingMessage } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { FormattedExecutionResult, GraphQLError } from 'graphql';
import { errorCatalog, type ErrorCode } from '../../../lib/errors.js';
import type { GatewayContext } from '../context.js';

/** A GraphQL operation a door (REST /api/v1, the Open Inference Protocol /v2) runs for its request. */
export type DoorOperation = {
  /** The operation's text: a persisted document of the door, so a safelist admits it. */
  query: string;
  operationName?: string;
  variables?: Record<string, unknown>;
};

/** What the operation answered, as GraphQL over HTTP would have (application/graphql-response+json). */
export type DoorResult = {
  /** The status GraphQL over HTTP gave the answer: 200, or a request error's (400, 401, 413, 429, …). */
  status: number;
  /** Headers the pipeline set (e.g. retry-after on 429), lower-cased names. */
  headers: Map<string, string>;
  result: FormattedExecutionResult;
};

/**
 * Runs one operation for a request of another door, as the caller of that request: the same
 * authentication, document admission, plugins (operation limits, rate limits, safelist, metrics,
 * logs), planner and subgraph calls as a POST to /graphql. A door is a translation of its request
 * into an operation and of the result into its answer, never a second implementation.
 */
export type OperationDoor = (req: IncomingMessage, operation: DoorOperation) => Promise<DoorResult>;

/** Headers of the door's request that reach the pipeline: who is calling, and their trace. */
const FORWARDED = ['authorization', 'traceparent', 'tracestate', 'x-forwarded-for', 'user-agent'];

export function createOperationDoor(options: {
  apollo: ApolloServer<GatewayContext>;
  context: (req: IncomingMessage) => Promise<GatewayContext>;
  /** The gateway's document admission (limits checked on the text, before parsing). */
  admit?: (query: string) => GraphQLError | undefined;
}): OperationDoor {
  const { apollo, context, admit } = options;
  return async (req, operation) => {
    const refusal = admit?.(operation.query);
    if (refusal) {
      const { code } = refusal.extensions as { code: ErrorCode };
      return {
        status: errorCatalog[code].httpStatus,
        headers: new Map(),
        result: { errors: [{ message: refusal.message, extensions: refusal.extensions }] },
      };
    }
    const headers = new HeaderMap();
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    headers.set('content-type', 'application/json');
    // The current media type: request errors keep their 4xx status (graphql-over-http.ts).
    headers.set('accept', 'application/graphql-response+json');
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body: operation },
      context: () => context(req),
    });
    let text = '';
    if (response.body.kind === 'complete') text = response.body.string;
    else for await (const chunk of response.body.asyncIterator) text += chunk;
    return {
      status: response.status ?? 200,
      headers: new Map(response.headers),
      result: JSON.parse(text) as FormattedExecutionResult,
    };
  };
}
