import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireAdmin } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from '../../../../lib/auth/passwords.js';
import {
  roleChangeRevocation,
  sessionRevocation,
  type Revocation,
  type RevocationFeed,
} from '../../../../lib/auth/revocations.js';
import {
  generateRefreshToken,
  hashRefreshToken,
  signAccessToken,
  type AccessTokenConfig,
} from '../../../../lib/auth/tokens.js';
import { isUniqueViolation } from '../../../../lib/db/connect.js';
import type { Database, Role, UserRow } from '../../../../lib/db/schema.js';
import { badInput, err, ErrorCode, notFound, unauthenticated } from '../../../../lib/errors.js';
import { isUuid, toConnection, type Connection, type PageArgs } from '../../../../lib/graphql/pagination.js';
import type { PlatformLog } from '../../../../lib/platform-log/index.js';
import { findUserByEmail, findUsersByIds, insertUser, listUsers, updateUserRole } from '../data/users.repository.js';
import {
  findRefreshTokenForUpdate,
  insertRefreshToken,
  markRefreshTokenUsed,
  revokeRefreshTokenFamily,
} from '../data/refresh-tokens.repository.js';
import { MAX_PASSWORD_LENGTH, validEmail, validNewPassword } from './credentials.js';

export type UsersServiceDeps = {
  db: Kysely<Database>;
  /** Platform events (auth): stdout and the central log. */
  events: PlatformLog;
  accessTokens: AccessTokenConfig;
  /** Refresh token lifetime in seconds. */
  refreshTokenTtlSeconds: number;
  /** Tells the gateways which access tokens stopped being valid before they expire. */
  revocations: RevocationFeed;
};

export type AuthPayload = { accessToken: string; refreshToken: string; expiresIn: number; user: UserRow };

const INVALID_LOGIN = 'Invalid email or password';
const INVALID_REFRESH = 'Invalid or expired refresh token';

export type UsersService = ReturnType<typeof createUsersService>;

