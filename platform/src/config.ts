import { databaseUrlOf, objectStoreConfig, serviceConfig } from '../../lib/config/common-env.js';
import { inferenceSettings } from '../../lib/inference/settings.js';
import type { Logger } from '../../lib/logger.js';
import { webhookSettings } from '../../lib/webhooks/settings.js';
import { gatewayConfig } from '../../gateway/src/config.js';
import { logsConfig } from '../../subgraphs/logs/src/config.js';
import { modelsConfig } from '../../subgraphs/models/src/config.js';
import { projectsConfig } from '../../subgraphs/projects/src/config.js';
import { usersConfig } from '../../subgraphs/users/src/config.js';
import type { PlatformEnv } from './env.js';
import type { LocalSecrets } from './secrets.js';
import type { PlatformConfig } from './start-platform.js';

/**
 * What the platform's environment says: each service's configuration from the same function its
 * own process calls, the infrastructure's once for all. Secrets left unset are the local ones.
 */
export function platformConfig(
  env: PlatformEnv,
  secrets: LocalSecrets,
  logger: (service: string) => Logger,
): PlatformConfig {
  const resolved = {
    ...env,
    JWT_SECRET: env.JWT_SECRET ?? secrets.jwtSecret,
    INTERNAL_SECRET: env.INTERNAL_SECRET ?? secrets.internalSecret,
  };
  return {
    host: env.HOST,
    port: env.PORT,
    subgraphBasePort: env.SUBGRAPH_BASE_PORT,
    subgraphTransport: env.SUBGRAPH_TRANSPORT,
    databaseUrl: databaseUrlOf(env),
    dataDir: env.DATA_DIR,
    ...serviceConfig(resolved),
    objectStore: objectStoreConfig(env),
    mongo: env.MONGO_URL ? { url: env.MONGO_URL, database: env.MONGO_DATABASE } : undefined,
    redisUrl: env.REDIS_URL,
    redisCaFile: env.REDIS_CA_FILE,
    amqpUrl: env.AMQP_URL,
    amqpCaFile: env.AMQP_CA_FILE,
    queueName: env.QUEUE_NAME,
    queueMaxDeliveries: env.QUEUE_MAX_DELIVERIES,
    gateway: gatewayConfig(resolved),
    users: usersConfig(resolved),
    projects: projectsConfig(resolved),
    models: modelsConfig(resolved),
    inference: inferenceSettings(resolved),
    webhooks: webhookSettings(resolved),
    logs: logsConfig(resolved),
    logger,
  };
}
