import type { Redis } from 'ioredis';
import { newRedis } from '../cache/redis-client.js';
import type { Role } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { redisConnectionOptions } from '../tls/redis.js';
import type { Identity } from './identity.js';

/**
 * Access tokens stop working before they expire: the users service publishes a revocation when a
 * session ends (logout, or reuse of a spent refresh token revoked its family) and when a user's
 * role changes; every gateway keeps the revocations in memory and refuses the tokens they cover.
 *
 * `until` (Unix seconds) is when the revocation stops mattering: the latest expiry of an access
 * token it can cover (its time + ACCESS_TOKEN_TTL). Nothing is kept past it.
 */
export type Revocation =
  /** Every access token of the session (refresh-token family): the `sid` claim. */
  | { kind: 'session'; sessionId: string; until: number }
  /**
   * The user's tokens issued at or before `issuedBefore` (`iat`) carrying another role than
   * `role`, the one the user has had since: a role change, or several, the last one winning.
   */
  | { kind: 'user'; userId: string; role: Role; issuedBefore: number; until: number }
  /**
   * An API key, revoked: gateways drop what they cached of it. Past `until` (longer than any
   * cached resolution lives) a gateway asks the users service again, which refuses it.
   */
  | { kind: 'apiKey'; apiKeyId: string; until: number };

const nowSeconds = (): number => Date.now() / 1000;

export const sessionRevocation = (sessionId: string, accessTokenTtlSeconds: number): Revocation => ({
  kind: 'session',
  sessionId,
  until: Math.ceil(nowSeconds() + accessTokenTtlSeconds),
});

/** Longer than a gateway keeps a resolved API key (gateway/src/api-keys.ts), with a wide margin. */
const API_KEY_REVOCATION_SECONDS = 10 * 60;

export const apiKeyRevocation = (apiKeyId: string): Revocation => ({
  kind: 'apiKey',
  apiKeyId,
  until: Math.ceil(nowSeconds() + API_KEY_REVOCATION_SECONDS),
});

/**
 * A login or refresh that read the user before the change may sign its token (with the old role)
 * just after it. Tokens carrying the old role are refused for this long past the change too; it
 * costs nothing, since a token with the new role is never refused by the change.
 */
const ROLE_CHANGE_MARGIN_SECONDS = 60;

export function roleChangeRevocation(userId: string, role: Role, accessTokenTtlSeconds: number): Revocation {
  const issuedBefore = Math.floor(nowSeconds()) + ROLE_CHANGE_MARGIN_SECONDS;
  return { kind: 'user', userId, role, issuedBefore, until: issuedBefore + accessTokenTtlSeconds + 1 };
}

/**
 * Where revocations go from the users service to the gateways: in this process (the embedded
 * platform), or through Redis between processes.
 */
