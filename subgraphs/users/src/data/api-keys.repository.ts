import type { Kysely } from 'kysely';
import type { ApiKeyRow, ApiKeyScope, Database, Role } from '../../../../lib/db/schema.js';
import { newestFirstPage } from '../../../../lib/db/pagination.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';

export type NewApiKey = {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  scopes: ApiKeyScope[];
  projectId: string | null;
  expiresAt: Date | null;
};

export async function insertApiKey(db: Kysely<Database>, key: NewApiKey): Promise<ApiKeyRow> {
  return db
    .insertInto('api_keys')
    .values({
      id: key.id,
      user_id: key.userId,
      name: key.name,
      prefix: key.prefix,
      secret_hash: key.secretHash,
      scopes: JSON.stringify(key.scopes),
      project_id: key.projectId,
      expires_at: key.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The user's keys, revoked ones included, newest first (`first + 1` rows). */
export async function listApiKeysOfUser(db: Kysely<Database>, userId: string, page: PageArgs): Promise<ApiKeyRow[]> {
  return newestFirstPage(
    db.selectFrom('api_keys').selectAll().where('user_id', '=', userId),
    ['created_at', 'id'],
    page,
  ).execute();
}

export async function findApiKeyById(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks the key revoked (once: a revoked key keeps its first revokedAt); the row as it is now. */
export async function revokeApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  return findApiKeyById(db, id);
}

/** A key with what authenticating with it needs: its owner's current role. */
export type ApiKeyWithOwner = ApiKeyRow & { owner_role: Role };

export async function findApiKeyBySecretHash(
  db: Kysely<Database>,
  secretHash: string,
): Promise<ApiKeyWithOwner | undefined> {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .selectAll('api_keys')
    .select('users.role as owner_role')
    .where('api_keys.secret_hash', '=', secretHash)
    .executeTakeFirst();
}

/** Records a use, unless one was recorded after `notBefore` (so at most one write per key a minute). */
export async function touchApiKey(db: Kysely<Database>, id: string, now: Date, notBefore: Date): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', notBefore)]))
    .execute();
}

/** The owner of a project, to check that a key's project is one its creator may see. */
export async function findProjectOwner(db: Kysely<Database>, projectId: string): Promise<string | undefined> {
  const row = await db.selectFrom('projects').select('user_id').where('id', '=', projectId).executeTakeFirst();
  return row?.user_id;
}
