import { z } from 'zod';
import type { RevocationCheck } from '../../lib/auth/revocations.js';
import { accessTokenEnvShape, accessTokenKeys } from '../../lib/config/common-env.js';
import { booleanFlag, optionalFlag, positiveInt, type EnvOf } from '../../lib/config/env.js';
import type { ServerTlsFiles } from '../../lib/tls/index.js';
import type { InProcessTarget } from '../../lib/http/in-process.js';
import type { Logger } from '../../lib/logger.js';
import { createAuthenticator } from './auth.js';
import { createGateway, gatewayDefaults, type Gateway, type GatewayOptions } from './create-gateway.js';
import { corsOriginsSetting } from './http/cors.js';
import { inflightSharingFlag } from './inflight/sharing.js';
import { operationLimitsEnvShape, operationLimitsFromEnv } from './limits/env.js';
import { plannerEnvShape, plannerFromEnv } from './planning/env.js';
import {
  clientConnectionEnvShape,
  clientHttpLimits,
  drainEnvShape,
  protectionEnvShape,
  protectionOptions,
} from './protection-env.js';
import { socketProcessesFromEnv, subscriptionEnvShape, subscriptionLimitsFromEnv } from './subscriptions/env.js';

/**
 * The gateway's settings: what the gateway process and the platform's embedded gateway both read,
 * so a variable added here reaches both. Process-only ones (PORT, SUPERGRAPH_PATH,
 * SUBGRAPH_<NAME>_URL) are in env.ts.
 */
export const gatewayEnvShape = {
  ...accessTokenEnvShape,
  ...protectionEnvShape,
  ...operationLimitsEnvShape,
  ...plannerEnvShape,
  ...subscriptionEnvShape,
  ...drainEnvShape,
  ...clientConnectionEnvShape,
  MAX_BODY_BYTES: positiveInt(1024 * 1024).describe('Largest accepted request body, bytes (413 beyond)'),
  INTROSPECTION: optionalFlag().meta({ description: 'Schema introspection', shownDefault: 'on unless production' }),
  GRAPHQL_IDE: optionalFlag().meta({
    description: 'The in-browser GraphQL IDE on `GET /graphql`, and the REST reference page on `GET /api/v1/docs`',
    shownDefault: 'follows `INTROSPECTION`',
  }),
  SUBGRAPH_CONNECTIONS: positiveInt(gatewayDefaults.subgraphConnections).describe(
    'Keep-alive connections held open to each subgraph; more concurrent fetches wait for one',
  ),
  DEDUPLICATE_INFLIGHT: inflightSharingFlag(gatewayDefaults.deduplicateInflight).describe(
    'Share identical in-flight work of the same caller (never mutations): `true`, `false`, or the layers to keep on of `requests,queries,subgraphFetches`',
  ),
  COMPILED_EXECUTION: booleanFlag(gatewayDefaults.compiledExecution).describe(
    "Run query plans with the gateway's compiled executor (plans compiled once, answers shaped without @apollo/gateway's per-request work); `false`: @apollo/gateway's executor for every operation",
  ),
  CORS_ORIGINS: corsOriginsSetting().meta({
    description:
      'Origins of browser apps allowed to call the API, comma-separated and exact (`https://app.example.com,http://localhost:5173`); WebSockets from other pages’ origins are refused',
    shownDefault: 'none (no cross-origin access)',
  }),
  TLS_CERT_FILE: z
    .string()
    .optional()
    .describe(
      'Serve HTTPS and WSS (TLS 1.2 or newer) with this PEM certificate chain, with `TLS_KEY_FILE`; unset: HTTP (TLS ends at a proxy)',
    ),
  TLS_KEY_FILE: z.string().optional().describe('The PEM private key of `TLS_CERT_FILE`'),
  TLS_WATCH_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(10_000)
    .describe(
      'How often the certificate files are checked for a change, ms: a renewed pair is served without a restart (so is one after SIGHUP)',
    ),
  QUERY_PLAN_CACHE_MIB: z.coerce
    .number()
    .positive()
    .default(gatewayDefaults.queryPlanCacheMiB)
    .describe('Approximate size of the query plan cache, MiB'),
};

