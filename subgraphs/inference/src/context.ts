import type DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, InferenceRequestRow, WebhookDeliveryRow } from '../../../lib/db/schema.js';
import { createByIdLoader, createPageLoader, type ParentPageKey } from '../../../lib/graphql/loaders.js';
import {
  findPredictionsByIds,
  listPredictionsOfModels,
  type PredictionSummary,
} from '../../../modules/predictions/predictions.repository.js';
import { listDeliveriesOfPredictions } from '../../../modules/predictions/webhook-deliveries.repository.js';
import { findServableModels, type ServableModel } from '../../../lib/inference/servable-model.js';
import type { InferenceRequestLog } from './data/inference-request-log.js';
import { listInferenceRequestsOfModels } from './data/inference-requests.repository.js';

export type Context = {
  identity: Identity | null;
  /** Models with their owners, to authorize `Model.inferenceRequests` / `Model.predictions`. */
  modelById: DataLoader<string, ServableModel | null>;
  predictionById: DataLoader<string, PredictionSummary | null>;
  /** Inference requests and predictions by model (the parent). */
  inferenceRequestsOfModel: DataLoader<ParentPageKey, InferenceRequestRow[], string>;
  predictionsOfModel: DataLoader<ParentPageKey, PredictionSummary[], string>;
  /** Webhook deliveries by prediction (the parent, already authorized). */
  deliveriesOfPrediction: DataLoader<ParentPageKey, WebhookDeliveryRow[], string>;
};

/** `requestLog`: written out before the history is read, so a caller sees every call of theirs that returned. */
export function createContext(
  db: Kysely<Database>,
  requestLog: InferenceRequestLog,
  identity: Identity | null,
): Context {
  return {
    identity,
    modelById: createByIdLoader((ids) => findServableModels(db, ids)),
    predictionById: createByIdLoader((ids) => findPredictionsByIds(db, ids)),
    inferenceRequestsOfModel: createPageLoader(async (ids, page) => {
      await requestLog.flush();
      return listInferenceRequestsOfModels(db, ids, page);
    }),
    predictionsOfModel: createPageLoader((ids, page) => listPredictionsOfModels(db, ids, page)),
    deliveriesOfPrediction: createPageLoader((ids, page) => listDeliveriesOfPredictions(db, ids, page)),
  };
}
