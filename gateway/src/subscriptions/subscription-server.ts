import type { Context } from '@opentelemetry/api';
import { extractContext, inSpan, SpanKind, tracingEnabled } from '../../../lib/telemetry/tracing.js';
import { createHash } from 'node:crypto';
import type { GraphQLDataSource } from '@apollo/gateway';
import { CloseCode, makeServer, type FormattedExecutionResult, type Server as GraphQLWsServer } from 'graphql-ws';
import {
  getOperationAST,
  Kind,
  getVariableValues,
  GraphQLError,
  parse,
  print,
  validate,
  type DocumentNode,
  type ExecutionResult,
  OperationTypeNode,
} from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';
import { withoutSuggestions } from '../../../lib/graphql/format-error.js';
import { connectionParam, type WebSocketExtra } from '../../../lib/http/service-server.js';
import { textMessageWriter } from '../../../lib/http/ws-frames.js';
import type { Logger } from '../../../lib/logger.js';
import type { Authenticator, Caller } from '../auth.js';
import type { GatewayContext } from '../context.js';
import type { QueryPlan } from '@apollo/query-planner';
import type { DocumentAdmission } from '../limits/admission.js';
import { PlanningRefused } from '../planning/planner-pool.js';
import { checkOperationLimits, MAX_VALIDATION_ERRORS, type OperationLimits } from '../limits/operation-limits.js';
import { checkVariables } from '../limits/input-limits.js';
import { notInSafelist, type Safelist } from '../persisted-operations/manifest.js';
import type { AdmittedOperation } from '../rate-limit/use-rate-limits.js';
import { SubscriptionCloseCode, subscriptionCloseReason } from './close-codes.js';
import { createClientStream, graphqlWsNext, type ClientStream, type StreamHooks } from './client-stream.js';
import { createEventExecutor, type ErrorFormatter } from './execute-event.js';
import { createSharedSubscriptions, type SubscriptionSource } from './shared-subscriptions.js';
import { loadSupergraph, type PreparedSubscription, type ServedSupergraph } from './supergraph.js';
import { createUpstreamPool } from './upstream.js';
import { rateLimitCaller } from '../rate-limit/use-rate-limits.js';

export type SubscriptionLimits = {
  /** Subscriptions one connection may hold open. @default 100 */
  maxPerConnection: number;
  /**
   * Subscriptions one user holds open over all their connections (an anonymous caller: one client
   * address), so that nobody takes more than a fair share of maxTotal: filling it takes
   * maxTotal / maxPerUser users (50 by default). 200 is two connections at maxPerConnection, far
   * more than a client shows at once (a progress or log view each). @default 200
   */
  maxPerUser: number;
  /** Subscriptions the gateway holds open over all connections. @default 10000 */
  maxTotal: number;
  /**
   * WebSocket connections one client address (see TRUST_PROXY) may hold open; an upgrade past it
   * is refused with 429. Generous for clients behind one NAT, and it bounds the idle sockets one
   * host can make the gateway keep (each counts before its connection_init). @default 100
   */
  maxConnectionsPerIp: number;
  /**
   * Events waiting to be sent for one subscription of a client that reads slower than they come;
   * past this the client is dropped (close 4001 SLOW_CONSUMER). Also bounds the events of one
   * upstream subscription still being resolved. @default 100
   */
  maxQueuedEvents: number;
  /**
   * Accept connections without an access token. The platform's subscriptions all need a caller,
   * so by default a connection_init without `Authorization` is closed with 4401 at once rather
   * than failing each subscription later. @default false
   */
  allowAnonymous: boolean;
};

export const defaultSubscriptionLimits: SubscriptionLimits = {
  maxPerConnection: 100,
  maxPerUser: 200,
  maxTotal: 10_000,
  maxConnectionsPerIp: 100,
  maxQueuedEvents: 100,
  allowAnonymous: false,
};

export type SubscriptionStats = {
  /** Open client connections: WebSockets, and HTTP requests streaming an operation (SSE, multipart). */
  connections: number;
  /** Open client subscriptions. */
  subscriptions: number;
  /** Subscriptions open at subgraphs: identical client subscriptions share one. */
  upstreamSubscriptions: number;
  /** graphql-ws connections open to subgraphs (one per subgraph and identity). */
  upstreamConnections: number;
};