export function createUsersService(deps: UsersServiceDeps) {
  const { db, events, accessTokens } = deps;

  async function issueTokens(user: UserRow, familyId: string, trx: Kysely<Database> = db): Promise<AuthPayload> {
    const refreshToken = generateRefreshToken();
    await insertRefreshToken(trx, {
      id: randomUUID(),
      userId: user.id,
      familyId,
      tokenHash: hashRefreshToken(refreshToken),
      expiresAt: new Date(Date.now() + deps.refreshTokenTtlSeconds * 1000),
    });
    return {
      // The session is the refresh-token family: ending it revokes this token at the gateway.
      accessToken: signAccessToken(accessTokens, user, familyId),
      refreshToken,
      expiresIn: accessTokens.ttlSeconds,
      user,
    };
  }

  /**
   * After the change is committed. A failure (Redis down) is logged, not thrown: the change itself
   * is made, and the access tokens it should stop expire within ACCESS_TOKEN_TTL as before.
   */
  async function revoke(revocation: Revocation): Promise<void> {
    try {
      await deps.revocations.publish(revocation);
    } catch (error) {
      events.error('Could not publish a revocation: its access tokens work until they expire', {
        event: 'auth.revocation_failed',
        kind: revocation.kind,
        error: (error as Error).message,
        ...(revocation.kind === 'user' ? { userId: revocation.userId } : {}),
      });
    }
  }

  return {
    async signup(input: { email: string; password: string }): Promise<AuthPayload> {
      const email = validEmail(input.email);
      const password = validNewPassword(input.password);
      const passwordHash = await hashPassword(password);
      try {
        return await db.transaction().execute(async (trx) => {
          const user = await insertUser(trx, { id: randomUUID(), email, password_hash: passwordHash, role: 'USER' });
          return issueTokens(user, randomUUID(), trx);
        });
      } catch (error) {
        if (isUniqueViolation(error, 'users_email_lower_key')) {
          throw err(ErrorCode.CONFLICT, 'An account with this email already exists', { argument: 'email' });
        }
        throw error;
      }
    },

    async login(input: { email: string; password: string }): Promise<AuthPayload> {
      const user =
        input.password.length <= MAX_PASSWORD_LENGTH ? await findUserByEmail(db, input.email.trim()) : undefined;
      // Verify against a decoy when the account is unknown, so timing does not reveal which emails exist.
      const valid = await verifyPassword(input.password, user?.password_hash ?? (await decoyPasswordHash));
      if (!user || !valid) {
        // Linked to the account when there is one, so its owner sees attempts on it.
        events.warn('Failed login', { event: 'auth.login_failed', ...(user ? { userId: user.id } : {}) });
        throw unauthenticated(INVALID_LOGIN);
      }
      return issueTokens(user, randomUUID());
    },

    /** Rotates a refresh token: the presented one is spent, a new pair is issued in the same family. */
    async refresh(refreshToken: string): Promise<AuthPayload> {
      const outcome = await db.transaction().execute(async (trx) => {
        const token = await findRefreshTokenForUpdate(trx, hashRefreshToken(refreshToken));
        if (!token || token.revoked_at) return { kind: 'invalid' } as const;
        if (token.used_at) {
          // A spent token presented again means it leaked: end every session descended from that login.
          await revokeRefreshTokenFamily(trx, token.family_id);
          return { kind: 'reused', userId: token.user_id, familyId: token.family_id } as const;
        }
        if (token.expires_at.getTime() <= Date.now()) return { kind: 'invalid' } as const;
        const [user] = await findUsersByIds(trx, [token.user_id]);
        if (!user) return { kind: 'invalid' } as const;
        await markRefreshTokenUsed(trx, token.id);
        return { kind: 'issued', payload: await issueTokens(user, token.family_id, trx) } as const;
      });
      if (outcome.kind === 'issued') return outcome.payload;
      if (outcome.kind === 'reused') {
        await revoke(sessionRevocation(outcome.familyId, accessTokens.ttlSeconds));
        events.warn('Refresh token reused: every session of that login was revoked', {
          event: 'auth.refresh_token_reuse',
          userId: outcome.userId,
          familyId: outcome.familyId,
        });
      }
      throw unauthenticated(INVALID_REFRESH);
    },

    /** Ends the session the refresh token belongs to; false when the token is unknown. */
    async logout(refreshToken: string): Promise<boolean> {
      const familyId = await db.transaction().execute(async (trx) => {
        const token = await findRefreshTokenForUpdate(trx, hashRefreshToken(refreshToken));
        if (!token) return undefined;
        await revokeRefreshTokenFamily(trx, token.family_id);
        return token.family_id;
      });
      if (familyId === undefined) return false;
      await revoke(sessionRevocation(familyId, accessTokens.ttlSeconds));
      return true;
    },

    async listUsers(identity: Identity | null, page: PageArgs): Promise<Connection<UserRow>> {
      requireAdmin(identity);
      return toConnection(await listUsers(db, page), page.first);
    },

    async setUserRole(identity: Identity | null, userId: string, role: Role): Promise<UserRow> {
      const caller = requireAdmin(identity);
      if (!isUuid(userId)) throw notFound('User');
      if (userId === caller.userId && role !== 'ADMIN') {
        throw badInput('An ADMIN cannot remove their own ADMIN role; ask another ADMIN', { argument: 'userId' });
      }
      const user = await updateUserRole(db, userId, role);
      if (!user) throw notFound('User');
      await revoke(roleChangeRevocation(userId, role, accessTokens.ttlSeconds));
      events.info(`Role changed to ${role}`, { event: 'auth.role_changed', userId, role, by: caller.userId });
      return user;
    },

    /** Creates the configured ADMIN account when no account has that email yet (ADMIN_EMAIL/ADMIN_PASSWORD). */
    async ensureAdmin(email: string, password: string): Promise<'created' | 'exists'> {
      if (await findUserByEmail(db, email)) return 'exists';
      try {
        await insertUser(db, {
          id: randomUUID(),
          email: validEmail(email),
          password_hash: await hashPassword(validNewPassword(password)),
          role: 'ADMIN',
        });
        events.info('ADMIN account created', { event: 'auth.admin_created' });
        return 'created';
      } catch (error) {
        if (isUniqueViolation(error, 'users_email_lower_key')) return 'exists';
        throw error;
      }
    },
  };
}
