import type { IncomingMessage } from 'node:http';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { parse } from 'graphql';
import { Counter, Gauge } from 'prom-client';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import { disableApolloTelemetry } from '../../lib/config/env.js';
import { badInput } from '../../lib/errors.js';
import { createErrorFormatter } from '../../lib/graphql/format-error.js';
import { createGraphQLHandler } from '../../lib/http/graphql-handler.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_IP, type HttpLimits } from '../../lib/http/limits.js';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import type { InProcessTarget } from '../../lib/http/in-process.js';
import { useOperationMetrics } from './observability/operation-metrics.js';
import { createGraphQLWsEndpoint, createServiceServer, type ServiceServer } from '../../lib/http/service-server.js';
import { internOneByteNames } from '../../lib/graphql/one-byte-names.js';
import { createSocketOwnerEndpoint } from '../../lib/http/socket-owners.js';
import type { Logger } from '../../lib/logger.js';
import { API_KEYS_SUBGRAPH, createApiKeyLookup } from './api-keys.js';
import type { ServerTlsFiles } from '../../lib/tls/index.js';
import type { Authenticator } from './auth.js';
import type { GatewayContext } from './context.js';
import { createCors } from './http/cors.js';
import { preventCsrf } from './http/csrf.js';
import { deduplicateQueries } from './inflight/deduplicate-queries.js';
import { DeduplicatingApolloServer } from './inflight/deduplicate-requests.js';
import { createDocumentAdmission } from './limits/admission.js';
import { defaultOperationLimits, type OperationLimits } from './limits/operation-limits.js';
import {
  operationParseOptions,
  operationValidationOptions,
  useOperationLimits,
} from './limits/use-operation-limits.js';
import { compiledExecution, createPlanExecutionMetrics } from './execution/compiled-execution.js';
import { createPlannerPool, defaultPlannerPool, type PlannerPoolOptions } from './planning/planner-pool.js';
import { createPlanCache, createPlanningMetrics, usePlannerPool } from './planning/use-planner-pool.js';
import { createProtections, type ProtectionOptions } from './protections.js';
import { refuseUnacceptable, useGraphQLOverHttp } from './http/graphql-over-http.js';
import { createGraphQLIde } from './http/ide.js';
import {
  createSubscriptionServer,
  defaultSubscriptionLimits,
  type SubscriptionLimits,
  type SubscriptionStats,
} from './subscriptions/subscription-server.js';
import { createInflight } from './inflight/inflight.js';
import { inflightSharing, type InflightSharing } from './inflight/sharing.js';
import {
  createInProcessSubgraphClient,
  createSubgraphClient,
  DEFAULT_CONNECTIONS_PER_SUBGRAPH,
  type SubgraphAnswer,
  type SubgraphClient,
} from './upstream/subgraph-client.js';
import { readSupergraphDirectives } from './supergraph-directives.js';
import { SubgraphDataSource } from './upstream/subgraph-data-source.js';
import { createOperationDoor } from './http/operation-door.js';
import { createOipRoute } from './oip/route.js';
import { createRestDoor, REST_BASE_PATH } from './rest/rest-door.js';
import { readRestOperations } from './rest/routes.js';
import { createRestReference } from './http/rest-reference.js';
import { createUploadProxy } from './http/upload-proxy.js';
import { createHttpStreams } from './subscriptions/http-streams.js';

/** What the options below left unset are (and what SUBGRAPH_CONNECTIONS, DEDUPLICATE_INFLIGHT, QUERY_PLAN_CACHE_MIB default to). */
export const gatewayDefaults = {
  subgraphConnections: DEFAULT_CONNECTIONS_PER_SUBGRAPH,
  deduplicateInflight: true,
  queryPlanCacheMiB: 30,
  compiledExecution: true,
} as const;

