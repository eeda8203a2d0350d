import type DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, UserRow } from '../../../lib/db/schema.js';
import { createByIdLoader } from '../../../lib/graphql/loaders.js';
import { findUsersByIds } from './data/users.repository.js';

export type Context = {
  identity: Identity | null;
  /** Per request, so N `User` references in one `_entities` call cost one query. */
  userById: DataLoader<string, UserRow | null>;
};

export function createContext(db: Kysely<Database>, identity: Identity | null): Context {
  return { identity, userById: createByIdLoader((ids) => findUsersByIds(db, ids)) };
}
