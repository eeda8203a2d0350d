import type { FormattedExecutionResult, Sink } from 'graphql-ws';
import { err, ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';

/** Where one client subscription receives its events. */
export type Subscriber = {
  /** An event, and its JSON (serialized once for every subscriber of a shared subscription). */
  push(result: FormattedExecutionResult, json: string): void;
  end(): void;
};

/** How to run a subscription nobody shares yet: open it upstream, and resolve each of its events. */
export type SubscriptionSource = {
  open(sink: Sink<FormattedExecutionResult>): () => void;
  /** Never rejects. */
  execute(event: FormattedExecutionResult): Promise<FormattedExecutionResult>;
};

export type SharedSubscriptions = {
  /**
   * Adds a subscriber to the subscription shared under `key` (same operation, variables and
   * identity), opening it from `source()` when there is none. Returns the function that removes
   * the subscriber; the last one out closes the upstream subscription. With `replayLatest`, a
   * subscriber joining a running subscription first receives its latest event: for fields that
   * stream a state (a prediction's progress), that is the current state, which a late joiner
   * must not go without.
   */
  join(key: string, subscriber: Subscriber, source: () => SubscriptionSource, replayLatest?: boolean): () => void;
  /** Closes every upstream subscription and forgets every subscriber, without telling them. */
  clear(): void;
  stats(): { upstreams: number; subscribers: number };
};

type Shared = {
  key: string;
  subscribers: Set<Subscriber>;
  close: () => void;
  /** The upstream subscription is over (ended, or closed by its last subscriber): nobody new joins. */
  closed: boolean;
  /** Events resolve concurrently but are delivered in order, each after the one before. */
  delivered: Promise<void>;
  pending: number;
  /** The last event delivered and its JSON, for late joiners of a state stream. */
  latest: { result: FormattedExecutionResult; json: string } | undefined;
};

const failure = (message: string): FormattedExecutionResult => ({
  errors: [err(ErrorCode.INTERNAL_SERVER_ERROR, message).toJSON()],
});

/**
 * Identical subscriptions share one upstream subscription, and every event is resolved (entity
 * fetches and shaping) once for all of them. A subscriber that joins late receives the events that
 * come after it joined (and, for state streams, the latest one first).
 */
export function createSharedSubscriptions(options: {
  logger: Logger;
  /** Events of one subscription still being resolved; past this the subgraph outruns the gateway. */
  maxPendingEvents: number;
}): SharedSubscriptions {
  const { logger } = options;
  const shared = new Map<string, Shared>();

  const close = (entry: Shared) => {
    if (entry.closed) return;
    entry.closed = true;
    if (shared.get(entry.key) === entry) shared.delete(entry.key);
    entry.close();
  };

  const leave = (entry: Shared, subscriber: Subscriber) => {
    if (entry.subscribers.delete(subscriber) && entry.subscribers.size === 0) close(entry);
  };

  function open(key: string, source: SubscriptionSource): Shared {
    const entry: Shared = {
      key,
      subscribers: new Set(),
      close: () => undefined,
      closed: false,
      delivered: Promise.resolve(),
      pending: 0,
      latest: undefined,
    };
    shared.set(key, entry);
    const deliver = (result: FormattedExecutionResult) => {
      const json = JSON.stringify(result);
      entry.latest = { result, json };
      for (const subscriber of entry.subscribers) subscriber.push(result, json);
    };
    // Ends the subscription for its subscribers once the events before the end are delivered.
    const finish = (last?: FormattedExecutionResult) => {
      if (entry.closed) return;
      close(entry);
      entry.delivered = entry.delivered.then(() => {
        if (last) deliver(last);
        for (const subscriber of entry.subscribers) subscriber.end();
        entry.subscribers.clear();
      });
    };
    try {
      entry.close = source.open({
        next: (event) => {
          if (entry.closed) return;
          if (entry.pending >= options.maxPendingEvents) {
            logger.warn({ pending: entry.pending }, 'subscription events arrive faster than they resolve');
            return finish(failure('The subscription produced events faster than they could be resolved'));
          }
          entry.pending++;
          const result = source.execute(event);
          entry.delivered = entry.delivered.then(async () => {
            const resolved = await result;
            entry.pending--;
            // Subscribers that left are no longer in the set: nobody else is sent anything.
            deliver(resolved);
          });
        },
        error: (error: unknown) => {
          logger.warn({ err: error }, 'upstream subscription failed');
          finish(failure('The subscription failed upstream'));
        },
        complete: () => finish(),
      });
    } catch (error) {
      logger.error({ err: error }, 'could not open an upstream subscription');
      finish(failure('The subscription could not be opened'));
    }
    // The source may have ended before open() returned: close what it returned too.
    if (entry.closed) entry.close();
    return entry;
  }

  return {
    join(key, subscriber, source, replayLatest = false) {
      const entry = shared.get(key) ?? open(key, source());
      // Events still resolving reach the new subscriber after this one, in order.
      if (replayLatest && entry.latest) subscriber.push(entry.latest.result, entry.latest.json);
      entry.subscribers.add(subscriber);
      // Holds the entry, not this caller's copy of the key (one per subscriber otherwise).
      return () => leave(entry, subscriber);
    },
    clear() {
      for (const entry of [...shared.values()]) {
        entry.subscribers.clear();
        close(entry);
      }
    },
    stats() {
      let subscribers = 0;
      for (const entry of shared.values()) subscribers += entry.subscribers.size;
      return { upstreams: shared.size, subscribers };
    },
  };
}
