import type { FormattedExecutionResult } from 'graphql-ws';
import type { Subscriber } from './shared-subscriptions.js';

/** The part of a `ws` WebSocket a stream writes to. */
export type StreamSocket = {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string, callback: (error?: Error) => void): void;
};

/**
 * One client subscription. Its events go straight to the client's WebSocket as graphql-ws `next`
 * messages, the payload serialized once per event for every subscriber sharing it (the caller
 * passes that JSON), which is what makes fan-out to thousands of clients cheap. graphql-ws
 * iterates the stream only to learn when it ends, and then sends `complete` itself, after the
 * events already written.
 *
 * A client that does not read lets its messages pile up unsent (the kernel's buffers full, then
 * `ws`'s): past `maxUnsent` messages not yet handed to the kernel, `onOverflow` is called instead
 * of sending more, once.
 */
export type ClientStream = Subscriber & AsyncIterableIterator<never> & { return(): Promise<IteratorResult<never>> };

export type ClientStreamOptions = {
  socket: StreamSocket;
  /** The graphql-ws subscription id the client chose. */
  id: string;
  maxUnsent: number;
  onOverflow(): void;
  /** Called once, when the stream takes no more events: ended, returned or overflowed. */
  onDone(): void;
};

const finished: IteratorResult<never> = { done: true, value: undefined };

export function createClientStream(options: ClientStreamOptions): ClientStream {
  const { socket, maxUnsent } = options;
  const prefix = `{"id":${JSON.stringify(options.id)},"type":"next","payload":`;
  let unsent = 0;
  let done = false;
  let waiting: ((result: IteratorResult<never>) => void) | null = null;
  const sent = () => {
    unsent--;
  };

  const finish = () => {
    if (done) return;
    done = true;
    options.onDone();
    waiting?.(finished);
    waiting = null;
  };

  return {
    push(result: FormattedExecutionResult, json = JSON.stringify(result)) {
      if (done || socket.readyState !== socket.OPEN) return;
      if (unsent >= maxUnsent) {
        finish();
        options.onOverflow();
        return;
      }
      unsent++;
      socket.send(`${prefix}${json}}`, sent);
    },
    end: finish,
    next() {
      return done ? Promise.resolve(finished) : new Promise((resolve) => (waiting = resolve));
    },
    return() {
      finish();
      return Promise.resolve(finished);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
