import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import {
  defaultFieldResolver,
  GraphQLError,
  parse,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { mutationScope, scopesGrant } from '../auth/api-keys.js';
import { createCallerVerifier, IDENTITY_HEADER, type Identity } from '../auth/identity.js';
import { forbidden } from '../errors.js';
import type { PlatformLog } from '../platform-log/index.js';
import { createErrorFormatter } from '../graphql/format-error.js';
import { internOneByteNames } from '../graphql/one-byte-names.js';
import { createGraphQLHandler } from '../http/graphql-handler.js';
import type { HttpLimits } from '../http/limits.js';
import { createHttpMetrics, type HttpMetrics } from '../http/metrics.js';
import {
  createGraphQLWsEndpoint,
  createServiceServer,
  type RouteHandler,
  type ServiceServer,
} from '../http/service-server.js';
import type { Kysely } from 'kysely';
import { pingDatabase } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { projectRoot } from '../project-root.js';
import { createSubgraphSubscriptionServer } from './subscription-server.js';

export type CreateSubgraphOptions<TContext extends object> = {
  /** The subgraph's name; unless `typeDefs` is given, its SDL is `schema/<name>.graphql`. */
  name: string;
  /** The subgraph's SDL, for subgraphs that are not part of the platform's schema/ (tests). */
  typeDefs?: DocumentNode | string;
  // Codegen's resolver types and @apollo/subgraph's resolver map differ only in how they type
  // `__resolveReference`; each subgraph's resolvers are checked against the generated types.
  resolvers: unknown;
  logger: Logger;
  /** Verifies the identity header the gateway signs. */
  internalSecret: string;
  /** Builds the per-request context (loaders are per request so their caches never outlive it). */
  createContext: (identity: Identity | null) => TContext;
  readiness: () => Promise<boolean>;
  /** Largest HTTP request body and WebSocket message, bytes. @default 1 MiB */
  maxBodyBytes?: number;
  /** Production hides introspection. */
  production: boolean;
  routes?: Record<string, RouteHandler>;
  /** Headers and body timeouts, connections per address (createServiceServer's defaults when left out). */
  limits?: Partial<HttpLimits>;
  /** The service's metrics, when it registers its own besides HTTP's. @default createHttpMetrics(name) */
  metrics?: HttpMetrics;
  /** Where refusals of API keys beyond their scopes are recorded. */
  events?: PlatformLog | undefined;
};

/** What every subgraph of the platform runs on, whoever composes it (its own process or the platform). */
export type SubgraphBase = {
  db: Kysely<Database>;
  logger: Logger;
  /** Verifies the identity header the gateway signs. */
  internalSecret: string;
  production: boolean;
  /** The service's metrics, when its process registers more in their registry (the platform log sink's). */
  metrics?: HttpMetrics | undefined;
  /** The service's platform log (refused API keys are recorded there). */
  events?: PlatformLog | undefined;
};

/** createSubgraphServer's options that follow from the base: logging, identity, metrics, readiness of its database. */
export function subgraphServerBase(base: SubgraphBase) {
  return {
    logger: base.logger,
    internalSecret: base.internalSecret,
    production: base.production,
    ...(base.metrics ? { metrics: base.metrics } : {}),
    ...(base.events ? { events: base.events } : {}),
    readiness: () => pingDatabase(base.db),
  };
}

/**
 * `_service { sdl }` hands out the subgraph's whole SDL, introspection or not. Nothing reads it from
 * a running subgraph (the supergraph is composed from schema/*.graphql), so production refuses it
 * as graphql-js refuses a field that does not exist.
 */
const noFederationSdl: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '_service' && context.getParentType()?.name === 'Query') {
      context.reportError(new GraphQLError('Cannot query field "_service" on type "Query".', { nodes: node }));
    }
  },
});

export function readSubgraphSdl(name: string): string {
  return readFileSync(join(projectRoot, 'schema', `${name}.graphql`), 'utf8');
}

const CONTEXT_IDENTITY = Symbol('identity');

/**
 * API keys' scopes, enforced where the data lives (not by the gateway alone): every mutation field
 * of the schema checks the caller's key against the scope it needs (lib/auth/api-keys.ts
 * MUTATION_SCOPES: PREDICT for predictions, never for accounts and keys, WRITE for every other,
 * those added later included). Queries and subscriptions need READ, which every key has; a field
 * answering a secret needs more, checked where the secret is read (lib/auth/access.ts
 * requireSecretAccess: WRITE, the scope that changes it). A caller with an access token is not
 * narrowed. `identityOf` gives the identity a context was made for.
 */