export type GatewayOptions = {
  supergraphSdl: string;
  /** Subgraph URL overrides by subgraph name; others come from the supergraph. */
  subgraphUrls: Record<string, string>;
  /**
   * Subgraphs that run in this process (the one-process platform), by name: their query-plan
   * fetches are handed to the subgraph's server directly (createInProcessSubgraphClient) instead of
   * over HTTP. Everything else the gateway sends them (readiness, API keys, uploads) still goes to
   * their URL.
   */
  inProcessSubgraphs?: Record<string, InProcessTarget> | undefined;
  authenticator: Authenticator;
  logger: Logger;
  maxBodyBytes: number;
  introspection: boolean;
  /** The GraphQL IDE for browsers on GET /graphql (see http/ide.ts). @default introspection */
  ide?: boolean;
  /** Time allowed for a subgraph to answer a readiness probe. @default 2000 */
  readinessTimeoutMs?: number;
  /** The subgraph whose `/uploads/…` route receives uploads. @default the one the supergraph declares (`@uploadRoute`) */
  uploadsSubgraph?: string;
  /** Limits of subscriptions over WebSocket; each one left out keeps its default. */
  subscriptions?: Partial<SubscriptionLimits>;
  /**
   * Child processes holding the WebSocket client sockets and writing their events
   * (lib/http/socket-owners.ts), so that fan-out to thousands of clients uses more than one core;
   * 0 keeps the sockets in this process, and so does `tls` (a TLS socket cannot change process).
   * @default 0
   */
  subscriptionSocketProcesses?: number;
  /** Serve HTTPS and WSS with this certificate, reloaded when its files change (createServiceServer); unset: HTTP. */
  tls?: ServerTlsFiles | undefined;
  /** On close, how long requests in flight get to finish. @default 10000 (createServiceServer) */
  drainTimeoutMs?: number | undefined;
  /**
   * Headers and body timeouts, and open connections per client address; each left out keeps its
   * default (lib/http/limits.ts), the cap DEFAULT_MAX_CONNECTIONS_PER_IP (0 turns it off).
   */
  http?: Partial<HttpLimits> | undefined;
  /** Keep-alive connections held open to each subgraph. @default gatewayDefaults.subgraphConnections */
  subgraphConnections?: number;
  /**
   * Share in-flight identical work among requests of the same caller: whole requests, operations,
   * and subgraph fetches of queries (inflight/sharing.ts), all of them (a boolean) or each layer as
   * given. Mutations are never shared. @default true
   */
  deduplicateInflight?: boolean | Partial<InflightSharing>;
  /** Approximate size of the query plan cache (plans keyed by operation text and name), MiB. @default 30 */
  queryPlanCacheMiB?: number;
  /**
   * Run query plans with the compiled executor (execution/): plans compiled once, answers shaped
   * without @apollo/gateway's per-request work; what it does not handle runs on Apollo's executor.
   * False: Apollo's executor for everything. @default gatewayDefaults.compiledExecution
   */
  compiledExecution?: boolean;
  /** The planner threads operations are planned on, off the event loop (planning/). @default defaultPlannerPool */
  planner?: Partial<Omit<PlannerPoolOptions, 'logger'>> | undefined;
  /** Rate limits, subgraph timeouts and persisted operations (see protections.ts). */
  protections?: ProtectionOptions;
  /** Depth, aliases, root fields, tokens, directives and cost of one operation (limits/); each left out keeps its default. */
  operationLimits?: Partial<OperationLimits>;
  /**
   * Hide "Did you mean …?" suggestions, which reveal the schema, and the subgraphs' names and
   * addresses in errors' extensions (production). @default !introspection
   */
  hideSchemaDetails?: boolean;
  /** Origins of browser apps allowed to call the gateway (http/cors.ts). @default none */
  corsOrigins?: readonly string[];
};

export type Gateway = ServiceServer & {
  /** The subgraphs this gateway calls, with the URLs it calls them at. */
  subgraphs(): ReadonlyMap<string, string>;
  /**
   * Serves another supergraph from now on: HTTP operations are planned against it at once, and
   * WebSocket connections with subscriptions open are closed with 4000 SUPERGRAPH_CHANGED so their
   * clients subscribe again. Throws (and changes nothing) when the SDL is not a valid supergraph.
   */
  updateSupergraph(supergraphSdl: string): void;
  /** Open subscriptions and connections, on both sides of the gateway. */
  subscriptionStats(): SubscriptionStats;
};

