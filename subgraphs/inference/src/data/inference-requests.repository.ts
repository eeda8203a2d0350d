import type { Kysely } from 'kysely';
import { newestFirstPerParent } from '../../../../lib/db/pagination.js';
import type { Database, InferenceRequestRow } from '../../../../lib/db/schema.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';

export type NewInferenceRequest = {
  id: string;
  modelId: string;
  userId: string;
  input: unknown;
  durationMs: number;
  metadata?: Record<string, unknown>;
} & ({ output: unknown } | { error: string });

export async function insertInferenceRequest(
  db: Kysely<Database>,
  request: NewInferenceRequest,
): Promise<InferenceRequestRow> {
  return db
    .insertInto('inference_requests')
    .values({
      id: request.id,
      model_id: request.modelId,
      user_id: request.userId,
      input: JSON.stringify(request.input),
      output: 'output' in request ? JSON.stringify(request.output) : null,
      error: 'error' in request ? request.error : null,
      metadata: JSON.stringify(request.metadata ?? {}),
      duration_ms: request.durationMs,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

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
