import { sql, type Kysely } from 'kysely';
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
  const byModel = new Map<string, InferenceRequestRow[]>(modelIds.map((id) => [id, []]));
  if (modelIds.length === 0) return byModel;
  const rows = await db
    .selectFrom((eb) => {
      let inner = eb
        .selectFrom('inference_requests')
        .selectAll()
        .select(sql<number>`row_number() over (partition by model_id order by requested_at desc, id desc)`.as('rank'))
        .where('model_id', 'in', modelIds);
      if (page.after) {
        const { createdAt, id } = page.after;
        inner = inner.where(({ eb: e, refTuple, tuple }) =>
          e(refTuple('requested_at', 'id'), '<', tuple(createdAt, id)),
        );
      }
      return inner.as('ranked');
    })
    .selectAll()
    .where('rank', '<=', page.first + 1)
    .orderBy('requested_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  for (const { rank: _rank, ...row } of rows) byModel.get(row.model_id)?.push(row);
  return byModel;
}