export interface RevocationFeed {
  readonly kind: 'memory' | 'redis';
  /** Hands the revocation to every watcher, those watching now and those that start within its `until`. */
  publish(revocation: Revocation): Promise<void>;
  /**
   * Calls `onRevocations` with the revocations published so far, then with each new batch (and,
   * on Redis, with an empty one now and then). Resolves once the past ones were handed over, or,
   * when Redis does not answer, soon anyway: they follow when it does. Returns what stops watching.
   */
  watch(onRevocations: (revocations: Revocation[]) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** A feed inside one process: the users subgraph and the gateway of the embedded platform share one. */
export function createMemoryRevocationFeed(): RevocationFeed {
  let kept: Revocation[] = [];
  const watchers = new Set<(revocations: Revocation[]) => void>();
  return {
    kind: 'memory',
    async publish(revocation) {
      const now = nowSeconds();
      // Linear, but kept holds only the revocations of the last ACCESS_TOKEN_TTL.
      kept = kept.filter((kept) => kept.until > now);
      kept.push(revocation);
      for (const watcher of watchers) watcher([revocation]);
    },
    async watch(onRevocations) {
      onRevocations(kept.filter((kept) => kept.until > nowSeconds()));
      watchers.add(onRevocations);
      return () => void watchers.delete(onRevocations);
    },
    async close() {
      watchers.clear();
    },
  };
}

export type RedisRevocationFeedOptions = {
  url: string;
  /** REDIS_CA_FILE: the CA a `rediss://` server's certificate is verified with; unset: the system's CAs. */
  caFile?: string | undefined;
  /** The stream holding the revocations. @default 'auth:revocations' */
  key?: string;
  /** Prefix of the connections' names in CLIENT LIST (`<name>-writer`, `<name>-reader`). @default 'revocations' */
  connectionName?: string;
  logger?: Logger;
};

const READ_BATCH = 1_000;
// A blocked XREAD returns this often when nothing comes, so watchers prune what expired.
const BLOCK_MS = 5_000;
const RETRY_MS = 1_000;
// How long watch() waits for the past revocations before the gateway starts without them.
const START_WAIT_MS = 3_000;
// Entries are trimmed once older than a token's lifetime; the margin covers clock differences.
const TRIM_MARGIN_MS = 60_000;

/**
 * Revocations in a Redis stream. A watcher reads it from its start (what is still in force), then
 * blocks for new entries after the last one it read. Stream ids are Redis's own, in order, so a
 * watcher whose connection dropped carries on after its last entry on reconnecting: it misses
 * nothing, however long it was away, unlike pub/sub, which loses what was sent meanwhile. Entries
 * older than an access token's lifetime are trimmed on each write.
 */
export function createRedisRevocationFeed(options: RedisRevocationFeedOptions): RevocationFeed {
  const key = options.key ?? 'auth:revocations';
  const name = options.connectionName ?? 'revocations';
  const connect = (role: string, commandTimeout: number): Redis => {
    const redis = newRedis(options.url, {
      ...redisConnectionOptions(options.url, options.caFile),
      lazyConnect: true,
      commandTimeout,
      connectionName: `${name}-${role}`,
    });
    let down = false;
    // ioredis reconnects on its own; one warning per outage is enough.
    redis.on('error', (error: Error) => {
      if (!down) options.logger?.warn({ err: error, role }, 'revocations: Redis connection error');
      down = true;
    });
    redis.on('ready', () => void (down = false));
    return redis;
  };
  let writer: Redis | undefined;
  const stops = new Set<() => void>();

  return {
    kind: 'redis',

    async publish(revocation) {
      writer ??= connect('writer', 2_000);
      // Every entry lives as long as an access token does, so entries older than that are past theirs.
      const lifetimeMs = revocation.until * 1000 - Date.now();
      const minId = Math.max(0, Math.floor(Date.now() - lifetimeMs - TRIM_MARGIN_MS));
      await writer.xadd(key, 'MINID', '~', String(minId), '*', 'r', JSON.stringify(revocation));
    },

    async watch(onRevocations) {
      // A connection of its own: a blocked XREAD holds it.
      const reader = connect('reader', BLOCK_MS + 5_000);
      let lastId = '0';
      let caughtUp = false;
      let stopped = false;
      let started!: () => void;
      const start = new Promise<void>((resolve) => (started = resolve));
      const stop = () => {
        stopped = true;
        started();
        stops.delete(stop);
        reader.disconnect();
      };
      stops.add(stop);
      void (async () => {
        while (!stopped) {
          try {
            const reply = caughtUp
              ? await reader.xread('COUNT', READ_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', key, lastId)
              : await reader.xread('COUNT', READ_BATCH, 'STREAMS', key, lastId);
            const entries = reply?.[0]?.[1] ?? [];
            const revocations: Revocation[] = [];
            for (const [id, fields] of entries) {
              lastId = id;
              const revocation = parseRevocation(fields[fields.indexOf('r') + 1]);
              if (revocation) revocations.push(revocation);
              else options.logger?.warn({ id }, 'revocations: skipped a malformed entry');
            }
            if (!stopped) onRevocations(revocations);
            if (entries.length < READ_BATCH && !caughtUp) {
              caughtUp = true;
              started();
            }
          } catch (error) {
            if (stopped) return;
            started();
            options.logger?.debug({ err: error }, 'revocations: read failed; retrying');
            await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          }
        }
      })();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, START_WAIT_MS).unref());
      await Promise.race([start, timeout]);
      if (!caughtUp && !stopped) {
        options.logger?.warn('revocations: Redis did not answer; revocations made so far will follow when it does');
      }
      return stop;
    },

    async close() {
      for (const stop of [...stops]) stop();
      if (writer?.status === 'ready') await writer.quit().catch(() => writer?.disconnect());
      else writer?.disconnect();
    },
  };
}

function parseRevocation(json: string | undefined): Revocation | null {
  let value: unknown;
  try {
    value = JSON.parse(json ?? '');
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.until !== 'number') return null;
  if (r.kind === 'session' && typeof r.sessionId === 'string') {
    return { kind: 'session', sessionId: r.sessionId, until: r.until };
  }
  if (
    r.kind === 'user' &&
    typeof r.userId === 'string' &&
    (r.role === 'ADMIN' || r.role === 'USER') &&
    typeof r.issuedBefore === 'number'
  ) {
    return { kind: 'user', userId: r.userId, role: r.role, issuedBefore: r.issuedBefore, until: r.until };
  }
  if (r.kind === 'apiKey' && typeof r.apiKeyId === 'string') {
    return { kind: 'apiKey', apiKeyId: r.apiKeyId, until: r.until };
  }
  return null;
}

/** What the gateway asks about each access token: two Map lookups, no I/O. */
export type RevocationCheck = {
  isRevoked(identity: Identity): boolean;
  /** Calls `listener` after revocations arrived (to close the WebSocket connections they cover); returns what stops it. */
  onRevoked(listener: () => void): () => void;
};

export type RevocationSet = RevocationCheck & {
  /** Revocations held in memory. */
  size(): number;
  close(): void;
};

const PRUNE_EVERY_SECONDS = 60;

/** Watches a feed and keeps its revocations in memory until their `until`. */
export async function watchRevocations(feed: RevocationFeed): Promise<RevocationSet> {
  const sessions = new Map<string, number>();
  const apiKeys = new Map<string, number>();
  const users = new Map<string, Extract<Revocation, { kind: 'user' }>>();
  const listeners = new Set<() => void>();
  let prunedAt = nowSeconds();

  const apply = (revocations: Revocation[]): void => {
    const now = nowSeconds();
    if (now - prunedAt >= PRUNE_EVERY_SECONDS) {
      prunedAt = now;
      for (const [sessionId, until] of sessions) if (until <= now) sessions.delete(sessionId);
      for (const [apiKeyId, until] of apiKeys) if (until <= now) apiKeys.delete(apiKeyId);
      for (const [userId, revocation] of users) if (revocation.until <= now) users.delete(userId);
    }
    let added = false;
    for (const revocation of revocations) {
      if (revocation.until <= now) continue;
      added = true;
      if (revocation.kind === 'session') {
        sessions.set(revocation.sessionId, Math.max(revocation.until, sessions.get(revocation.sessionId) ?? 0));
      } else if (revocation.kind === 'apiKey') {
        apiKeys.set(revocation.apiKeyId, Math.max(revocation.until, apiKeys.get(revocation.apiKeyId) ?? 0));
      } else {
        // Entries arrive in publish order: the latest change says which role the user has now.
        users.set(revocation.userId, revocation);
      }
    }
    if (added) for (const listener of listeners) listener();
  };

  const stop = await feed.watch(apply);
  return {
    isRevoked(identity) {
      if (identity.sessionId !== undefined && sessions.has(identity.sessionId)) return true;
      if (identity.apiKeyId !== undefined && apiKeys.has(identity.apiKeyId)) return true;
      const change = users.get(identity.userId);
      return (
        change !== undefined &&
        identity.issuedAt !== undefined &&
        identity.issuedAt <= change.issuedBefore &&
        identity.role !== change.role
      );
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    size: () => sessions.size + apiKeys.size + users.size,
    close() {
      listeners.clear();
      stop();
    },
  };
}
