import { objectStoreConfig, queueConfig, webhookQueueConfig } from '../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../lib/config/env.js';
import { pingDatabase } from '../../lib/db/connect.js';
import { createServiceServer } from '../../lib/http/service-server.js';
import { createInferenceRuntime } from '../../lib/inference/runtime.js';
import { inferenceSettings } from '../../lib/inference/settings.js';
import { closeInOrder, stopOnSignals } from '../../lib/process/lifecycle.js';
import { openServiceProcess } from '../../lib/process/service-process.js';
import { createJobQueue } from '../../lib/queue/index.js';
import { registerQueueMetrics } from '../../lib/queue/metrics.js';
import { createObjectStore } from '../../lib/storage/create-object-store.js';
import { webhookSettings } from '../../lib/webhooks/settings.js';
import { createWebhookSender, startWebhookWorker } from '../../modules/predictions/webhook-sender.js';
import { readWorkerEnv } from './env.js';
import { createWorkerMetrics } from './metrics.js';
import { startPredictionWorker } from './prediction-worker.js';

// The batch prediction worker: consumes jobs, runs them in chunks, records progress and results.
const env = loadEnvOrExit(readWorkerEnv);
const service = await openServiceProcess('worker', env);
const { logger, database, pubsub, metrics, events } = service;
const store = await createObjectStore(objectStoreConfig(env));
const queue = await createJobQueue({ ...queueConfig(env), logger });
// Webhook attempts go through a queue of their own, beside the prediction jobs'.
const webhookQueue = await createJobQueue({ ...webhookQueueConfig(queueConfig(env)), logger });
const webhooks = createWebhookSender({
  db: database.db,
  queue: webhookQueue,
  logger,
  events,
  settings: webhookSettings(env),
  registry: metrics.registry,
});
const webhookWorker = await startWebhookWorker(webhooks, {
  queue: webhookQueue,
  logger,
  settings: webhookSettings(env),
});
registerQueueMetrics(metrics.registry, queue, env.QUEUE_NAME, logger);
const settings = inferenceSettings(env);
const { runner } = createInferenceRuntime({
  store,
  dataDir: env.DATA_DIR,
  ...settings.sessions,
  registry: metrics.registry,
  logger,
});
const worker = await startPredictionWorker({
  db: database.db,
  queue,
  runner,
  pubsub,
  logger,
  events,
  webhooks,
  ...settings.worker,
  metrics: createWorkerMetrics(metrics.registry),
});
const health = createServiceServer({
  logger,
  metrics,
  graphql: async (_req, res) => {
    res.statusCode = 404;
    res.end();
  },
  readiness: () => pingDatabase(database.db),
});
const url = await health.listen(env.PORT, env.HOST);
logger.info({ health: url, queue: queue.kind }, 'worker consuming prediction jobs');
process.stdout.write(`worker ready (health at ${url})\n`);
// First stop taking jobs and let the running chunks finish; an interrupted job is redelivered and
// resumes. The platform log closes after them, so it flushes their last entries.
stopOnSignals(logger, () =>
  closeInOrder([
    { close: () => worker.stop() },
    { close: () => webhookWorker.stop() },
    health,
    runner,
    queue,
    webhookQueue,
    store,
    service,
  ]),
);
