import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Role } from '../../lib/db/schema.js';

/**
 * Rows written straight into a test database, for tests of code that reads what other services
 * own (a user, their project, a prediction of one of its models) without running those services.
 */
export async function insertUser(db: Kysely<Database>, role: Role = 'USER'): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({ id, email: `${id}@example.com`, password_hash: 'not-a-hash', role })
    .execute();
  return id;
}

export async function insertProject(db: Kysely<Database>, ownerId: string): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('projects')
    .values({ id, user_id: ownerId, name: `project ${id}` })
    .execute();
  return id;
}

/** A prediction of a fresh (pending) model of the project, started by `userId`. */
export async function insertPrediction(db: Kysely<Database>, projectId: string, userId: string): Promise<string> {
  const modelId = randomUUID();
  await db
    .insertInto('models')
    .values({
      id: modelId,
      project_id: projectId,
      version: modelId.slice(0, 8),
      status: 'PENDING_UPLOAD',
      storage_key: `projects/${projectId}/models/${modelId}/model.onnx`,
      storage_path: `file:///models/${modelId}`,
    })
    .execute();
  const id = randomUUID();
  await db
    .insertInto('predictions')
    .values({ id, model_id: modelId, user_id: userId, status: 'QUEUED', items_total: 1, inputs: '[{}]' })
    .execute();
  return id;
}