export type SubscriptionServerOptions = {
  authenticator: Authenticator;
  logger: Logger;
  limits: SubscriptionLimits;
  /** Every operation sent over the socket is held to these, as over HTTP, before it is planned. */
  operationLimits: OperationLimits;
  /** The document limits, checked before validation (the HTTP path's own, shared with it). */
  admission: DocumentAdmission;
  /** In safelist mode, only what it allows runs (PERSISTED_QUERY_NOT_IN_LIST otherwise), as over HTTP. */
  safelist?: Safelist | undefined;
  /** Drop "Did you mean …?" suggestions from parse, validation and variable errors. @default false */
  hideSuggestions?: boolean;
  /** The gateway's data sources (HTTP to each subgraph) by subgraph name, for entity fetches. */
  dataSources: ReadonlyMap<string, GraphQLDataSource>;
  /** A subgraph's HTTP GraphQL URL; its subscriptions are opened on the same URL over ws(s). */
  subgraphUrl(name: string): string | undefined;
  /** Plans a subscription off the event loop (the planner pool); on this thread when unset. */
  plan?: ((text: string, operationName: string | undefined) => Promise<QueryPlan>) | undefined;
  /**
   * Charges a subscription to its caller's rate-limit budget (queries and mutations are charged by
   * Apollo Server's plugins): null when admitted, else the error to answer with.
   */
  admitOperation?(operation: AdmittedOperation): Promise<GraphQLError | null>;
  /** Runs a query or mutation sent over the socket the way HTTP runs it (Apollo Server). */
  executeOperation(
    request: { query: string; variables?: Record<string, unknown>; operationName?: string },
    context: GatewayContext,
  ): Promise<FormattedExecutionResult>;
  formatError: ErrorFormatter;
  /** Called for every connection the server closes on its own (the `graphql_subscription_drops_total` metric). */
  onDrop?: ((reason: SubscriptionDropReason) => void) | undefined;
};

/** Why the server closed a client's connection. */
export type SubscriptionDropReason = 'slow_consumer' | 'supergraph_changed' | 'token_expired' | 'token_revoked';

/**
 * A transport's side of one client connection: a WebSocket, or one HTTP request streaming one
 * operation (http-streams.ts).
 */
export type ClientTransport = {
  /** The client's address (see TRUST_PROXY): an anonymous caller's subscriptions count per address. */
  clientIp: string;
  /** The stream the events of the connection's subscription `id` are written to. */
  openStream(id: string, hooks: StreamHooks): ClientStream;
  /**
   * Ends the connection for a reason of the gateway's (its subscriptions ended already): a
   * WebSocket closes with this code and reason, an HTTP stream ends as its protocol allows.
   */
  close(code: number, reason: string): void;
};

/** An operation as a client sends it (graphql-ws `subscribe` payload, GraphQL over HTTP body). */
export type OperationPayload = {
  query: string;
  variables?: Record<string, unknown> | null | undefined;
  operationName?: string | null | undefined;
};

/** Why a connection was refused: no credential (and anonymous callers are not served), or a bad one. */
export type ConnectRefusal = 'token-missing' | 'token-invalid';

/**
 * The transport-neutral core of the subscription server, which graphql-ws (below) and the HTTP
 * streams (http-streams.ts) are thin adapters over: one authentication, one admission pipeline,
 * one set of caps, one sharing of upstream subscriptions, whatever the client speaks.
 */
export type SubscriptionConnections = {
  /** Authenticates a new connection with its credential (connection_init's, or the Authorization header). */
  connect(transport: ClientTransport, authorization: unknown): Promise<Connection | ConnectRefusal>;
  /**
   * Admits an operation (document limits, parse, safelist, validation, variables, operation
   * limits) against the served supergraph: the operation to run, or the errors refusing it.
   */
  prepare(connection: Connection, id: string, payload: OperationPayload): Promise<Operation | readonly GraphQLError[]>;
  /** Caps, rate limits and planning, then joins the shared subscription: the client's stream, or why not. */
  subscribe(operation: Operation): Promise<ClientStream | GraphQLError>;
  /** Runs a query or mutation the way HTTP runs it (Apollo Server). */
  execute(operation: Operation): Promise<FormattedExecutionResult>;
  /** The transport's connection is gone: ends its subscriptions, releasing their upstreams. */
  disconnect(connection: Connection): void;
};

