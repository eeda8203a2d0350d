import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisRevocationFeed, watchRevocations } from '../../lib/auth/revocations.js';
import { loadEnvOrExit } from '../../lib/config/env.js';
import { createLogger } from '../../lib/logger.js';
import { reloadOnSighup, stopOnSignals } from '../../lib/process/lifecycle.js';
import { projectRoot } from '../../lib/project-root.js';
import { startTelemetry } from '../../lib/telemetry/index.js';
import { composeGateway, gatewayConfig } from './config.js';
import { readGatewayEnv } from './env.js';

const env = loadEnvOrExit(readGatewayEnv);
const logger = createLogger('gateway', env.LOG_LEVEL);
const telemetry = await startTelemetry('gateway', env, logger);
// Logout, refresh-token reuse and role changes, published by the users service through Redis.
const revocationFeed = env.REDIS_URL
  ? createRedisRevocationFeed({ url: env.REDIS_URL, caFile: env.REDIS_CA_FILE, logger })
  : undefined;
const revocations = revocationFeed ? await watchRevocations(revocationFeed) : undefined;
if (!revocations) logger.warn('REDIS_URL is not set: access tokens are not revoked before they expire');
const gateway = await composeGateway({
  ...gatewayConfig(env),
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH ?? join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
  subgraphUrls: env.subgraphUrls,
  internalSecret: env.INTERNAL_SECRET,
  revocations,
  logger,
});
const url = await gateway.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'gateway listening');
reloadOnSighup(logger, () => gateway.reloadTls());
// The drain, then the rest of closing, within the process's own deadline.
stopOnSignals(
  logger,
  async () => {
    await gateway.close();
    revocations?.close();
    await revocationFeed?.close();
    await telemetry.close();
  },
  env.DRAIN_TIMEOUT_MS + 15_000,
);
