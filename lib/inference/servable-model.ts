import type { Kysely } from 'kysely';
import type { Database, ModelStatus, TensorSpecJson } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { PubSub } from '../pubsub/index.js';

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

/**
 * The pub/sub channel on which a model that stops being servable as it was is announced: deleted,
 * or its project deleted. Caches of servable models (the inference service's) drop it on the spot.
 */
export const SERVABLE_MODEL_CHANGES_CHANNEL = 'servable-model-changes';

export type ServableModelChange = { modelId: string } | { projectId: string };

/**
 * Announces a change on SERVABLE_MODEL_CHANGES_CHANNEL. A failure (Redis down) is logged, not
 * thrown: the change itself is done, and the caches' time limit bounds how long they may lag.
 */
export async function announceServableModelChange(
  pubsub: PubSub,
  change: ServableModelChange,
  logger: Logger,
): Promise<void> {
  await pubsub
    .publish(SERVABLE_MODEL_CHANGES_CHANNEL, change)
    .catch((error: unknown) => logger.warn({ err: error, change }, 'could not announce a model change'));
}
