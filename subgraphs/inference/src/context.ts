import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, InferenceRequestRow } from '../../../lib/db/schema.js';
import { isUuid, type PageArgs } from '../../../lib/graphql/pagination.js';
import {
  findPredictionsByIds,
  listPredictionsOfModels,
  type PredictionSummary,
} from '../../../modules/predictions/predictions.repository.js';
import { findServableModels } from '../../../lib/inference/servable-model.js';
import { listInferenceRequestsOfModels } from './data/inference-requests.repository.js';

type ModelPageKey = { modelId: string; page: PageArgs };

const pageKey = (key: ModelPageKey): string =>
  `${key.page.first}:${key.page.after ? `${key.page.after.createdAt.toISOString()}/${key.page.after.id}` : ''}|${key.modelId}`;

/** A loader of per-model pages: keys asking for the same page of different models share one query. */
function pagesOfModels<T>(
  list: (modelIds: string[], page: PageArgs) => Promise<Map<string, T[]>>,
): DataLoader<ModelPageKey, T[], string> {
  return new DataLoader(
    async (keys) => {
      const groups = new Map<string, ModelPageKey[]>();
      for (const key of keys) {
        const group = pageKey({ ...key, modelId: '' });
        groups.set(group, [...(groups.get(group) ?? []), key]);
      }
      const results = new Map<string, T[]>();
      for (const group of groups.values()) {
        const rows = await list([...new Set(group.map((k) => k.modelId).filter(isUuid))], group[0]!.page);
        for (const key of group) results.set(pageKey(key), rows.get(key.modelId) ?? []);
      }
      return keys.map((key) => results.get(pageKey(key)) ?? []);
    },
    { cacheKeyFn: pageKey },
  );
}

export type Context = {
  identity: Identity | null;
  /** Owners of models, to authorize `Model.inferenceRequests` / `Model.predictions`. */
  modelOwner: DataLoader<string, string | null>;
  predictionById: DataLoader<string, PredictionSummary | null>;
  inferenceRequestsOfModel: DataLoader<ModelPageKey, InferenceRequestRow[], string>;
  predictionsOfModel: DataLoader<ModelPageKey, PredictionSummary[], string>;
};

export function createContext(db: Kysely<Database>, identity: Identity | null): Context {
  return {
    identity,
    modelOwner: new DataLoader(async (ids) => {
      const rows = await findServableModels(db, ids.filter(isUuid));
      const owners = new Map(rows.map((row) => [row.id, row.owner_id]));
      return ids.map((id) => owners.get(id) ?? null);
    }),
    predictionById: new DataLoader(async (ids) => {
      const rows = await findPredictionsByIds(db, ids.filter(isUuid));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    inferenceRequestsOfModel: pagesOfModels((ids, page) => listInferenceRequestsOfModels(db, ids, page)),
    predictionsOfModel: pagesOfModels((ids, page) => listPredictionsOfModels(db, ids, page)),
  };
}
