import type { IncomingMessage } from 'node:http';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { ApolloServerPlugin, PersistedQueryOptions } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import type { GraphQLRoute } from '../../lib/http/graphql-handler.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewayContext } from './context.js';
import { createMemoryDocumentCache, createRedisDocumentCache } from './persisted-operations/apq-cache.js';
import {
  createSafelist,
  readManifest,
  useSafelist,
  withManifest,
  type Safelist,
} from './persisted-operations/manifest.js';
import { clientIp } from './rate-limit/client-ip.js';
import {
  createRateLimits,
  type RateLimitConfig,
  type RateLimitsOptions,
  type Refusal,
} from './rate-limit/rate-limits.js';
import {
  admitOperation,
  limitRequestsByIp,
  useRateLimits,
  type AdmittedOperation,
} from './rate-limit/use-rate-limits.js';
import { connectGatewayRedis } from './redis.js';
import { withSubgraphErrors } from './upstream/subgraph-errors.js';

export type ProtectionOptions = {
  /** Redis for rate-limit counters and the APQ cache, shared by gateway replicas; in-process when unset. */
  redisUrl?: string | undefined;
  /** The CA a `rediss://` server's certificate is verified with (REDIS_CA_FILE). */
  redisCaFile?: string | undefined;
  /** Prefix of every key the gateway writes to Redis: gateways sharing one share their budgets and APQ. @default '' */
  redisKeyPrefix?: string | undefined;
  /** @default defaultRateLimits */
  rateLimits?: RateLimitConfig | undefined;
  /** Reverse proxies whose X-Forwarded-For is trusted (see TRUST_PROXY). @default 0 */
  trustedProxies?: number | undefined;
  /** Time a subgraph has to answer one fetch, ms. @default 10000 */
  subgraphTimeoutMs?: number | undefined;
  /** Per-subgraph overrides of subgraphTimeoutMs, by subgraph name. */
  subgraphTimeoutsMs?: Record<string, number> | undefined;
  persistedOperations?:
    | {
        /** APQ entry lifetime, seconds. @default 86400 */
        ttlSeconds?: number | undefined;
        /** A manifest `{ operations: [{ id, body }] }` whose operations are served by id. */
        manifestPath?: string | undefined;
        /** Only the manifest's operations run. @default false */
        safelist?: boolean | undefined;
        /** With safelist: introspection queries run too (set when introspection is on). @default false */
        allowIntrospection?: boolean | undefined;
      }
    | undefined;
};

/** The defaults of the gateway process (RATE_LIMIT_* in protection-env.ts). */
export const defaultRateLimits: RateLimitConfig = {
  perIp: { points: 600, windowSeconds: 60 },
  perUser: { points: 300, windowSeconds: 60 },
  auth: { points: 10, windowSeconds: 60 },
  inference: { points: 60, windowSeconds: 60 },
};

/** What each protection left unset is (and what TRUST_PROXY, SUBGRAPH_TIMEOUT_MS and APQ_TTL default to). */
export const defaultProtections = {
  rateLimits: defaultRateLimits,
  trustedProxies: 0,
  subgraphTimeoutMs: 10_000,
  apqTtlSeconds: 24 * 3600,
} as const;

export type Protections = {
  plugins: Array<ApolloServerPlugin<GatewayContext>>;
  persistedQueries: PersistedQueryOptions;
  /** The per-IP budget in front of /graphql. */
  limitRequests(graphql: GraphQLRoute): GraphQLRoute;
  /** Charges a request of another door (REST) to the per-IP budget: null when admitted, else why not. */
  chargeRequest(req: IncomingMessage): Promise<Refusal | null>;
  clientIp(req: IncomingMessage): string;
  /**
   * Charges a subscription (run without Apollo Server, so its plugins never see it) to the same
   * budgets as any operation: null when admitted, else the RATE_LIMITED error.
   */
  admitOperation(operation: AdmittedOperation): Promise<GraphQLError | null>;
  /** The time one fetch to this subgraph has, ms (its data source cancels the fetch past it). */
  subgraphTimeoutMs(name: string): number;
  /** A subgraph's data source with clear errors when it fails (down, 5xx, past its timeout). */
  guardSubgraph(name: string, source: GraphQLDataSource<GatewayContext>): GraphQLDataSource<GatewayContext>;
  /** Set in safelist mode: the WebSocket server checks it too. */
  safelist: Safelist | undefined;
  /** The Redis connection, when there is one (tests drop it on purpose). */
  redis: Redis | undefined;
  close(): Promise<void>;
};

/**
 * Rate limits, subgraph timeouts and persisted operations, assembled for createGateway;
 * `rateLimitedFields` are the served supergraph's (supergraph-directives.ts).
 */
export async function createProtections(
  options: ProtectionOptions,
  logger: Logger,
  rateLimitedFields: RateLimitsOptions['rateLimitedFields'],
): Promise<Protections> {
  const keyPrefix = options.redisKeyPrefix ?? '';
  // Named after the prefix, so CLIENT LIST tells gateways of different deployments (or tests) apart.
  const connectionName = `gateway${keyPrefix ? `-${keyPrefix.replace(/[^A-Za-z0-9_.:-]/g, '_')}` : ''}`;
  const redis = options.redisUrl
    ? await connectGatewayRedis(options.redisUrl, logger, 3_000, connectionName, options.redisCaFile)
    : undefined;
  const rateLimits = createRateLimits({
    config: { ...(options.rateLimits ?? defaultProtections.rateLimits), keyPrefix: `${keyPrefix}rl` },
    redis,
    logger,
    rateLimitedFields,
  });
  const trustedProxies = options.trustedProxies ?? defaultProtections.trustedProxies;
  const persisted = options.persistedOperations ?? {};
  const manifest = persisted.manifestPath ? await readManifest(persisted.manifestPath) : undefined;
  if (persisted.safelist && !manifest) throw new Error('SAFELIST needs PERSISTED_OPERATIONS_MANIFEST');
  const safelist =
    persisted.safelist && manifest
      ? createSafelist(manifest, { allowIntrospection: persisted.allowIntrospection ?? false })
      : undefined;
  const memory = createMemoryDocumentCache();
  const documents = redis ? createRedisDocumentCache(redis, memory, keyPrefix) : memory;
  return {
    plugins: [useRateLimits(rateLimits), ...(safelist ? [useSafelist(safelist)] : [])],
    persistedQueries: {
      cache: manifest ? withManifest(documents, manifest) : documents,
      ttl: persisted.ttlSeconds ?? defaultProtections.apqTtlSeconds,
    },
    limitRequests: (graphql) => limitRequestsByIp(rateLimits, trustedProxies, graphql),
    chargeRequest: (req) => rateLimits.request(clientIp(req, trustedProxies)),
    clientIp: (req) => clientIp(req, trustedProxies),
    admitOperation: (operation) => admitOperation(rateLimits, operation),
    subgraphTimeoutMs: (name) =>
      options.subgraphTimeoutsMs?.[name] ?? options.subgraphTimeoutMs ?? defaultProtections.subgraphTimeoutMs,
    guardSubgraph: (name, source) => withSubgraphErrors(name, source, logger),
    safelist,
    redis,
    close: async () => {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
