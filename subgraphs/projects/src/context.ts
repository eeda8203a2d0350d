import type DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, ProjectRow } from '../../../lib/db/schema.js';
import { createByIdLoader, createPageLoader, type ParentPageKey } from '../../../lib/graphql/loaders.js';
import { findProjectsByIds, listProjectsOfOwners } from './data/projects.repository.js';

export type Context = {
  identity: Identity | null;
  /** Per-request loaders: N entity references or N `User.projects` in one request cost one query. */
  projectById: DataLoader<string, ProjectRow | null>;
  /** Projects by owner (the parent is the user). */
  projectsOfOwner: DataLoader<ParentPageKey, ProjectRow[], string>;
};

export function createContext(db: Kysely<Database>, identity: Identity | null): Context {
  return {
    identity,
    projectById: createByIdLoader((ids) => findProjectsByIds(db, ids)),
    projectsOfOwner: createPageLoader((ownerIds, page) => listProjectsOfOwners(db, ownerIds, page)),
  };
}
