import type { Kysely } from 'kysely';
import { isAdmin, ownerScope, projectRestriction, requireIdentity } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { Database } from '../../../../lib/db/schema.js';
import { toConnection, type Connection, type PageArgs } from '../../../../lib/graphql/pagination.js';
import type { Logger } from '../../../../lib/logger.js';
import { LOG_TAIL_CHANNEL, readTailMessage, type LogRecord } from '../../../../lib/platform-log/index.js';
import type { PubSub, Subscription } from '../../../../lib/pubsub/index.js';
import { listLogs } from '../data/logs.repository.js';
import { canMatch, createLogMatcher, parseLogFilter, type LogFilterInput, type LogQuery } from './log-filter.js';
import { createOwnerLookup, type OwnerCacheOptions } from './owner-lookup.js';
import { canSeeLogEntry } from './visibility.js';

export type LogsServiceDeps = {
  db: Kysely<Database>;
  pubsub: PubSub;
  logger: Logger;
  /** The channel the platform log publishes on. @default LOG_TAIL_CHANNEL */
  channel?: string;
  ownerCache?: OwnerCacheOptions;
};

export type LogsService = ReturnType<typeof createLogsService>;

/** Batches (messages, one per flush) held for a subscriber that reads slower than they come. */
const TAIL_BUFFER_MESSAGES = 256;

export type LogTailEvent = { logTail: LogRecord };

export function createLogsService(deps: LogsServiceDeps) {
  const { db, pubsub, logger } = deps;
  const channel = deps.channel ?? LOG_TAIL_CHANNEL;
  const owners = createOwnerLookup(db, deps.ownerCache);

  return {
    async list(
      identity: Identity | null,
      filter: LogFilterInput | null | undefined,
      page: PageArgs,
    ): Promise<Connection<LogRecord>> {
      const caller = requireIdentity(identity);
      const query = withinKeyProject(caller, parseLogFilter(filter));
      if (!query || !canMatch(query)) return toConnection([], page.first);
      return toConnection(await listLogs(db, ownerScope(caller), query, page), page.first, (entry) => entry.loggedAt);
    },

    /**
     * New entries as they are published: each one that matches the filter and that the caller
     * may see, in the order written. Subscribes before returning, so nothing published after the
     * subscription started is missed.
     */
    async tail(
      identity: Identity | null,
      filter: LogFilterInput | null | undefined,
    ): Promise<AsyncIterableIterator<LogTailEvent>> {
      const caller = requireIdentity(identity);
      const query = withinKeyProject(caller, parseLogFilter(filter));
      const matches = query ? createLogMatcher(query) : () => false;
      const subscription = await pubsub.subscribe(channel, { bufferSize: TAIL_BUFFER_MESSAGES });
      const visible = async (records: LogRecord[]): Promise<LogRecord[]> => {
        const matching = records.filter(matches);
        if (isAdmin(caller) || matching.length === 0) return matching;
        const seen = await Promise.all(matching.map(async (r) => canSeeLogEntry(caller, r, await owners(r))));
        return matching.filter((_, i) => seen[i]);
      };
      return tailEvents(subscription, visible, (dropped) =>
        logger.warn({ dropped, userId: caller.userId }, 'log tail subscriber fell behind; batches were dropped'),
      );
    },
  };
}

/**
 * An API key limited to one project reads the entries of that project only: the query narrowed
 * to it, or null when it asks for another project's.
 */
function withinKeyProject(caller: Identity, query: LogQuery): LogQuery | null {
  const only = projectRestriction(caller);
  if (only === undefined) return query;
  if (query.projectId !== undefined && query.projectId !== only) return null;
  return { ...query, projectId: only };
}

/**
 * The events of a tail subscription. Written out rather than as an async generator so that
 * `return()` ends the pub/sub subscription at once, even while waiting for the next message
 * (see lib/subgraph/map-async-iterator.ts).
 */
function tailEvents(
  subscription: Subscription,
  visible: (records: LogRecord[]) => Promise<LogRecord[]>,
  onDropped: (dropped: number) => void,
): AsyncIterableIterator<LogTailEvent> & { return(): Promise<IteratorResult<LogTailEvent>> } {
  const done = { done: true, value: undefined } as IteratorReturnResult<undefined> as IteratorResult<LogTailEvent>;
  // Entries of the current message not yet emitted: at most one flushed batch.
  const pending: LogRecord[] = [];
  let reported = 0;
  return {
    async next() {
      while (pending.length === 0) {
        const message = await subscription.next();
        if (message.done) return done;
        if (subscription.dropped > reported) {
          onDropped(subscription.dropped - reported);
          reported = subscription.dropped;
        }
        pending.push(...(await visible(readTailMessage(message.value))));
        if (subscription.closed) return done;
      }
      return { done: false, value: { logTail: pending.shift()! } };
    },
    async return() {
      subscription.close();
      pending.length = 0;
      return done;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
