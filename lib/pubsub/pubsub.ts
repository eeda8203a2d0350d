/**
 * Publish/subscribe of domain events across processes: prediction progress that a GraphQL
 * subscription streams to browsers, log lines for log tailing.
 *
 * Delivery is at most once and only to subscribers present when a message is published: there is
 * no history and no replay, and messages published while the Redis connection is down are lost.
 * A subscriber that must not miss a state (a prediction's status) subscribes first, then reads
 * the current state, then applies the events.
 */
export interface PubSub {
  readonly kind: 'redis' | 'memory';
  /**
   * Sends `message`, serialized as JSON, to every subscriber of `channel` in every process.
   * Resolves once the broker has it (Redis: the PUBLISH reply), not once subscribers read it.
   * @throws TypeError when `message` has no JSON form (undefined, a function, a BigInt…)
   */
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Subscribes to `channel`. Resolves once the subscription is active: every message published
   * afterwards reaches it. Iterating the result yields the messages (parsed JSON) in publish
   * order; ending the iteration (`return()`, `break` in `for await`, or `close()`) unsubscribes
   * and releases everything the subscription held.
   * @throws PubSubClosedError once `close()` was called
   */
  subscribe<T = unknown>(channel: string, options?: SubscribeOptions): Promise<Subscription<T>>;
  /** Counts of what is held right now, for metrics and leak checks. */
  stats(): PubSubStats;
  /** Ends every subscription and releases the connections; the instance is unusable afterwards. */
  close(): Promise<void>;
}

export type SubscribeOptions = {
  /**
   * Messages kept for a subscriber that reads slower than they arrive. When the buffer is full
   * the oldest message is dropped and counted in `Subscription.dropped`: a browser that lags
   * behind sees the latest progress rather than a stream cut short. Default DEFAULT_BUFFER_SIZE.
   */
  bufferSize?: number;
  /** Aborting ends the subscription, as `close()` does (e.g. the client's WebSocket went away). */
  signal?: AbortSignal;
};

export const DEFAULT_BUFFER_SIZE = 256;

/**
 * One subscriber's view of a channel. Several `next()` calls may wait at once; they are served in
 * order. Messages are parsed once per process and the same value goes to every local subscriber
 * of the channel: treat it as read-only.
 */
export interface Subscription<T = unknown> extends AsyncIterableIterator<T> {
  readonly channel: string;
  /** Messages dropped because the buffer was full (oldest first). */
  readonly dropped: number;
  /** True once the subscription ended, for whatever reason. */
  readonly closed: boolean;
  /** Ends the iteration: waiting and later `next()` calls return `done`. Idempotent. */
  close(): void;
  /** Same as `close()`; what `for await` calls when the loop is left early. */
  return(): Promise<IteratorResult<T, undefined>>;
}

export type PubSubStats = {
  /** Channels with at least one local subscriber (Redis: channels this process is subscribed to). */
  channels: number;
  /** Live subscriptions over all channels. */
  subscribers: number;
  /** `next()` calls waiting for a message. */
  waitingReads: number;
};

export class PubSubClosedError extends Error {
  constructor() {
    super('The pub/sub is closed');
  }
}

/** JSON text of a message; the one place both backends serialize, so they refuse the same values. */
export function serializeMessage(message: unknown): string {
  const json: string | undefined = JSON.stringify(message);
  if (json === undefined) throw new TypeError(`A ${typeof message} cannot be published: it has no JSON form`);
  return json;
}
