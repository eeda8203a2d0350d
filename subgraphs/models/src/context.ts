import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database } from '../../../lib/db/schema.js';
import type { JsonObject } from '../../../lib/docstore/index.js';
import { isUuid, type PageArgs } from '../../../lib/graphql/pagination.js';
import type { ModelParent } from './data/mappers.js';
import { findModelsByIds, listModelsOfProjects } from './data/models.repository.js';
import type { ModelsService } from './domain/models.service.js';

type ProjectPageKey = { projectId: string; page: PageArgs };

const pageKey = (page: PageArgs): string =>
  `${page.first}:${page.after ? `${page.after.createdAt.toISOString()}/${page.after.id}` : ''}`;

export type Context = {
  identity: Identity | null;
  /** Per request: N references, N `Project.models` or N `Model.metrics` in one request cost one query each. */
  modelById: DataLoader<string, ModelParent | null>;
  modelsOfProject: DataLoader<ProjectPageKey, ModelParent[], string>;
  metricsOfModel: DataLoader<string, JsonObject | null>;
};

export function createContext(db: Kysely<Database>, models: ModelsService, identity: Identity | null): Context {
  // Only the owner's projects (or any, for ADMIN) list models: a foreign project shows none.
  const ownerFilter = identity?.role === 'ADMIN' ? undefined : identity?.userId;
  return {
    identity,
    modelById: new DataLoader(async (ids) => {
      const rows = await findModelsByIds(db, ids.filter(isUuid));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    modelsOfProject: new DataLoader(
      async (keys) => {
        if (!identity) return keys.map(() => []);
        const groups = new Map<string, ProjectPageKey[]>();
        for (const key of keys) groups.set(pageKey(key.page), [...(groups.get(pageKey(key.page)) ?? []), key]);
        const results = new Map<string, ModelParent[]>();
        for (const [groupKey, group] of groups) {
          const projectIds = [...new Set(group.map((k) => k.projectId).filter(isUuid))];
          const rows = await listModelsOfProjects(db, projectIds, group[0]!.page, ownerFilter);
          for (const [projectId, list] of rows) results.set(`${groupKey}|${projectId}`, list);
        }
        return keys.map((key) => results.get(`${pageKey(key.page)}|${key.projectId}`) ?? []);
      },
      { cacheKeyFn: (key) => `${pageKey(key.page)}|${key.projectId}` },
    ),
    metricsOfModel: new DataLoader(async (ids) => {
      const found = await models.metricsOf(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
  };
}