async function subgraphAnswers(url: string, timeoutMs: number, identityHeader: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      // Subgraphs answer only the gateway's signed header: without it the probe would get a 401.
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: identityHeader },
      body: '{"query":"{__typename}"}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger, authenticator } = options;
  const supergraphDocument = parse(options.supergraphSdl, { noLocation: true });
  // Before Apollo builds its schemas from the supergraph (one-byte-names.ts says why).
  internOneByteNames(supergraphDocument);
  const subgraphs = new Map<string, string>();
  const dataSources = new Map<string, GraphQLDataSource>();
  const operationLimits = { ...defaultOperationLimits, ...options.operationLimits };
  const hideSuggestions = options.hideSchemaDetails ?? !options.introspection;
  const formatError = createErrorFormatter(logger, { hideSuggestions, hideInternals: hideSuggestions });
  let updateSupergraph: ((supergraphSdl: string) => void) | undefined;
  const sharing = inflightSharing(options.deduplicateInflight ?? gatewayDefaults.deduplicateInflight);
  const client = createSubgraphClient({
    connectionsPerSubgraph: options.subgraphConnections ?? gatewayDefaults.subgraphConnections,
  });
  const inProcessClients = new Map<string, SubgraphClient>();
  const inProcessClient = (name: string): SubgraphClient | undefined => {
    const target = options.inProcessSubgraphs?.[name];
    if (!target) return undefined;
    let inProcess = inProcessClients.get(name);
    if (!inProcess) inProcessClients.set(name, (inProcess = createInProcessSubgraphClient(target, client)));
    return inProcess;
  };
  const fetches = sharing.subgraphFetches ? createInflight<SubgraphAnswer>() : undefined;
  const protectionOptions = options.protections ?? {};
  // What the supergraph declares for the gateway (supergraph-directives.ts), kept as it is updated.
  let directives = readSupergraphDirectives(supergraphDocument);
  const protections = await createProtections(
    {
      ...protectionOptions,
      persistedOperations: {
        ...protectionOptions.persistedOperations,
        allowIntrospection: protectionOptions.persistedOperations?.allowIntrospection ?? options.introspection,
      },
    },
    logger,
    () => directives.rateLimits,
  );
  disableApolloTelemetry();
  const metrics = createHttpMetrics('gateway');
  const planningMetrics = createPlanningMetrics(metrics.registry);
  const planCache = createPlanCache(options.queryPlanCacheMiB ?? gatewayDefaults.queryPlanCacheMiB, () =>
    planningMetrics.plans.inc({ planner: 'main-thread', outcome: 'planned' }),
  );
  const planner = createPlannerPool({ ...defaultPlannerPool, ...options.planner, logger });
  const gateway = new ApolloGateway({
    // The hook form of a static supergraph: the same SDL, plus the `update` callback that swaps it.
    supergraphSdl: async ({ update }) => {
      updateSupergraph = update;
      return { supergraphSdl: options.supergraphSdl };
    },
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls[name] ?? url;
      if (!target)
        throw new Error(`subgraph ${name} has no URL in the supergraph and no SUBGRAPH_${name.toUpperCase()}_URL`);
      const dataSource = protections.guardSubgraph(
        name,
        new SubgraphDataSource({
          url: target,
          name,
          client: inProcessClient(name) ?? client,
          timeoutMs: protections.subgraphTimeoutMs(name),
          anonymousHeader: () => authenticator.anonymousHeader(),
          ...(fetches ? { inflight: fetches } : {}),
        }),
      );
      subgraphs.set(name, target);
      dataSources.set(name, dataSource);
      return dataSource;
    },
    logger,
    // Filled by the planner pool first (usePlannerPool); sized by queryPlanCacheMiB.
    queryPlannerConfig: { cache: planCache },
  });
  const executing =
    (options.compiledExecution ?? gatewayDefaults.compiledExecution)
      ? compiledExecution(gateway, planCache, createPlanExecutionMetrics(metrics.registry))
      : gateway;
  const apollo = new DeduplicatingApolloServer<GatewayContext>({
    shareInflightRequests: sharing.requests,
    gateway: sharing.queries ? deduplicateQueries(executing) : executing,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handling closes servers in order; Apollo must not race it.
    stopOnTerminationSignals: false,
    formatError,
    persistedQueries: protections.persistedQueries,
    // A JSON array of operations is refused (400): one request, one operation, one set of limits.
    allowBatchedHttpRequests: false,
    parseOptions: operationParseOptions(operationLimits),
    validationOptions: operationValidationOptions,
    // preventCsrf (http/csrf.ts) applies Apollo's rule in front of the handler, but lets API clients GET.
    csrfPrevention: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      useGraphQLOverHttp<GatewayContext>(),
      ...protections.plugins,
      useOperationLimits<GatewayContext>(operationLimits),
      usePlannerPool<GatewayContext>({ pool: planner, cache: planCache, metrics: planningMetrics, logger }),
      useOperationMetrics<GatewayContext>(metrics.registry),
    ],
  });
  // API keys are resolved by the users service, wherever the supergraph (or an override) puts it.
  authenticator.useApiKeyLookup(
    createApiKeyLookup({
      usersUrl: () => subgraphs.get(API_KEYS_SUBGRAPH) ?? options.subgraphUrls[API_KEYS_SUBGRAPH],
      identityHeader: () => authenticator.anonymousHeader(),
    }),
  );
  const admission = createDocumentAdmission(operationLimits);
  const subscriptionLimits = { ...defaultSubscriptionLimits, ...options.subscriptions };
  const subscriptionDrops = new Counter({
    name: 'graphql_subscription_drops_total',
    help: 'Client connections the gateway closed on its own, by reason (slow_consumer, supergraph_changed, token_expired, token_revoked)',
    labelNames: ['reason'] as const,
    registers: [metrics.registry],
  });
  const subscriptions = createSubscriptionServer({
    onDrop: (reason) => subscriptionDrops.inc({ reason }),
    authenticator,
    logger,
    limits: subscriptionLimits,
    admitOperation: protections.admitOperation,
    operationLimits,
    admission,
    safelist: protections.safelist,
    hideSuggestions,
    dataSources,
    subgraphUrl: (name) => subgraphs.get(name),
    plan: (text, operationName) => planner.plan(text, operationName),
    executeOperation: async (request, contextValue) => {
      const response = await apollo.executeOperation(request, { contextValue });
      if (response.body.kind === 'single') return response.body.singleResult;
      return { errors: [badInput('Incremental delivery (@defer, @stream) is not served over WebSocket').toJSON()] };
    },
    formatError,
  });
  const limits = { maxConnectionsPerIp: DEFAULT_MAX_CONNECTIONS_PER_IP, ...options.http };
  const bodyTimeoutMs = limits.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  // Subscriptions over SSE and multipart HTTP: the same connections as over WebSocket.
  const streams = createHttpStreams({
    connections: subscriptions.connections,
    logger,
    clientIp: protections.clientIp,
    maxBodyBytes: options.maxBodyBytes,
    bodyTimeoutMs,
  });
  const context = async (req: IncomingMessage): Promise<GatewayContext> => ({
    caller: await authenticator.authenticate(req.headers.authorization),
    clientIp: protections.clientIp(req),
  });
  const admit = (query: string) => admission.admit(query)?.error;
  // The doors beside /graphql (REST, the inference protocol) run their operations through this.
  const door = createOperationDoor({ apollo, context, admit });
  const readiness = async () => {
    if (subgraphs.size === 0) return false;
    const probes = [...subgraphs.values()].map((url) =>
      subgraphAnswers(url, options.readinessTimeoutMs ?? 2000, authenticator.anonymousHeader()),
    );
    return (await Promise.all(probes)).every(Boolean);
  };
  const rest = createRestDoor({
    operations: await readRestOperations(),
    door,
    streams,
    logger,
    maxBodyBytes: options.maxBodyBytes,
    bodyTimeoutMs,
    chargeRequest: protections.chargeRequest,
    version: '1.0',
  });

  // Every supergraph the gateway loads, the first included, whichever way it arrives.
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    directives = readSupergraphDirectives(coreSupergraphSdl);
    planner.setSupergraph(coreSupergraphSdl);
    subscriptions.setSupergraph(coreSupergraphSdl);
    rest.setSchema(apiSchema, directives.replayLatest);
  });
  await apollo.start();

  new Gauge({
    name: 'graphql_subscriptions',
    help: 'Open subscriptions: of clients, and upstream at subgraphs (identical client subscriptions share one)',
    labelNames: ['side'] as const,
    registers: [metrics.registry],
    collect() {
      const stats = subscriptions.stats();
      this.set({ side: 'client' }, stats.subscriptions);
      this.set({ side: 'upstream' }, stats.upstreamSubscriptions);
    },
  });

  const ide = createGraphQLIde({ logger, enabled: options.ide ?? options.introspection });
  const websocketOptions = {
    logger,
    maxPayload: options.maxBodyBytes,
    clientIp: protections.clientIp,
    maxConnectionsPerIp: subscriptionLimits.maxConnectionsPerIp,
  };
  const service = createServiceServer({
    logger,
    metrics,
    tls: options.tls,
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
    limits,
    crossOrigin: createCors(options.corsOrigins ?? []),
    graphql: protections.limitRequests(
      ide.negotiate(
        refuseUnacceptable(
          preventCsrf(
            createGraphQLHandler({
              apollo,
              maxBodyBytes: options.maxBodyBytes,
              bodyTimeoutMs,
              admit,
              context,
            }),
          ),
          streams,
        ),
      ),
    ),
    routes: {
      ...ide.routes,
      // Its reference page (Swagger UI on the OpenAPI document), where the IDE is served; before /api/v1/.
      ...createRestReference({ enabled: options.ide ?? options.introspection }),
      // REST (/api/v1): each route one GraphQL operation (operations/rest), run by the door above.
      [`${REST_BASE_PATH}/`]: (req, res, url) => rest.handle(req, res, url),
      '/uploads/': createUploadProxy(
        () => {
          const name = options.uploadsSubgraph ?? directives.uploadsSubgraph;
          const url = name === undefined ? undefined : subgraphs.get(name);
          return url ? new URL('/', url).toString() : undefined;
        },
        logger,
        bodyTimeoutMs,
        // Uploads are authorized by their signed URL; the header only gets them past the subgraph's door.
        () => authenticator.anonymousHeader(),
      ),
      // The Open Inference Protocol (KServe V2): `/v2` and everything under it.
      '/v2': createOipRoute({
        door,
        readiness,
        maxBodyBytes: options.maxBodyBytes,
        bodyTimeoutMs,
        chargeRequest: protections.chargeRequest,
        logger,
      }),
    },
    readiness,
    websocket:
      (options.subscriptionSocketProcesses ?? 0) > 0 && !options.tls
        ? createSocketOwnerEndpoint(subscriptions.graphqlWs, {
            ...websocketOptions,
            processes: options.subscriptionSocketProcesses!,
          })
        : createGraphQLWsEndpoint(subscriptions.graphqlWs, websocketOptions),
  });
  return {
    ...service,
    subgraphs: () => subgraphs,
    updateSupergraph: (supergraphSdl) => {
      if (!updateSupergraph) throw new Error('the gateway has not loaded its supergraph');
      internOneByteNames(supergraphSdl);
      updateSupergraph(supergraphSdl);
    },
    subscriptionStats: () => subscriptions.stats(),
    close: async () => {
      // Streams end first: the drain would otherwise wait for them (they never finish on their own).
      streams.close();
      await service.close();
      await subscriptions.close();
      await apollo.stop();
      await planner.close();
      await client.close();
      await protections.close();
    },
  };
}