export type GatewayEnv = EnvOf<typeof gatewayEnvShape> & { NODE_ENV: string };

export type GatewayConfig = Required<
  Pick<
    GatewayOptions,
    | 'maxBodyBytes'
    | 'introspection'
    | 'ide'
    | 'hideSchemaDetails'
    | 'protections'
    | 'operationLimits'
    | 'planner'
    | 'subscriptions'
    | 'subscriptionSocketProcesses'
    | 'http'
    | 'subgraphConnections'
    | 'deduplicateInflight'
    | 'queryPlanCacheMiB'
    | 'compiledExecution'
    | 'corsOrigins'
  >
> & {
  drainTimeoutMs: number;
  /** HTTPS: the certificate and key files, when both are set. */
  tls: ServerTlsFiles | undefined;
  /** How access tokens are verified. */
  accessTokens: ReturnType<typeof accessTokenKeys>;
};

/**
 * Introspection is on outside production unless turned off; the IDE follows it; in production, or
 * with introspection off, "Did you mean" suggestions and subgraph details are hidden.
 */
export function schemaExposure(env: {
  NODE_ENV: string;
  INTROSPECTION?: boolean | undefined;
  GRAPHQL_IDE?: boolean | undefined;
}) {
  const introspection = env.INTROSPECTION ?? env.NODE_ENV !== 'production';
  return {
    introspection,
    ide: env.GRAPHQL_IDE ?? introspection,
    hideSchemaDetails: env.NODE_ENV === 'production' || !introspection,
  };
}

export const gatewayConfig = (env: GatewayEnv): GatewayConfig => ({
  accessTokens: accessTokenKeys(env),
  maxBodyBytes: env.MAX_BODY_BYTES,
  ...schemaExposure(env),
  protections: protectionOptions(env),
  operationLimits: operationLimitsFromEnv(env),
  planner: plannerFromEnv(env),
  subscriptions: subscriptionLimitsFromEnv(env),
  subscriptionSocketProcesses: socketProcessesFromEnv(env),
  drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
  http: clientHttpLimits(env),
  subgraphConnections: env.SUBGRAPH_CONNECTIONS,
  deduplicateInflight: env.DEDUPLICATE_INFLIGHT,
  queryPlanCacheMiB: env.QUERY_PLAN_CACHE_MIB,
  compiledExecution: env.COMPILED_EXECUTION,
  corsOrigins: env.CORS_ORIGINS,
  tls:
    env.TLS_CERT_FILE && env.TLS_KEY_FILE
      ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, watchIntervalMs: env.TLS_WATCH_INTERVAL_MS }
      : undefined,
});

/** A certificate without its key, or a key without its certificate, is a configuration error. */
export function tlsPairProblems(env: {
  TLS_CERT_FILE?: string | undefined;
  TLS_KEY_FILE?: string | undefined;
}): string[] {
  if (Boolean(env.TLS_CERT_FILE) === Boolean(env.TLS_KEY_FILE)) return [];
  return env.TLS_CERT_FILE
    ? ['TLS_KEY_FILE: required with TLS_CERT_FILE']
    : ['TLS_CERT_FILE: required with TLS_KEY_FILE'];
}

/** What the gateway runs on besides its settings. */
export type GatewayResources = {
  supergraphSdl: string;
  /** Subgraph URL overrides by subgraph name; others come from the supergraph. */
  subgraphUrls: Record<string, string>;
  /** Subgraphs in this process, by name: plan fetches reach them without a socket (GatewayOptions.inProcessSubgraphs). */
  inProcessSubgraphs?: Record<string, InProcessTarget> | undefined;
  internalSecret: string;
  /** Revoked sessions and users, from the users service; without it tokens live until they expire. */
  revocations?: RevocationCheck | undefined;
  logger: Logger;
};

/** The gateway, as the gateway process and the platform run it. */
export function composeGateway({
  accessTokens,
  internalSecret,
  revocations,
  ...options
}: GatewayConfig & GatewayResources): Promise<Gateway> {
  return createGateway({ ...options, authenticator: createAuthenticator(accessTokens, internalSecret, revocations) });
}
