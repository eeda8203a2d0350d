import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getOperationAST } from 'graphql';
import { badInput, ErrorCode } from '../../../lib/errors.js';
import { negotiateGraphQLResponse } from '../../../lib/http/accept.js';
import { refuseRequest, type GraphQLRoute } from '../../../lib/http/graphql-handler.js';
import { streamProtocolOf, type HttpStreams } from '../subscriptions/http-streams.js';
import { preventCsrf } from './csrf.js';

/**
 * 406 Not Acceptable, before the body is read, for an Accept header that admits neither JSON media
 * type (the spec's recommended answer). Apollo Server finds out only once it has the result to
 * encode: it would run the operation, a mutation included, and then answer 406. The gateway never
 * answers in parts (multipart/mixed) for incremental delivery: Apollo Gateway's results are always
 * single. Streams go to `streams` first: `text/event-stream` (GraphQL over SSE) and Apollo's
 * multipart subscriptions (`multipart/mixed;subscriptionSpec=…`), under the same CSRF rule.
 */
export function refuseUnacceptable(graphql: GraphQLRoute, streams?: HttpStreams): GraphQLRoute {
  const stream = preventCsrf(async (req, res, search) => {
    const protocol = streamProtocolOf(req.headers.accept);
    if (protocol && streams) await streams.serve(protocol, req, res, search);
  });
  return async (req, res, search) => {
    if (streams && streamProtocolOf(req.headers.accept)) return stream(req, res, search);
    if (negotiateGraphQLResponse(req.headers.accept)) return graphql(req, res, search);
    return refuseRequest(
      req,
      res,
      ErrorCode.NOT_ACCEPTABLE,
      'Accept application/graphql-response+json or application/json: this endpoint answers in nothing else',
    );
  };
}

// graphql-js's words for a document that does not say which of its operations to run.
function unresolvedOperation(operationName: string | undefined): string {
  return operationName
    ? `Unknown operation named "${operationName}".`
    : 'Must provide operation name if query contains multiple operations.';
}

/**
 * The gateway's side of GraphQL over HTTP (the transport is Apollo Server's, and csrf.ts's).
 *
 * An operation name that picks no single operation of the document is a request error (400), not
 * the 500 of Apollo Gateway's executor, which throws on it.
 *
 * Status codes of `application/json` answers: a well-formed request whose operation then fails (it
 * does not parse, validate or resolve, its variables do not coerce, or the gateway's own
 * validation refuses it: operation limits, safelist) is answered 200 with its errors. To a client
 * of that legacy media type a 4xx may as well come from a proxy, so the spec keeps 4xx for
 * requests that are not GraphQL at all (bad JSON, bad parameters: still 400) and for refusals
 * that do not depend on the operation (401, 405, 413, 429).
 *
 * Only for clients that name application/json. `*∕*` and no Accept keep 400, as
 * application/graphql-response+json has it: since the spec's 2025 watershed that is what a client
 * without a preference is treated as, and what our clients and tests rely on.
 */
export function useGraphQLOverHttp<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      // Set once the request has yielded its document's text: its parameters were valid.
      let wellFormed = false;
      return {
        async didResolveSource() {
          wellFormed = true;
        },
        async didResolveOperation({ document, request }) {
          const operation = getOperationAST(document, request.operationName);
          if (!operation) throw badInput(unresolvedOperation(request.operationName), { http: { status: 400 } });
          // Apollo Gateway's executor throws on one (a 500): subscriptions have a transport of their own.
          if (operation.operation === 'subscription' && request.http) {
            throw badInput(
              'Subscriptions are served over WebSocket (graphql-transport-ws), SSE (Accept: text/event-stream) and multipart (Accept: multipart/mixed;subscriptionSpec="1.0") on this same path, not as one JSON response',
              { http: { status: 400 } },
            );
          }
        },
        async willSendResponse({ request, response }) {
          // Other statuses stay: 405 (GET mutation), 429, 5xx are not errors of the operation.
          if (!wellFormed || response.http.status !== 400 || response.body.kind !== 'single') return;
          const negotiated = negotiateGraphQLResponse(request.http?.headers.get('accept'));
          if (negotiated?.type !== 'application/json' || !negotiated.named) return;
          response.http.status = 200;
          // Said outright, so the status and the media type cannot disagree.
          response.http.headers.set('content-type', 'application/json; charset=utf-8');
        },
      };
    },
  };
}
