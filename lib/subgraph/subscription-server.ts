import { CloseCode, makeServer, type Server as GraphQLWsServer } from 'graphql-ws';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { IDENTITY_HEADER, verifyCaller, type Identity } from '../auth/identity.js';
import { err, ErrorCode } from '../errors.js';
import { connectionParam, type WebSocketExtra } from '../http/service-server.js';
import { mapAsyncIterator } from './map-async-iterator.js';

export type SubgraphSubscriptionOptions<TContext> = {
  schema: GraphQLSchema;
  /** Verifies the identity the gateway signs into the connection_init payload. */
  internalSecret: string;
  createContext: (identity: Identity | null) => TContext;
  /** The same formatter as HTTP responses use, so errors are masked alike. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
};

/** Carried from onSubscribe to subscribe in `contextValue`: graphql-ws hands `subscribe` nothing else. */
type Caller = { identity: Identity | null };

/**
 * The graphql-ws side of a subgraph: subscriptions only (queries and mutations stay on HTTP, which
 * is all the gateway sends them over). The connection is authenticated once, from the identity the
 * gateway signs into the connection_init payload, exactly as HTTP reads it from IDENTITY_HEADER.
 */
export function createSubgraphSubscriptionServer<TContext>(
  options: SubgraphSubscriptionOptions<TContext>,
): GraphQLWsServer<WebSocketExtra> {
  const { schema } = options;
  const identities = new WeakMap<WebSocketExtra, Identity | null>();
  return makeServer<Record<string, unknown> | undefined, WebSocketExtra>({
    schema,
    onConnect: (ctx) => {
      const value = connectionParam(ctx.connectionParams, IDENTITY_HEADER);
      if (value === undefined) {
        // The gateway signs a header for anonymous callers too: none means the gateway was skipped.
        ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
        return false;
      }
      const caller = verifyCaller(options.internalSecret, value);
      if (!caller) {
        // Only the gateway holds the secret: anything else presenting an identity is refused outright.
        ctx.extra.socket.close(CloseCode.Forbidden, 'Invalid identity');
        return false;
      }
      identities.set(ctx.extra, caller.identity);
      return true;
    },
    onSubscribe: (ctx, _id, payload) => {
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [err(ErrorCode.GRAPHQL_PARSE_FAILED, (error as Error).message)];
      }
      const errors = validate(schema, document);
      if (errors.length > 0) return errors.map((error) => withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED));
      const operation = getOperationAST(document, payload.operationName);
      if (!operation) return [err(ErrorCode.BAD_USER_INPUT, 'Unable to identify the operation to run')];
      if (operation.operation !== 'subscription') {
        return [
          err(
            ErrorCode.BAD_USER_INPUT,
            'Only subscriptions are served over WebSocket; send queries and mutations over HTTP',
          ),
        ];
      }
      const caller: Caller = { identity: identities.get(ctx.extra) ?? null };
      return {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: caller,
      } satisfies ExecutionArgs;
    },
    subscribe: async (args) => {
      const { identity } = args.contextValue as Caller;
      const source = await createSourceEventStream({ ...args, contextValue: options.createContext(identity) });
      if (!(Symbol.asyncIterator in source)) return source;
      // graphql's `subscribe` would run every event with the one context of the subscription; a
      // context per event keeps per-request caches (loaders) from serving stale data to later events.
      return mapAsyncIterator(source, (event) =>
        execute({ ...args, rootValue: event, contextValue: options.createContext(identity) }),
      );
    },
    onNext: (_ctx, _id, _payload, _args, result) => formatResult(result, options.formatError),
    // Validation errors, and errors a subscription's stream throws after it started.
    onError: (_ctx, _id, _payload, errors) => errors.map((error) => options.formatError(error.toJSON(), error)),
  });
}

// The error's nodes give it its locations again.
const withCode = (error: GraphQLError, code: ErrorCode): GraphQLError =>
  new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code } });

function formatResult(
  result: ExecutionResult,
  formatError: SubgraphSubscriptionOptions<unknown>['formatError'],
): FormattedExecutionResult | undefined {
  if (!result.errors) return undefined;
  return { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) };
}
