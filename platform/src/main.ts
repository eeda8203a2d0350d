import { objectStoreConfig, uploadPace } from '../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../lib/config/env.js';
import { operationLimitsFromEnv } from '../../gateway/src/limits/env.js';
import { clientHttpLimits, protectionOptions } from '../../gateway/src/protection-env.js';
import { plannerFromEnv } from '../../gateway/src/planning/env.js';
import { subscriptionLimitsFromEnv } from '../../gateway/src/subscriptions/env.js';
import { inferenceSettings } from '../../lib/inference/settings.js';
import { createLogger } from '../../lib/logger.js';
import { stopOnSignals } from '../../lib/process/lifecycle.js';
import { demoBanner, seedDemoOnFirstStart } from './demo.js';
import { readPlatformEnv } from './env.js';
import { loadOrCreateLocalSecrets } from './secrets.js';
import { startPlatform } from './start-platform.js';
import { makePrivateDir, PRIVATE_UMASK } from '../../lib/storage/private-files.js';

const env = loadEnvOrExit(readPlatformEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
// The embedded default's DATA_DIR is all the platform's: private, fixing an older version's modes.
await makePrivateDir(env.DATA_DIR);
const logger = createLogger('platform', env.LOG_LEVEL);
const secrets =
  env.JWT_SECRET && env.INTERNAL_SECRET
    ? { jwtSecret: env.JWT_SECRET, internalSecret: env.INTERNAL_SECRET }
    : await loadOrCreateLocalSecrets(env.DATA_DIR);

const platform = await startPlatform({
  host: env.HOST,
  port: env.PORT,
  subgraphBasePort: env.SUBGRAPH_BASE_PORT,
  databaseUrl: env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  accessTokens: {
    secret: env.JWT_SECRET ?? secrets.jwtSecret,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    ttlSeconds: env.ACCESS_TOKEN_TTL,
  },
  refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
  internalSecret: env.INTERNAL_SECRET ?? secrets.internalSecret,
  admin: env.ADMIN_EMAIL && env.ADMIN_PASSWORD ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } : undefined,
  maxBodyBytes: env.MAX_BODY_BYTES,
  objectStore: objectStoreConfig(env),
  mongo: env.MONGO_URL ? { url: env.MONGO_URL, database: env.MONGO_DATABASE } : undefined,
  publicUrl: env.PUBLIC_URL,
  uploadTtlSeconds: env.UPLOAD_URL_TTL,
  maxModelBytes: env.MAX_MODEL_BYTES,
  redisUrl: env.REDIS_URL,
  amqpUrl: env.AMQP_URL,
  queueName: env.QUEUE_NAME,
  queueMaxDeliveries: env.QUEUE_MAX_DELIVERIES,
  inference: inferenceSettings(env),
  gatewayProtections: protectionOptions(env),
  operationLimits: operationLimitsFromEnv(env),
  subscriptions: subscriptionLimitsFromEnv(env),
  planner: plannerFromEnv(env),
  drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
  http: clientHttpLimits(env),
  uploadPace: uploadPace(env),
  production: env.NODE_ENV === 'production',
  introspection: env.INTROSPECTION ?? env.NODE_ENV !== 'production',
  ide: env.GRAPHQL_IDE ?? env.INTROSPECTION ?? env.NODE_ENV !== 'production',
  logger: (service) => createLogger(service, env.LOG_LEVEL),
});

logger.info(
  { url: platform.url, database: platform.database.kind === 'pglite' ? `embedded (${env.DATA_DIR})` : 'postgres' },
  'ai-code is running',
);
const demo = await seedDemoOnFirstStart(env.DEMO, platform, logger);
process.stdout.write(`\n  ai-code gateway ready at ${platform.url}\n${demo ? demoBanner(platform.url, demo) : ''}\n`);
stopOnSignals(logger, () => platform.close(), env.DRAIN_TIMEOUT_MS + 15_000);
