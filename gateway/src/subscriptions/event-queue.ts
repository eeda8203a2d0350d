/**
 * The events waiting for one client subscription: what graphql-ws iterates to send them. It holds
 * at most `limit` events; a client that lets more pile up is not keeping up, and the queue calls
 * `onOverflow` instead of growing.
 */
export type EventQueue<T> = AsyncIterableIterator<T> & {
  push(value: T): void;
  /** No more events: the consumer finishes once it has taken the queued ones. */
  end(): void;
  return(): Promise<IteratorResult<T>>;
};

export type EventQueueOptions = {
  limit: number;
  onOverflow(): void;
  /** Called once, when the queue takes no more events: ended, returned or overflowed. */
  onDone(): void;
};

export function createEventQueue<T>(options: EventQueueOptions): EventQueue<T> {
  const queued: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | null = null;
  let ended = false;
  const finished = { done: true, value: undefined } as IteratorResult<T>;

  const finish = () => {
    if (ended) return;
    ended = true;
    options.onDone();
  };
  const stop = () => {
    queued.length = 0;
    finish();
    waiting?.(finished);
    waiting = null;
  };

  return {
    push(value) {
      if (ended) return;
      if (waiting) {
        waiting({ done: false, value });
        waiting = null;
        return;
      }
      if (queued.length >= options.limit) {
        stop();
        options.onOverflow();
        return;
      }
      queued.push(value);
    },
    end() {
      finish();
      if (queued.length === 0) {
        waiting?.(finished);
        waiting = null;
      }
    },
    next() {
      if (queued.length > 0) return Promise.resolve({ done: false, value: queued.shift() as T });
      if (ended) return Promise.resolve(finished);
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      stop();
      return Promise.resolve(finished);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
