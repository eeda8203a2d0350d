import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, ProjectRow } from '../../../lib/db/schema.js';
import { isUuid, type PageArgs } from '../../../lib/graphql/pagination.js';
import { findProjectsByIds, listProjectsOfOwners } from './data/projects.repository.js';

type OwnerPageKey = { ownerId: string; page: PageArgs };

const pageKey = (page: PageArgs): string =>
  `${page.first}:${page.after ? `${page.after.createdAt.toISOString()}/${page.after.id}` : ''}`;

export type Context = {
  identity: Identity | null;
  /** Per-request loaders: N entity references or N `User.projects` in one request cost one query. */
  projectById: DataLoader<string, ProjectRow | null>;
  projectsOfOwner: DataLoader<OwnerPageKey, ProjectRow[], string>;
};

export function createContext(db: Kysely<Database>, identity: Identity | null): Context {
  return {
    identity,
    projectById: new DataLoader(async (ids) => {
      const rows = await findProjectsByIds(db, ids.filter(isUuid));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    projectsOfOwner: new DataLoader(
      async (keys) => {
        // Keys asking for the same page (the usual case: one field, many users) share one query.
        const groups = new Map<string, OwnerPageKey[]>();
        for (const key of keys) {
          const group = groups.get(pageKey(key.page)) ?? [];
          group.push(key);
          groups.set(pageKey(key.page), group);
        }
        const results = new Map<string, ProjectRow[]>();
        for (const [groupKey, group] of groups) {
          const ownerIds = [...new Set(group.map((k) => k.ownerId).filter(isUuid))];
          const rows = await listProjectsOfOwners(db, ownerIds, group[0]!.page);
          for (const [ownerId, projects] of rows) results.set(`${groupKey}|${ownerId}`, projects);
        }
        return keys.map((key) => results.get(`${pageKey(key.page)}|${key.ownerId}`) ?? []);
      },
      { cacheKeyFn: (key) => `${pageKey(key.page)}|${key.ownerId}` },
    ),
  };
}