export function enforceApiKeyScopes(
  schema: GraphQLSchema,
  identityOf: (context: unknown) => Identity | null | undefined,
  events?: PlatformLog,
): void {
  const mutation = schema.getMutationType();
  if (!mutation) return;
  for (const field of Object.values(mutation.getFields())) {
    const resolve = field.resolve ?? defaultFieldResolver;
    const needed = mutationScope(field.name);
    field.resolve = (source, args, context, info) => {
      const identity = identityOf(context);
      if (identity?.apiKeyId !== undefined && !scopesGrant(identity.scopes ?? [], needed)) {
        events?.warn(`API key refused: ${field.name} is beyond its scopes`, {
          event: 'auth.api_key_refused',
          reason: 'scope',
          apiKeyId: identity.apiKeyId,
          userId: identity.userId,
          field: field.name,
        });
        throw forbidden(
          needed === 'never'
            ? `API keys cannot run ${field.name}: sign in to do this`
            : `This API key lacks the ${needed} scope that ${field.name} needs`,
        );
      }
      return resolve(source, args, context, info);
    };
  }
}

/**
 * An @apollo/subgraph service behind the common service server (health, readiness, metrics):
 * queries and mutations over HTTP, subscriptions over graphql-ws on the same `/graphql`.
 */
export async function createSubgraphServer<TContext extends object>(
  options: CreateSubgraphOptions<TContext>,
): Promise<ServiceServer> {
  const typeDefs = options.typeDefs ?? readSubgraphSdl(options.name);
  const document = typeof typeDefs === 'string' ? parse(typeDefs) : typeDefs;
  internOneByteNames(document);
  const schema = buildSubgraphSchema({
    typeDefs: document,
    resolvers: options.resolvers as GraphQLResolverMap<unknown>,
  });
  // Each context carries whom it was made for, so the scope check finds the caller whatever the
  // context's shape: under a symbol, which Apollo Server's shallow copy of the context keeps.
  const createContext = (identity: Identity | null): TContext =>
    Object.assign(options.createContext(identity), { [CONTEXT_IDENTITY]: identity });
  enforceApiKeyScopes(
    schema,
    (context) => (context as { [CONTEXT_IDENTITY]?: Identity | null } | undefined)?.[CONTEXT_IDENTITY],
    options.events,
  );
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  // Production hides the schema's shape: no "Did you mean …?" guesses, no federation SDL.
  const formatError = createErrorFormatter(options.logger, { hideSuggestions: options.production });
  const apollo = new ApolloServer<TContext>({
    schema,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handling closes servers in order; Apollo must not race it.
    stopOnTerminationSignals: false,
    formatError,
    ...(options.production ? { validationRules: [noFederationSdl] } : {}),
    // No inline traces (ftv1): they cost time on every request and expose timings to callers.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const metrics = options.metrics ?? createHttpMetrics(options.name);
  // Verified once by `authorize`, read by the context of the same request.
  const callers = new WeakMap<IncomingMessage, Identity | null>();
  // The gateway sends one signed header per caller: each is checked once while it lasts.
  const verifyCaller = createCallerVerifier(options.internalSecret);
  const graphql = createGraphQLHandler({
    apollo,
    maxBodyBytes,
    ...(options.limits?.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: options.limits.bodyTimeoutMs } : {}),
    context: async (req) => createContext(callers.get(req) ?? null),
  });
  const service = createServiceServer({
    logger: options.logger,
    metrics,
    graphql,
    readiness: options.readiness,
    limits: options.limits,
    // Only the gateway signs the identity header (for anonymous callers too): a direct call, or one
    // with a forged header, is refused before anything runs.
    authorize: (req) => {
      const caller = verifyCaller(req.headers[IDENTITY_HEADER]);
      if (caller) callers.set(req, caller.identity);
      return caller !== undefined;
    },
    ...(options.routes ? { routes: options.routes } : {}),
    websocket: createGraphQLWsEndpoint(
      createSubgraphSubscriptionServer({
        schema,
        internalSecret: options.internalSecret,
        createContext,
        formatError,
      }),
      { logger: options.logger, maxPayload: maxBodyBytes },
    ),
  });
  return {
    ...service,
    close: async () => {
      await service.close();
      await apollo.stop();
    },
  };
}
