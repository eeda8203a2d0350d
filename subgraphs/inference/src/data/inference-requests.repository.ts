import type { Kysely } from 'kysely';
import { newestFirstPerParent } from '../../../../lib/db/pagination.js';
import type { Database, InferenceRequestRow } from '../../../../lib/db/schema.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';

/** Each model's newest `first + 1` inference requests in one query. */
export async function listInferenceRequestsOfModels(
  db: Kysely<Database>,
  modelIds: readonly string[],
  page: PageArgs,
): Promise<Map<string, InferenceRequestRow[]>> {
  return newestFirstPerParent(db, db.selectFrom('inference_requests').selectAll(), {
    parent: 'model_id',
    parentIds: modelIds,
    keyset: ['requested_at', 'id'],
    page,
  });
}
