import type { ModelRow } from '../../../../lib/db/schema.js';

/** A `Model` resolves from its row plus its project's owner (authorization needs it). */
export type ModelParent = ModelRow & { owner_id: string };
/** This subgraph knows a `Project` only by its key. */
export type ProjectParent = { id: string };
