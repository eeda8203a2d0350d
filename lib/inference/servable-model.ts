import type { Kysely } from 'kysely';
import type { Database, ModelStatus, TensorSpecJson } from '../db/schema.js';

/** What serving a model needs to know about it, with its project's owner for authorization. */
export type ServableModel = {
  id: string;
  project_id: string;
  owner_id: string;
  version: string;
  status: ModelStatus;
  storage_key: string;
  size_bytes: number | null;
  sha256: string | null;
  inputs: TensorSpecJson[];
  outputs: TensorSpecJson[];
};

export async function findServableModels(db: Kysely<Database>, ids: readonly string[]): Promise<ServableModel[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('models')
    .innerJoin('projects', 'projects.id', 'models.project_id')
    .select([
      'models.id',
      'models.project_id',
      'projects.user_id as owner_id',
      'models.version',
      'models.status',
      'models.storage_key',
      'models.size_bytes',
      'models.sha256',
      'models.inputs',
      'models.outputs',
    ])
    .where('models.id', 'in', ids)
    .execute();
}