export type SubscriptionServer = {
  graphqlWs: GraphQLWsServer<WebSocketExtra>;
  /** The core, for transports other than graphql-ws. */
  connections: SubscriptionConnections;
  /**
   * Serves a supergraph. Replacing one closes every connection that has subscriptions open with
   * 4000 SUPERGRAPH_CHANGED: their plans belong to the old supergraph, and clients resubscribe.
   */
  setSupergraph(supergraphSdl: string): void;
  stats(): SubscriptionStats;
  /** Closes what is left upstream; client sockets are closed by the endpoint serving them. */
  close(): Promise<void>;
};

/** One client connection, whatever its transport. */
export type Connection = {
  transport: ClientTransport;
  /** Its credential (connection_init's, or an HTTP stream's Authorization header), authenticated again at every subscribe. */
  authorization: string | undefined;
  /** Closes the connection when its access token expires. */
  expiry: NodeJS.Timeout | undefined;
  subscriptions: Set<ClientStream>;
  dropped: boolean;
};

// setTimeout's longest delay; a later expiry is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An admitted operation (graphql-ws: what onSubscribe hands on to subscribe/execute, in `contextValue`). */
export type Operation = {
  /** Subscriptions are shared and streamed; queries and mutations run once. */
  readonly type: OperationTypeNode;
  connection: Connection;
  /** The subscription id the client chose. */
  id: string;
  caller: Caller | null;
  supergraph: ServedSupergraph;
  document: DocumentNode;
  source: string;
  operationName: string | undefined;
  /** As sent (queries, run by Apollo Server, coerce their own). */
  variables: Record<string, unknown> | undefined;
  /** Coerced against the API schema (subscriptions). */
  coercedVariables: Record<string, unknown>;
};

/**
 * What graphql-ws is given as the document of an operation of each type (see onSubscribe): one
 * unnamed definition of that type, shared by every operation, so that what graphql-ws keeps while
 * a subscription runs holds no operation's AST.
 */
const standIn = (operation: OperationTypeNode): DocumentNode => ({
  kind: Kind.DOCUMENT,
  definitions: [
    { kind: Kind.OPERATION_DEFINITION, operation, selectionSet: { kind: Kind.SELECTION_SET, selections: [] } },
  ],
});
export const STAND_IN: Readonly<Record<OperationTypeNode, DocumentNode>> = {
  query: standIn(OperationTypeNode.QUERY),
  mutation: standIn(OperationTypeNode.MUTATION),
  subscription: standIn(OperationTypeNode.SUBSCRIPTION),
};

const formatted = (error: GraphQLError): FormattedExecutionResult => ({ errors: [error.toJSON()] });

/**
 * The gateway's graphql-ws server: authenticates connections, validates and plans subscriptions
 * against the served supergraph, shares identical ones, and bounds what one client or all of them
 * may hold. Queries and mutations sent over the socket run through Apollo Server as over HTTP.
 */
