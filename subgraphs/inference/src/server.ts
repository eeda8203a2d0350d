import type { ResultCache } from '../../../lib/cache/result-cache.js';
import type { HttpMetrics } from '../../../lib/http/metrics.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { InferenceMetrics } from '../../../lib/inference/metrics.js';
import type { ModelRunner } from '../../../lib/inference/model-runner.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import type { JobQueue } from '../../../lib/queue/index.js';
import type { DestinationPolicy } from '../../../lib/webhooks/destination.js';
import { createSubgraphServer, subgraphServerBase, type SubgraphBase } from '../../../lib/subgraph/create-subgraph.js';
import { createServableModelCache } from '../../../lib/inference/servable-model-cache.js';
import { createContext } from './context.js';
import { createInferenceRequestLog, type InferenceRequestLogSettings } from './data/inference-request-log.js';
import { createPredictService, type PredictLimits } from './domain/predict.service.js';
import { createPredictionsService, type BatchLimits } from './domain/predictions.service.js';
import { createResolvers } from './resolvers.js';

export type InferenceSubgraphDeps = Omit<SubgraphBase, 'metrics'> & {
  runner: ModelRunner;
  cache: ResultCache;
  queue: JobQueue;
  pubsub: PubSub;
  metrics: InferenceMetrics;
  /** The service's HTTP metrics; the inference metrics are registered in its registry. */
  httpMetrics: HttpMetrics;
  events: PlatformLog;
  predictLimits: PredictLimits;
  batchLimits: BatchLimits;
  /** Write-behind of `inference_requests`. */
  requestLog: InferenceRequestLogSettings;
  /** WEBHOOK_ALLOW_PRIVATE: what startPrediction accepts as a webhook URL. */
  webhooks: DestinationPolicy;
};

export type InferenceSubgraph = ServiceServer & {
  /** Writes out every inference request recorded so far (tests read the table directly). */
  flushInferenceRequests(): Promise<void>;
};

export async function createInferenceSubgraph(deps: InferenceSubgraphDeps): Promise<InferenceSubgraph> {
  const requestLog = createInferenceRequestLog(deps.db, deps.logger, deps.requestLog);
  const models = await createServableModelCache({ db: deps.db, pubsub: deps.pubsub, logger: deps.logger });
  const predict = createPredictService({ ...deps, models, requestLog, limits: deps.predictLimits });
  const predictions = createPredictionsService({
    ...deps,
    predict,
    limits: deps.batchLimits,
    webhookPolicy: deps.webhooks,
  });
  const server = await createSubgraphServer({
    name: 'inference',
    resolvers: createResolvers(predict, predictions),
    ...subgraphServerBase({ ...deps, metrics: deps.httpMetrics }),
    createContext: (identity) => createContext(deps.db, requestLog, identity),
  });
  let closing: Promise<void> | undefined;
  return {
    ...server,
    flushInferenceRequests: () => requestLog.flush(),
    // The requests in flight finish (and are recorded), then what is held is written, before the database closes.
    close: () =>
      (closing ??= (async () => {
        try {
          await server.close();
        } finally {
          await requestLog.close();
          await models.close();
        }
      })()),
  };
}
