import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { ownerScope } from '../../../lib/auth/access.js';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database } from '../../../lib/db/schema.js';
import type { JsonObject } from '../../../lib/docstore/index.js';
import { createByIdLoader, createPageLoader, type ParentPageKey } from '../../../lib/graphql/loaders.js';
import type { ModelParent } from './data/mappers.js';
import { findModelsByIds, listModelsOfProjects } from './data/models.repository.js';
import type { ModelsService } from './domain/models.service.js';

export type Context = {
  identity: Identity | null;
  /** Per request: N references, N `Project.models` or N `Model.metrics` in one request cost one query each. */
  modelById: DataLoader<string, ModelParent | null>;
  /** Models by project (the parent). */
  modelsOfProject: DataLoader<ParentPageKey, ModelParent[], string>;
  metricsOfModel: DataLoader<string, JsonObject | null>;
};

export function createContext(db: Kysely<Database>, models: ModelsService, identity: Identity | null): Context {
  return {
    identity,
    modelById: createByIdLoader((ids) => findModelsByIds(db, ids)),
    // Only the owner's projects (or any, for ADMIN) list models: a foreign project shows none.
    modelsOfProject: createPageLoader(async (projectIds, page) =>
      identity ? listModelsOfProjects(db, projectIds, page, ownerScope(identity)) : new Map(),
    ),
    metricsOfModel: new DataLoader(async (ids) => {
      const found = await models.metricsOf(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
  };
}
