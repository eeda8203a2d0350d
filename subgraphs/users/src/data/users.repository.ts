import { sql, type Kysely } from 'kysely';
import type { Database, NewUser, Role, UserRow } from '../../../../lib/db/schema.js';
import { newestFirstPage } from '../../../../lib/db/pagination.js';
import type { PageArgs } from '../../../../lib/graphql/pagination.js';

export async function findUsersByIds(db: Kysely<Database>, ids: readonly string[]): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
}

export async function findUserByEmail(db: Kysely<Database>, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

/** Inserts a user; a duplicate email (in any letter case) raises a unique violation on users_email_lower_key. */
export async function insertUser(db: Kysely<Database>, user: NewUser): Promise<UserRow> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

/** One page of users, newest first; fetches `first + 1` rows so the caller can tell whether more follow. */
export async function listUsers(db: Kysely<Database>, page: PageArgs): Promise<UserRow[]> {
  return newestFirstPage(db.selectFrom('users').selectAll(), ['created_at', 'id'], page).execute();
}

export async function updateUserRole(db: Kysely<Database>, id: string, role: Role): Promise<UserRow | undefined> {
  return db.updateTable('users').set({ role }).where('id', '=', id).returningAll().executeTakeFirst();
}
