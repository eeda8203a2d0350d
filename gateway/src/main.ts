import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisRevocationFeed, watchRevocations } from '../../lib/auth/revocations.js';
import { loadEnvOrExit } from '../../lib/config/env.js';
import { createLogger } from '../../lib/logger.js';
import { stopOnSignals } from '../../lib/process/lifecycle.js';
import { projectRoot } from '../../lib/project-root.js';
import { createAuthenticator } from './auth.js';
import { createGateway } from './create-gateway.js';
import { readGatewayEnv } from './env.js';
import { operationLimitsFromEnv } from './limits/env.js';
import { clientHttpLimits, protectionOptions } from './protection-env.js';
import { plannerFromEnv } from './planning/env.js';
import { subscriptionLimitsFromEnv } from './subscriptions/env.js';

const env = loadEnvOrExit(readGatewayEnv);
const logger = createLogger('gateway', env.LOG_LEVEL);
// Logout, refresh-token reuse and role changes, published by the users service through Redis.
const revocationFeed = env.REDIS_URL ? createRedisRevocationFeed({ url: env.REDIS_URL, logger }) : undefined;
const revocations = revocationFeed ? await watchRevocations(revocationFeed) : undefined;
if (!revocations) logger.warn('REDIS_URL is not set: access tokens are not revoked before they expire');
const gateway = await createGateway({
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH ?? join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
  subgraphUrls: env.subgraphUrls,
  authenticator: createAuthenticator(
    { secret: env.JWT_SECRET, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
    env.INTERNAL_SECRET,
    revocations,
  ),
  logger,
  maxBodyBytes: env.MAX_BODY_BYTES,
  introspection: env.introspection,
  hideSchemaDetails: env.NODE_ENV === 'production' || !env.introspection,
  operationLimits: operationLimitsFromEnv(env),
  protections: protectionOptions(env),
  ide: env.ide,
  subscriptions: subscriptionLimitsFromEnv(env),
  drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
  http: clientHttpLimits(env),
  subgraphConnections: env.SUBGRAPH_CONNECTIONS,
  deduplicateInflight: env.DEDUPLICATE_INFLIGHT,
  queryPlanCacheMiB: env.QUERY_PLAN_CACHE_MIB,
  planner: plannerFromEnv(env),
});
const url = await gateway.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'gateway listening');
// The drain, then the rest of closing, within the process's own deadline.
stopOnSignals(
  logger,
  async () => {
    await gateway.close();
    revocations?.close();
    await revocationFeed?.close();
  },
  env.DRAIN_TIMEOUT_MS + 15_000,
);
