import type { UserRow } from '../../../../lib/db/schema.js';

/** What resolvers receive as the parent of a `User`: its row. */
export type UserParent = UserRow;
