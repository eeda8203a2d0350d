import type { ProjectRow } from '../../../../lib/db/schema.js';

/** A `Project` resolves from its row. */
export type ProjectParent = ProjectRow;
/** This subgraph knows a `User` only by its key. */
export type UserParent = { id: string };