export function createSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { authenticator, logger, limits } = options;
  const withCode = withCodeOf(options.hideSuggestions ?? false);
  let supergraph: ServedSupergraph | undefined;
  let subscriptionCount = 0;
  /** Open subscriptions by caller: `user:<id>`, or `ip:<address>` for anonymous connections. */
  const perCaller = new Map<string, number>();
  const connections = new Set<Connection>();
  const shared = createSharedSubscriptions({ logger, maxPendingEvents: limits.maxQueuedEvents });
  const upstreams = createUpstreamPool({
    url: options.subgraphUrl,
    anonymousHeader: () => options.authenticator.anonymousHeader(),
  });

  /** Ends the connection's subscriptions now (releasing their upstreams), then closes its socket. */
  function drop(
    connection: Connection,
    why: SubscriptionDropReason,
    code: SubscriptionCloseCode | CloseCode,
    reason: string,
  ): void {
    if (connection.dropped) return;
    connection.dropped = true;
    options.onDrop?.(why);
    clearTimeout(connection.expiry);
    for (const subscription of [...connection.subscriptions]) void subscription.return();
    connection.transport.close(code, reason);
  }

  /**
   * A logout, a revoked refresh-token family or a role change refuses tokens before they expire:
   * the connections authenticated with one close with 4401 too, as at expiry.
   */
  const stopWatchingRevocations = authenticator.onRevoked(() => {
    for (const connection of connections) {
      if (connection.dropped || connection.authorization === undefined) continue;
      authenticator
        .authenticate(connection.authorization)
        .catch(() => drop(connection, 'token_revoked', CloseCode.Unauthorized, 'Access token revoked'));
    }
  });

  /**
   * Nothing runs as a caller once the caller's access token has expired: tokens are short-lived so
   * that a logout or a revoked session stops access soon, and a subscription must not outlive that.
   * The connection closes with 4401, as at connection_init; the client reconnects with a new token.
   */
  function closeAtExpiry(connection: Connection, caller: Caller): void {
    const remainingMs = caller.identity.expiresAt * 1000 - Date.now();
    if (remainingMs <= 0) return drop(connection, 'token_expired', CloseCode.Unauthorized, 'Access token expired');
    connection.expiry = setTimeout(() => closeAtExpiry(connection, caller), Math.min(remainingMs, MAX_TIMER_MS));
  }

  /** Why one more subscription of this caller on this connection would be one too many, if it would. */
  function overCap(connection: Connection, callerKey: string): GraphQLError | undefined {
    if (connection.dropped) return err(ErrorCode.BAD_USER_INPUT, 'The connection is closing');
    if (connection.subscriptions.size >= limits.maxPerConnection) {
      return err(
        ErrorCode.RATE_LIMITED,
        `Too many subscriptions on this connection (at most ${limits.maxPerConnection})`,
        { limit: limits.maxPerConnection, scope: 'connection' },
      );
    }
    if ((perCaller.get(callerKey) ?? 0) >= limits.maxPerUser) {
      const anonymous = callerKey.startsWith('ip:');
      return err(
        ErrorCode.RATE_LIMITED,
        `Too many subscriptions ${anonymous ? 'from this address' : 'for this user'} (at most ${limits.maxPerUser})`,
        { limit: limits.maxPerUser, scope: anonymous ? 'address' : 'user' },
      );
    }
    if (subscriptionCount >= limits.maxTotal) {
      return err(ErrorCode.RATE_LIMITED, 'The gateway serves too many subscriptions; try again later', {
        limit: limits.maxTotal,
        scope: 'gateway',
      });
    }
    return undefined;
  }

  async function subscribe(operation: Operation): Promise<ClientStream | GraphQLError> {
    const { connection, caller, document, operationName, coercedVariables } = operation;
    const { clientIp } = connection.transport;
    const userId = caller?.identity.userId ?? null;
    const callerKey = userId ? `user:${userId}` : `ip:${clientIp}`;
    // Rate limits: an API key has a budget of its own, apart from its owner's sessions'.
    const budget = caller ? rateLimitCaller(caller.identity) : null;
    // Checked before the budget is charged (a refusal costs none of it), and again after: other
    // subscribes may have taken the last places meanwhile.
    const full = overCap(connection, callerKey);
    if (full) return full;
    const refused = await options.admitOperation?.({
      clientIp,
      userId: budget,
      schema: operation.supergraph.apiSchema,
      document,
      operationName,
      variables: coercedVariables,
    });
    if (refused) return refused;
    const fullNow = overCap(connection, callerKey);
    if (fullNow) return fullNow;
    const text = print(document);
    let prepared: PreparedSubscription;
    try {
      prepared = await operation.supergraph.prepareSubscription(text, document, operationName, options.plan);
    } catch (error) {
      if (error instanceof PlanningRefused) {
        return err(
          ErrorCode.QUERY_PLANNING_TIMEOUT,
          `The gateway could not plan this subscription within ${error.limitMs} ms`,
          { limit: error.limitMs },
        );
      }
      logger.error({ err: error }, 'could not plan a subscription');
      return err(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
    // The plan may have taken a while: the connection may have closed or filled up meanwhile.
    if (connection.dropped) return err(ErrorCode.BAD_USER_INPUT, 'The connection is closing');
    const fullAfterPlanning = overCap(connection, callerKey);
    if (fullAfterPlanning) return fullAfterPlanning;

    // By signed identity, which names the token's expiry too: everyone sharing an upstream
    // subscription (and its entity fetches, made with one identity) holds the same token. Hashed:
    // a distinct subscription keeps its key for as long as it runs (the text is ~1 KB).
    const key = createHash('sha256')
      .update(JSON.stringify([caller?.identityHeader ?? '', operationName ?? null, text, stableJson(coercedVariables)]))
      .digest('base64url');
    const root = getOperationAST(document, operationName)?.selectionSet.selections[0];
    const replayLatest = root?.kind === Kind.FIELD && operation.supergraph.replayLatest.has(root.name.value);
    const { stream, leaveWith } = openStream(connection, operation.id, callerKey);
    leaveWith(shared.join(key, stream, () => eventSource(operation, prepared), replayLatest));
    return stream;
  }

  /**
   * A client subscription's stream, counted against the limits. Kept apart from subscribe() so
   * that what lives as long as the subscription (these closures) holds the connection only, not
   * the operation's AST and plan.
   */
  function openStream(connection: Connection, id: string, callerKey: string) {
    let leave = () => {};
    const stream: ClientStream = connection.transport.openStream(id, {
      maxUnsent: limits.maxQueuedEvents,
      onOverflow: () => {
        logger.warn({ limit: limits.maxQueuedEvents }, 'dropping a client that does not keep up with its events');
        drop(
          connection,
          'slow_consumer',
          SubscriptionCloseCode.SlowConsumer,
          subscriptionCloseReason[SubscriptionCloseCode.SlowConsumer],
        );
      },
      onDone: () => {
        connection.subscriptions.delete(stream);
        subscriptionCount--;
        const left = (perCaller.get(callerKey) ?? 1) - 1;
        if (left > 0) perCaller.set(callerKey, left);
        else perCaller.delete(callerKey);
        leave();
      },
    });
    connection.subscriptions.add(stream);
    subscriptionCount++;
    perCaller.set(callerKey, (perCaller.get(callerKey) ?? 0) + 1);
    return { stream, leaveWith: (fn: () => void) => void (leave = fn) };
  }

  /** Opens a subscription upstream (its plan's primary fetch) and resolves each of its events. */
  function eventSource(operation: Operation, prepared: PreparedSubscription): SubscriptionSource {
    const { caller, coercedVariables } = operation;
    const { primary } = prepared.node;
    return {
      open: (sink) =>
        upstreams.subscribe(
          primary.serviceName,
          caller?.identityHeader ?? null,
          {
            query: primary.operation,
            ...(primary.operationName ? { operationName: primary.operationName } : {}),
            variables: pick(coercedVariables, primary.variableUsages ?? []),
          },
          sink,
        ),
      execute: createEventExecutor({
        supergraph: operation.supergraph,
        prepared,
        variables: coercedVariables,
        context: { caller },
        dataSources: options.dataSources,
        logger,
        formatError: options.formatError,
      }),
    };
  }

  async function connect(transport: ClientTransport, authorization: unknown): Promise<Connection | ConnectRefusal> {
    if (authorization === undefined && !limits.allowAnonymous) return 'token-missing';
    if (authorization !== undefined && typeof authorization !== 'string') return 'token-invalid';
    let caller: Caller | null;
    try {
      caller = await authenticator.authenticate(authorization);
    } catch {
      return 'token-invalid';
    }
    const connection: Connection = {
      transport,
      authorization,
      expiry: undefined,
      subscriptions: new Set(),
      dropped: false,
    };
    connections.add(connection);
    if (caller) closeAtExpiry(connection, caller);
    return connection;
  }

  async function prepare(
    connection: Connection,
    id: string,
    payload: OperationPayload,
  ): Promise<Operation | readonly GraphQLError[]> {
    let caller: Caller | null;
    try {
      caller = await authenticator.authenticate(connection.authorization);
    } catch {
      // The token expired since the connection opened (the connection is about to close for it).
      return [err(ErrorCode.UNAUTHENTICATED, 'The access token has expired: connect again with a new one')];
    }
    // Read after authenticating, which may have waited (an API key resolved): the supergraph served now.
    if (!supergraph) return [err(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')];
    const admitted = options.admission.admit(payload.query);
    if (admitted?.error) return [admitted.error];
    let document: DocumentNode;
    try {
      document = admitted?.document ?? parse(payload.query);
    } catch (error) {
      return [err(ErrorCode.GRAPHQL_PARSE_FAILED, (error as Error).message)];
    }
    if (options.safelist && !options.safelist.allows(payload.query, document)) return [notInSafelist()];
    const invalid = validate(supergraph.apiSchema, document, undefined, { maxErrors: MAX_VALIDATION_ERRORS });
    if (invalid.length > 0) return invalid.map((error) => withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED));
    const operationName = payload.operationName ?? undefined;
    const definition = getOperationAST(document, operationName);
    if (!definition) {
      return [err(ErrorCode.BAD_USER_INPUT, 'Unable to identify the operation to run: name it with operationName')];
    }
    const variables = payload.variables ?? undefined;
    const tooDeep = checkVariables(document, variables, options.operationLimits);
    if (tooDeep) return [tooDeep];
    const coerced = getVariableValues(supergraph.apiSchema, definition.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors) return coerced.errors.map((error) => withCode(error, ErrorCode.BAD_USER_INPUT));
    const exceeded = checkOperationLimits(
      options.operationLimits,
      supergraph.apiSchema,
      document,
      operationName,
      coerced.coerced,
    );
    if (exceeded) return [exceeded];
    return {
      type: definition.operation,
      connection,
      id,
      caller,
      supergraph,
      document,
      source: payload.query,
      operationName,
      variables,
      coercedVariables: coerced.coerced,
    };
  }

  async function execute(operation: Operation): Promise<FormattedExecutionResult> {
    const { source, variables, operationName, caller, connection } = operation;
    // The connection's address: sign-in attempts over the socket count per address, as over HTTP.
    return options.executeOperation(
      { query: source, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) },
      { caller, clientIp: connection.transport.clientIp },
    );
  }

  function disconnect(connection: Connection): void {
    connections.delete(connection);
    connection.dropped = true;
    clearTimeout(connection.expiry);
    for (const subscription of [...connection.subscriptions]) void subscription.return();
  }

  const core: SubscriptionConnections = { connect, prepare, subscribe, execute, disconnect };
  const graphqlWs = serveGraphQLWs(core);

  return {
    graphqlWs,
    connections: core,
    setSupergraph(supergraphSdl) {
      const previous = supergraph;
      supergraph = loadSupergraph(supergraphSdl);
      if (!previous) return;
      shared.clear();
      const reason = subscriptionCloseReason[SubscriptionCloseCode.SupergraphChanged];
      for (const connection of connections) {
        if (connection.subscriptions.size > 0) {
          drop(connection, 'supergraph_changed', SubscriptionCloseCode.SupergraphChanged, reason);
        }
      }
    },
    stats: () => ({
      connections: connections.size,
      subscriptions: subscriptionCount,
      upstreamSubscriptions: shared.stats().upstreams,
      upstreamConnections: upstreams.connections(),
    }),
    close: async () => {
      stopWatchingRevocations();
      shared.clear();
      await upstreams.close();
    },
  };
}

/** graphql-ws over the core: a WebSocket is one connection, authenticated at connection_init. */
function serveGraphQLWs(core: SubscriptionConnections): GraphQLWsServer<WebSocketExtra> {
  const connections = new Map<WebSocketExtra, Connection>();
  return makeServer<Record<string, unknown> | undefined, WebSocketExtra>({
    onConnect: async (ctx) => {
      const { socket, clientIp } = ctx.extra;
      const connection = await core.connect(
        {
          clientIp,
          openStream: (id, hooks) =>
            createClientStream({
              socket,
              frame: graphqlWsNext(id),
              subscriptionId: id,
              writeDirect: textMessageWriter(socket),
              ...hooks,
            }),
          close: (code, reason) => socket.close(code, reason),
        },
        connectionParam(ctx.connectionParams, 'authorization'),
      );
      // 4401 rather than graphql-ws's 4403 for `false`: the client should get a new token, not give up.
      if (connection === 'token-missing') {
        socket.close(
          CloseCode.Unauthorized,
          'Authentication required: send { "Authorization": "Bearer <accessToken>" } in connection_init',
        );
        return false;
      }
      if (connection === 'token-invalid') {
        socket.close(CloseCode.Unauthorized, 'Invalid or expired access token');
        return false;
      }
      connections.set(ctx.extra, connection);
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      const connection = connections.get(ctx.extra);
      if (!connection) return [err(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')];
      const operation = await core.prepare(connection, id, payload);
      if (!('type' in operation)) return [...operation];
      // A WebSocket operation continues the trace its client gives in the message's extensions.
      if (tracingEnabled()) traceParents.set(operation, extractContext(traceCarrier(payload.extensions)));
      // graphql-ws keeps what this returns (and the operation definition it finds in it) for as
      // long as the subscription runs, in its handler's suspended frame, and only reads the
      // definition's type: it gets a shared stand-in of that type, without a name (so its
      // operationName must be undefined). The operation itself, AST and all, travels in
      // contextValue, which subscribe() lets go once it is planned.
      return {
        schema: operation.supergraph.apiSchema,
        document: STAND_IN[operation.type],
        operationName: undefined,
        contextValue: operation,
      };
    },
    subscribe: (args) => {
      const operation = args.contextValue as Operation;
      const stream = wsSpan('WS subscribe', operation, operation.operationName, () => core.subscribe(operation)).then(
        (result) => (result instanceof GraphQLError ? formatted(result) : result),
      );
      // graphql-ws keeps these arguments for as long as the subscription runs, and nothing needs
      // them once it is planned and joined: let the operation (its AST: tokens and locations, a
      // few KB) go, which is most of what an idle subscription would otherwise hold.
      args.contextValue = undefined;
      return stream as Promise<AsyncIterable<ExecutionResult>>;
    },
    execute: async (args) => {
      const operation = args.contextValue as Operation;
      return (await wsSpan('WS execute', operation, operation.operationName, () =>
        core.execute(operation),
      )) as ExecutionResult;
    },
    // Everything subscribe and execute produce is formatted already (errors masked once per
    // event, however many subscribers share it): send it as it is.
    onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
    onClose: (ctx) => {
      const connection = connections.get(ctx.extra);
      if (!connection) return;
      connections.delete(ctx.extra);
      core.disconnect(connection);
    },
  });
}

// The error's nodes give it its locations again.
const withCodeOf =
  (hideSuggestions: boolean) =>
  (error: GraphQLError, code: ErrorCode): GraphQLError =>
    new GraphQLError(hideSuggestions ? withoutSuggestions(error.message) : error.message, {
      nodes: error.nodes,
      extensions: { ...error.extensions, code },
    });

function pick(values: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (name in values) picked[name] = values[name];
  return picked;
}

/** JSON with object keys sorted, so equal variables give equal keys whatever their order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) =>
    nested && typeof nested === 'object' && !Array.isArray(nested)
      ? Object.fromEntries(Object.entries(nested).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : nested,
  );
}

/** Parents of the WebSocket operations' spans, while tracing is on. */
const traceParents = new WeakMap<object, Context>();

/** `traceparent`/`tracestate` from a graphql-ws message's extensions. */
function traceCarrier(extensions: unknown): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (typeof extensions !== 'object' || extensions === null) return carrier;
  for (const name of ['traceparent', 'tracestate']) {
    const value = (extensions as Record<string, unknown>)[name];
    if (typeof value === 'string' && value.length <= 512) carrier[name] = value;
  }
  return carrier;
}

/** The server span of a WebSocket operation's start (a subscription's setup, a query's execution). */
function wsSpan<T>(name: string, operation: object, operationName: string | null | undefined, work: () => Promise<T>) {
  if (!tracingEnabled()) return work();
  const parent = traceParents.get(operation);
  traceParents.delete(operation);
  return inSpan(
    operationName ? `${name} ${operationName}` : name,
    { kind: SpanKind.SERVER, attributes: { 'ai_code.service': 'gateway', 'network.protocol.name': 'websocket' } },
    work,
    parent,
  );
}
