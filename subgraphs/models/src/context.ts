import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { ownerScope } from '../../../lib/auth/access.js';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database } from '../../../lib/db/schema.js';
import type { JsonObject } from '../../../lib/docstore/index.js';
import { createByIdLoader, createFilteredPageLoader, type FilteredPageKey } from '../../../lib/graphql/loaders.js';
import type { ModelParent } from './data/mappers.js';
import { findModelsByIds, listModelsOfProjects, type ModelFilter } from './data/models.repository.js';
import type { ModelsService } from './domain/models.service.js';

export type Context = {
  identity: Identity | null;
  /** Per request: N references, N `Project.models` or N `Model.metrics` in one request cost one query each. */
  modelById: DataLoader<string, ModelParent | null>;
  /** Models by project (the parent), under a filter (`{}`: all of them). */
  modelsOfProject: DataLoader<FilteredPageKey<ModelFilter>, ModelParent[], string>;
  metricsOfModel: DataLoader<string, JsonObject | null>;
  aliasesOfModel: DataLoader<string, string[]>;
};

/** A filter's canonical spelling: equal filters share a query. */
const filterKey = (filter: ModelFilter): string =>
  JSON.stringify([
    filter.name ?? null,
    filter.status ?? null,
    (filter.tags ?? []).map((t) => [t.key, t.value ?? null]),
  ]);

export function createContext(db: Kysely<Database>, models: ModelsService, identity: Identity | null): Context {
  return {
    identity,
    modelById: createByIdLoader((ids) => findModelsByIds(db, ids)),
    // Only the owner's projects (or any, for ADMIN) list models: a foreign project shows none.
    modelsOfProject: createFilteredPageLoader(
      async (projectIds, page, filter: ModelFilter) =>
        identity ? listModelsOfProjects(db, projectIds, page, ownerScope(identity), filter) : new Map(),
      filterKey,
    ),
    metricsOfModel: new DataLoader(async (ids) => {
      const found = await models.metricsOf(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    aliasesOfModel: new DataLoader(async (ids) => {
      const found = await models.aliasesOf(ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
  };
}
