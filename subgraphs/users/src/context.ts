import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Identity } from '../../../lib/auth/identity.js';
import type { Database, UserRow } from '../../../lib/db/schema.js';
import { isUuid } from '../../../lib/graphql/pagination.js';
import { findUsersByIds } from './data/users.repository.js';

export type Context = {
  identity: Identity | null;
  /** Per request, so N `User` references in one `_entities` call cost one query. */
  userById: DataLoader<string, UserRow | null>;
};

export function createContext(db: Kysely<Database>, identity: Identity | null): Context {
  return {
    identity,
    userById: new DataLoader(async (ids) => {
      const rows = await findUsersByIds(db, ids.filter(isUuid));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
