import { objectStoreConfig, queueConfig, serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { createResultCache } from '../../../lib/cache/result-cache.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createHttpMetrics } from '../../../lib/http/metrics.js';
import { createInferenceRuntime } from '../../../lib/inference/runtime.js';
import { inferenceSettings } from '../../../lib/inference/settings.js';
import { createLogger } from '../../../lib/logger.js';
import { openPlatformLog } from '../../../lib/platform-log/open.js';
import { closeInOrder, stopOnSignals } from '../../../lib/process/lifecycle.js';
import { createPubSub } from '../../../lib/pubsub/index.js';
import { createJobQueue } from '../../../lib/queue/index.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { readInferenceEnv } from './env.js';
import { createInferenceSubgraph } from './server.js';
import { PRIVATE_UMASK } from '../../../lib/storage/private-files.js';

const env = loadEnvOrExit(readInferenceEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
const logger = createLogger('inference', env.LOG_LEVEL);
const database = await openDatabase(env, logger);
const store = await createObjectStore(objectStoreConfig(env));
const pubsub = await createPubSub({ redisUrl: env.REDIS_URL, logger });
const queue = await createJobQueue({ ...queueConfig(env), logger });
const settings = inferenceSettings(env);
const cache = createResultCache({
  ...settings.resultCache,
  redisUrl: env.REDIS_URL,
  onError: (error) => logger.warn({ err: error }, 'result cache unavailable'),
});
const httpMetrics = createHttpMetrics('inference');
const central = await openPlatformLog({
  service: 'inference',
  logger,
  db: database.db,
  env,
  registry: httpMetrics.registry,
});
const { runner, metrics } = createInferenceRuntime({
  store,
  dataDir: env.DATA_DIR,
  ...settings.sessions,
  registry: httpMetrics.registry,
  logger,
});
const subgraph = await createInferenceSubgraph({
  db: database.db,
  runner,
  cache,
  queue,
  pubsub,
  metrics,
  httpMetrics,
  logger,
  events: central.events,
  ...serviceConfig(env),
  predictLimits: settings.predictLimits,
  batchLimits: settings.batchLimits,
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'inference subgraph listening');
stopOnSignals(logger, () => closeInOrder([subgraph, central, runner, cache, queue, pubsub, store, database]));
