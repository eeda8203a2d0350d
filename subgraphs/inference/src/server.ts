import type { Kysely } from 'kysely';
import type { ResultCache } from '../../../lib/cache/result-cache.js';
import { pingDatabase } from '../../../lib/db/connect.js';
import type { Database } from '../../../lib/db/schema.js';
import type { HttpMetrics } from '../../../lib/http/metrics.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { InferenceMetrics } from '../../../lib/inference/metrics.js';
import type { ModelRunner } from '../../../lib/inference/model-runner.js';
import type { Logger } from '../../../lib/logger.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import type { JobQueue } from '../../../lib/queue/index.js';
import { createSubgraphServer } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createPredictService, type PredictLimits } from './domain/predict.service.js';
import { createPredictionsService, type BatchLimits } from './domain/predictions.service.js';
import { createResolvers } from './resolvers.js';

export type InferenceSubgraphDeps = {
  db: Kysely<Database>;
  runner: ModelRunner;
  cache: ResultCache;
  queue: JobQueue;
  pubsub: PubSub;
  metrics: InferenceMetrics;
  /** The service's HTTP metrics; the inference metrics are registered in its registry. */
  httpMetrics: HttpMetrics;
  logger: Logger;
  events: PlatformLog;
  internalSecret: string;
  production: boolean;
  predictLimits: PredictLimits;
  batchLimits: BatchLimits;
};

export async function createInferenceSubgraph(deps: InferenceSubgraphDeps): Promise<ServiceServer> {
  const predict = createPredictService({ ...deps, limits: deps.predictLimits });
  const predictions = createPredictionsService({ ...deps, predict, limits: deps.batchLimits });
  return createSubgraphServer({
    name: 'inference',
    resolvers: createResolvers(predict, predictions),
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    production: deps.production,
    metrics: deps.httpMetrics,
    createContext: (identity) => createContext(deps.db, identity),
    readiness: () => pingDatabase(deps.db),
  });
}
