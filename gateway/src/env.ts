import { z } from 'zod';
import { serviceEnvShape } from '../../lib/config/common-env.js';
import { ConfigError, optionalFlag, httpUrl, parseEnv, port, secret, type EnvSource } from '../../lib/config/env.js';
import { inflightSharingFlag } from './inflight/sharing.js';
import { operationLimitsEnvShape } from './limits/env.js';
import { plannerEnvShape } from './planning/env.js';
import { clientConnectionEnvShape, drainEnvShape, protectionEnvShape } from './protection-env.js';
import { subscriptionEnvShape } from './subscriptions/env.js';

const gatewayEnvSchema = z.object({
  ...serviceEnvShape,
  ...protectionEnvShape,
  /** MAX_QUERY_DEPTH, _ALIASES, _ROOT_FIELDS, _TOKENS, _DIRECTIVES, _COST (limits/env.ts). */
  ...operationLimitsEnvShape,
  PORT: port(4000),
  JWT_SECRET: secret(),
  JWT_ISSUER: z.string().default('ai-code'),
  JWT_AUDIENCE: z.string().default('ai-code-api'),
  /** The supergraph to serve; subgraph URLs come from it unless SUBGRAPH_<NAME>_URL overrides one. */
  SUPERGRAPH_PATH: z.string().optional(),
  /** Largest accepted GraphQL request body, bytes. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Introspection; on by default outside production. */
  INTROSPECTION: optionalFlag(),
  /** The GraphQL IDE for browsers on GET /graphql; follows INTROSPECTION unless set (so off in production). */
  GRAPHQL_IDE: optionalFlag(),
  /** SUBSCRIPTIONS_*: caps per connection, user, address and gateway, queued events, anonymous (subscriptions/env.ts). */
  ...subscriptionEnvShape,
  ...drainEnvShape,
  /** HEADERS_TIMEOUT_MS, REQUEST_BODY_TIMEOUT_MS, MAX_CONNECTIONS_PER_IP (protection-env.ts). */
  ...clientConnectionEnvShape,
  /** Keep-alive connections held open to each subgraph; more concurrent fetches wait for one. */
  SUBGRAPH_CONNECTIONS: z.coerce.number().int().positive().default(128),
  /** Share identical in-flight work of the same caller: every layer, none, or those named (inflight/sharing.ts). */
  DEDUPLICATE_INFLIGHT: inflightSharingFlag,
  /** Approximate size of the query plan cache, MiB. */
  QUERY_PLAN_CACHE_MIB: z.coerce.number().positive().default(30),
  /** QUERY_PLANNER_THREADS, QUERY_PLANNING_TIMEOUT_MS, QUERY_PLANNING_MAX_WAIT_MS (planning/env.ts). */
  ...plannerEnvShape,
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema> & {
  /** SUBGRAPH_<NAME>_URL overrides, keyed by lower-case subgraph name. */
  subgraphUrls: Record<string, string>;
  introspection: boolean;
  ide: boolean;
};

const SUBGRAPH_URL = /^SUBGRAPH_([A-Z0-9_]+)_URL$/;

export function parseGatewayEnv(source: EnvSource): GatewayEnv {
  const env = parseEnv(gatewayEnvSchema, source);
  const subgraphUrls: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(source)) {
    const match = SUBGRAPH_URL.exec(key);
    if (!match || !value) continue;
    const parsed = httpUrl().safeParse(value);
    if (parsed.success) subgraphUrls[match[1]!.toLowerCase()] = parsed.data;
    else problems.push(`${key}: ${parsed.error.issues[0]?.message ?? 'invalid URL'}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const introspection = env.INTROSPECTION ?? env.NODE_ENV !== 'production';
  return { ...env, subgraphUrls, introspection, ide: env.GRAPHQL_IDE ?? introspection };
}

/** The one place the gateway reads process.env. */
export const readGatewayEnv = (): GatewayEnv => parseGatewayEnv(process.env);
