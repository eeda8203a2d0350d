import { pageArgs, toConnection } from '../../../lib/graphql/pagination.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import { canUseModel, type PredictService } from './domain/predict.service.js';
import type { PredictionSummary } from '../../../modules/predictions/predictions.repository.js';
import { canSeePrediction, type PredictionsService } from './domain/predictions.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

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
      inferenceRequests: async ({ id }, args, { identity, modelOwner, inferenceRequestsOfModel }) => {
        const page = pageArgs(args);
        const owner = await modelOwner.load(id);
        if (!owner || !canUseModel(identity, { owner_id: owner })) return toConnection([], page.first);
        const rows = await inferenceRequestsOfModel.load({ modelId: id, page });
        return toConnection(rows, page.first, (row) => row.requested_at);
      },
      predictions: async ({ id }, args, { identity, modelOwner, predictionsOfModel }) => {
        const page = pageArgs(args);
        const owner = await modelOwner.load(id);
        if (!owner || !canUseModel(identity, { owner_id: owner })) return toConnection([], page.first);
        return toConnection(await predictionsOfModel.load({ modelId: id, page }), page.first);
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
        return prediction && canSeePrediction(identity, prediction) ? prediction : null;
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
    },
  };
}
