import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isOwnerOrAdmin, requireIdentity } from '../../../../lib/auth/access.js';
import {
  API_KEY_SCOPES,
  apiKeyPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  type ResolvedApiKey,
} from '../../../../lib/auth/api-keys.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { apiKeyRevocation, type RevocationFeed } from '../../../../lib/auth/revocations.js';
import type { ApiKeyRow, ApiKeyScope, Database } from '../../../../lib/db/schema.js';
import { badInput, forbidden, notFound } from '../../../../lib/errors.js';
import { isUuid, toConnection, type Connection, type PageArgs } from '../../../../lib/graphql/pagination.js';
import type { PlatformLog } from '../../../../lib/platform-log/index.js';
import { validText } from '../../../../lib/validation.js';
import {
  findApiKeyById,
  findApiKeyBySecretHash,
  findProjectOwner,
  insertApiKey,
  listApiKeysOfUser,
  revokeApiKey,
  touchApiKey,
} from '../data/api-keys.repository.js';

export type ApiKeysServiceDeps = {
  db: Kysely<Database>;
  events: PlatformLog;
  /** Tells the gateways to drop a revoked key at once. */
  revocations: RevocationFeed;
};

/**
 * lastUsedAt is written at most once per key per this period: the gateways ask for a key once per
 * cache period each, and only a resolution finding an older value writes. It is therefore precise
 * to about a minute (plus a gateway's cache period), at no write per request.
 */
export const LAST_USED_PRECISION_MS = 60_000;

const NAME = { argument: 'name', min: 1, max: 100 } as const;

export type ApiKeysService = ReturnType<typeof createApiKeysService>;

export function createApiKeysService({ db, events, revocations }: ApiKeysServiceDeps) {
  /** Only sessions manage keys: a key may not mint or revoke keys (FORBIDDEN). */
  function requireSession(identity: Identity | null, action: string): Identity {
    const caller = requireIdentity(identity);
    if (caller.apiKeyId !== undefined) {
      events.warn('API key refused: keys cannot manage API keys', {
        event: 'auth.api_key_refused',
        reason: 'scope',
        apiKeyId: caller.apiKeyId,
        userId: caller.userId,
        action,
      });
      throw forbidden('API keys cannot manage API keys: sign in to do this');
    }
    return caller;
  }

  return {
    async create(
      identity: Identity | null,
      input: { name: string; scopes: ApiKeyScope[]; projectId?: string | null; expiresAt?: Date | null },
    ): Promise<{ apiKey: ApiKeyRow; secret: string }> {
      const caller = requireSession(identity, 'createApiKey');
      const name = validText(input.name, NAME);
      const scopes = API_KEY_SCOPES.filter((scope) => input.scopes.includes(scope));
      if (scopes.length === 0) {
        throw badInput('`scopes` must name at least one of READ, PREDICT, WRITE', { argument: 'scopes' });
      }
      const expiresAt = input.expiresAt ?? null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw badInput('`expiresAt` must be in the future', { argument: 'expiresAt' });
      }
      const projectId = input.projectId ?? null;
      if (projectId !== null) {
        // A project the caller may not see is, as everywhere, one that does not exist.
        const owner = isUuid(projectId) ? await findProjectOwner(db, projectId) : undefined;
        if (!isOwnerOrAdmin(caller, owner)) throw notFound('Project');
      }
      const secret = generateApiKeySecret();
      const apiKey = await insertApiKey(db, {
        id: randomUUID(),
        userId: caller.userId,
        name,
        prefix: apiKeyPrefix(secret),
        secretHash: hashApiKeySecret(secret),
        scopes,
        projectId,
        expiresAt,
      });
      // Never the secret: its prefix is what people recognise it by.
      events.info(`API key ${apiKey.prefix}… created`, {
        event: 'auth.api_key_created',
        apiKeyId: apiKey.id,
        userId: caller.userId,
        scopes,
        ...(projectId ? { projectId } : {}),
      });
      return { apiKey, secret };
    },

    async list(identity: Identity | null, page: PageArgs): Promise<Connection<ApiKeyRow>> {
      const caller = requireIdentity(identity);
      return toConnection(await listApiKeysOfUser(db, caller.userId, page), page.first);
    },

    /** The owner or an ADMIN revokes; anyone else's key is NOT_FOUND. Revoking twice changes nothing. */
    async revoke(identity: Identity | null, id: string): Promise<ApiKeyRow> {
      const caller = requireSession(identity, 'revokeApiKey');
      const existing = isUuid(id) ? await findApiKeyById(db, id) : undefined;
      if (!existing || !isOwnerOrAdmin(caller, existing.user_id)) throw notFound('API key');
      const revoked = await revokeApiKey(db, id);
      if (!revoked) throw notFound('API key');
      if (!existing.revoked_at) {
        try {
          await revocations.publish(apiKeyRevocation(id));
        } catch (error) {
          events.error('Could not publish a revocation: gateways refuse the key once their cache expires', {
            event: 'auth.revocation_failed',
            kind: 'apiKey',
            apiKeyId: id,
            error: (error as Error).message,
          });
        }
        events.info(`API key ${existing.prefix}… revoked`, {
          event: 'auth.api_key_revoked',
          apiKeyId: id,
          userId: existing.user_id,
          by: caller.userId,
        });
      }
      return revoked;
    },

    /**
     * For the gateway: the key whose secret hashes to `secretHash`, or null when there is none, or
     * it is revoked or expired (each refusal logged; `shown` is the presented token's first
     * characters, never more). Records the use (see LAST_USED_PRECISION_MS).
     */
    async resolve(secretHash: string, shown: string): Promise<ResolvedApiKey | null> {
      const key = /^[0-9a-f]{64}$/.test(secretHash) ? await findApiKeyBySecretHash(db, secretHash) : undefined;
      const now = new Date();
      const refuse = (reason: 'unknown' | 'revoked' | 'expired') => {
        events.warn(`API key refused: ${reason}`, {
          event: 'auth.api_key_refused',
          reason,
          prefix: key?.prefix ?? shown,
          ...(key ? { apiKeyId: key.id, userId: key.user_id } : {}),
        });
        return null;
      };
      if (!key) return refuse('unknown');
      if (key.revoked_at) return refuse('revoked');
      if (key.expires_at && key.expires_at.getTime() <= now.getTime()) return refuse('expired');
      if (!key.last_used_at || now.getTime() - key.last_used_at.getTime() >= LAST_USED_PRECISION_MS) {
        await touchApiKey(db, key.id, now, new Date(now.getTime() - LAST_USED_PRECISION_MS));
      }
      return {
        id: key.id,
        userId: key.user_id,
        role: key.owner_role,
        scopes: key.scopes,
        projectId: key.project_id,
        // Fractional: refused from the very millisecond it expires.
        expiresAt: key.expires_at ? key.expires_at.getTime() / 1000 : null,
      };
    },
  };
}
