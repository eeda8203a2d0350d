import {
  DEFAULT_BUFFER_SIZE,
  PubSubClosedError,
  type PubSubStats,
  type SubscribeOptions,
  type Subscription,
} from './pubsub.js';

/** What a backend does when a channel gains its first local subscriber, or loses its last. */
export type ChannelHooks = {
  /** Starts receiving the channel; resolves once messages published from now on arrive. */
  activate(channel: string): Promise<void>;
  /** Stops receiving the channel. Called once per successful or failed `activate`. */
  deactivate(channel: string): void;
};

/**
 * The local half of both backends: reference-counted channels, each with its set of
 * subscriptions, and the fan-out of one incoming message to all of them. The backend only says
 * how a channel is switched on and off (Redis: SUBSCRIBE/UNSUBSCRIBE on the shared connection).
 */
export interface Fanout {
  subscribe<T>(channel: string, options?: SubscribeOptions): Promise<Subscription<T>>;
  /** Hands a message (JSON text) to every local subscriber of `channel`; false when it is not valid JSON. */
  deliver(channel: string, json: string): boolean;
  /** Whether any local subscriber listens on `channel`. */
  has(channel: string): boolean;
  stats(): PubSubStats;
  /** Ends every subscription; later `subscribe` calls fail. */
  close(): void;
}

type Entry = { subscribers: Set<LocalSubscription<unknown>>; active: Promise<void> };

export function createFanout(hooks: ChannelHooks): Fanout {
  const channels = new Map<string, Entry>();
  let closed = false;

  const release = (channel: string, entry: Entry, subscription: LocalSubscription<unknown>): void => {
    entry.subscribers.delete(subscription);
    // The entry may already be gone (close()) or replaced by a newer one for the same channel.
    if (entry.subscribers.size === 0 && channels.get(channel) === entry) {
      channels.delete(channel);
      hooks.deactivate(channel);
    }
  };

  return {
    async subscribe<T>(channel: string, options: SubscribeOptions = {}): Promise<Subscription<T>> {
      if (closed) throw new PubSubClosedError();
      const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
      if (!Number.isInteger(bufferSize) || bufferSize < 1) {
        throw new RangeError(`bufferSize must be a positive integer, got ${bufferSize}`);
      }
      options.signal?.throwIfAborted();

      let entry = channels.get(channel);
      if (!entry) {
        entry = { subscribers: new Set(), active: hooks.activate(channel) };
        // Each subscriber awaits it below; this keeps a failure nobody awaits any more quiet.
        entry.active.catch(() => {});
        channels.set(channel, entry);
      }
      const owner = entry;
      const subscription = new LocalSubscription<unknown>(channel, bufferSize, options.signal, (self) =>
        release(channel, owner, self),
      );
      owner.subscribers.add(subscription);
      try {
        await owner.active;
      } catch (error) {
        subscription.close();
        throw error;
      }
      if (closed) {
        subscription.close();
        throw new PubSubClosedError();
      }
      // Aborted while the channel was being switched on.
      options.signal?.throwIfAborted();
      return subscription as Subscription<T>;
    },

    deliver(channel, json) {
      const entry = channels.get(channel);
      if (!entry) return true;
      let message: unknown;
      try {
        message = JSON.parse(json);
      } catch {
        return false;
      }
      for (const subscription of entry.subscribers) subscription.push(message);
      return true;
    },

    has: (channel) => channels.has(channel),

    stats() {
      let subscribers = 0;
      let waitingReads = 0;
      for (const entry of channels.values()) {
        subscribers += entry.subscribers.size;
        for (const subscription of entry.subscribers) waitingReads += subscription.waitingReads;
      }
      return { channels: channels.size, subscribers, waitingReads };
    },

    close() {
      closed = true;
      for (const entry of [...channels.values()]) {
        for (const subscription of [...entry.subscribers]) subscription.close();
      }
    },
  };
}

type Waiter<T> = (result: IteratorResult<T, undefined>) => void;

/** A fixed-capacity FIFO; pushing onto a full one drops the oldest item. */
class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  /** Returns true when an item had to be dropped to make room. */
  push(item: T): boolean {
    const full = this.size === this.capacity;
    this.items[(this.head + this.size) % this.capacity] = item;
    if (full) this.head = (this.head + 1) % this.capacity;
    else this.size++;
    return full;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class LocalSubscription<T> implements Subscription<T> {
  private readonly buffer: RingBuffer<T>;
  private readonly waiters: Waiter<T>[] = [];
  private droppedCount = 0;
  private ended = false;
  private readonly onAbort = (): void => this.close();

  constructor(
    readonly channel: string,
    bufferSize: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onClose: (self: LocalSubscription<T>) => void,
  ) {
    this.buffer = new RingBuffer(bufferSize);
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get dropped(): number {
    return this.droppedCount;
  }

  get closed(): boolean {
    return this.ended;
  }

  get waitingReads(): number {
    return this.waiters.length;
  }

  push(message: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ done: false, value: message });
    else if (this.buffer.push(message)) this.droppedCount++;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.buffer.size > 0) return Promise.resolve({ done: false, value: this.buffer.shift() as T });
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer.clear();
    this.signal?.removeEventListener('abort', this.onAbort);
    for (const waiter of this.waiters.splice(0)) waiter(DONE);
    this.onClose(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
