import type { ApiKeyRow, UserRow } from '../../../../lib/db/schema.js';

/** What resolvers receive as the parent of a `User`: its row. */
export type UserParent = UserRow;

/** What resolvers receive as the parent of an `ApiKey`: its row. */
export type ApiKeyParent = ApiKeyRow;
