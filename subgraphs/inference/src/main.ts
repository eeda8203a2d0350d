import { objectStoreConfig, queueConfig, serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { createResultCache } from '../../../lib/cache/result-cache.js';
import { createInferenceRuntime } from '../../../lib/inference/runtime.js';
import { inferenceSettings } from '../../../lib/inference/settings.js';
import { openServiceProcess } from '../../../lib/process/service-process.js';
import { createJobQueue } from '../../../lib/queue/index.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { readInferenceEnv } from './env.js';
import { createInferenceSubgraph } from './server.js';

const env = loadEnvOrExit(readInferenceEnv);
const { logger, database, pubsub, metrics: httpMetrics, events, serve } = await openServiceProcess('inference', env);
const store = await createObjectStore(objectStoreConfig(env));
const queue = await createJobQueue({ ...queueConfig(env), logger });
const settings = inferenceSettings(env);
const cache = createResultCache({
  ...settings.resultCache,
  redisUrl: env.REDIS_URL,
  redisCaFile: env.REDIS_CA_FILE,
  onError: (error) => logger.warn({ err: error }, 'result cache unavailable'),
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
  events,
  ...serviceConfig(env),
  predictLimits: settings.predictLimits,
  batchLimits: settings.batchLimits,
  requestLog: settings.requestLog,
  webhooks: { allowPrivate: env.WEBHOOK_ALLOW_PRIVATE },
});
const url = await serve(subgraph, [runner, cache, queue, store]);
logger.info({ url: `${url}/graphql` }, 'inference subgraph listening');
