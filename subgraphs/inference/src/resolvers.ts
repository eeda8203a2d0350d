import type DataLoader from 'dataloader';
import { isOwnerOrAdminInProject } from '../../../lib/auth/access.js';
import type { ParentPageKey } from '../../../lib/graphql/loaders.js';
import { pageArgs, toConnection, type PageArgs } from '../../../lib/graphql/pagination.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import type { PredictionSummary } from '../../../modules/predictions/predictions.repository.js';
import type { Context } from './context.js';
import type { PredictService } from './domain/predict.service.js';
import type { PredictionsService } from './domain/predictions.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

/** A model's page of `rows`: empty unless the caller may use the model (its owner, or an ADMIN). */
async function pageOfModel<T>(
  { identity, modelById }: Context,
  modelId: string,
  page: PageArgs,
  rows: DataLoader<ParentPageKey, T[], string>,
): Promise<T[]> {
  const model = await modelById.load(modelId);
  return isOwnerOrAdminInProject(identity, model?.owner_id, model?.project_id)
    ? rows.load({ parentId: modelId, page })
    : [];
}

export function createResolvers(predict: PredictService, predictions: PredictionsService): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      prediction: (_, { id }, { identity }) => predictions.findVisible(identity, id),
    },
    Mutation: {
      predict: (_, { modelId, inputs }, { identity }) => predict.predict(identity, modelId, inputs),
      startPrediction: (_, { input }, { identity }) => predictions.start(identity, input),
      cancelPrediction: (_, { id }, { identity }) => predictions.cancel(identity, id),
    },
    Subscription: {
      predictionProgress: {
        subscribe: (_, { id }, { identity }) => predictions.watch(identity, id),
        resolve: (prediction: PredictionSummary) => prediction,
      },
    },
    Model: {
      inferenceRequests: async ({ id }, args, context) => {
        const page = pageArgs(args);
        const rows = await pageOfModel(context, id, page, context.inferenceRequestsOfModel);
        return toConnection(rows, page.first, (row) => row.requested_at);
      },
      predictions: async ({ id }, args, context) => {
        const page = pageArgs(args);
        return toConnection(await pageOfModel(context, id, page, context.predictionsOfModel), page.first);
      },
    },
    InferenceRequest: {
      model: (request) => ({ id: request.model_id }),
      requestedAt: (request) => request.requested_at,
      durationMs: (request) => request.duration_ms,
    },
    Prediction: {
      __resolveReference: async ({ id }, { identity, predictionById }) => {
        const prediction = await predictionById.load(id);
        return prediction && isOwnerOrAdminInProject(identity, prediction.owner_id, prediction.project_id)
          ? prediction
          : null;
      },
      model: (prediction) => ({ id: prediction.model_id }),
      progress: (prediction) => prediction.items_done / prediction.items_total,
      itemsTotal: (prediction) => prediction.items_total,
      itemsDone: (prediction) => prediction.items_done,
      // Outputs are complete only once the job succeeded; partial results are not an answer.
      outputs: (prediction) => (prediction.status === 'SUCCEEDED' ? prediction.outputs : null),
      createdAt: (prediction) => prediction.created_at,
      startedAt: (prediction) => prediction.started_at,
      finishedAt: (prediction) => prediction.finished_at,
      // The parent is a prediction the caller may see (every path to one authorizes it).
      webhookDeliveries: async ({ id }, args, { deliveriesOfPrediction }) => {
        const page = pageArgs(args);
        return toConnection(await deliveriesOfPrediction.load({ parentId: id, page }), page.first);
      },
    },
    WebhookDelivery: {
      lastStatus: (delivery) => delivery.last_status,
      lastAttemptAt: (delivery) => delivery.last_attempt_at,
    },
  };
}
