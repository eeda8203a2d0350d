import type { FormattedExecutionResult } from 'graphql-ws';
import type { ClientSocket } from '../../../lib/http/service-server.js';
import type { Subscriber } from './shared-subscriptions.js';

/** The part of a `ws` WebSocket (or of an HTTP response, adapted) a stream writes to. */
export type StreamSocket = {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string, callback: (error?: Error) => void): void;
  /** A socket held by a socket owner process (lib/http/socket-owners.ts): the owner frames and writes the events, and bounds what is unsent. */
  fanout?: ClientSocket['fanout'];
};

/**
 * One client subscription. Its events go straight to the client's socket (a WebSocket, or the
 * response of an HTTP stream) framed by the transport (graphql-ws `next` messages, SSE events,
 * multipart parts), the payload serialized once per event for every subscriber sharing it (the
 * caller passes that JSON), which is what makes fan-out to thousands of clients cheap. graphql-ws
 * iterates the stream only to learn when it ends, and then sends `complete` itself, after the
 * events already written; the HTTP transports do the same with their own ending.
 *
 * A client that does not read lets its messages pile up unsent (the kernel's buffers full, then
 * `ws`'s): past `maxUnsent` messages not yet handed to the kernel, `onOverflow` is called instead
 * of sending more, once.
 */
export type ClientStream = Subscriber & AsyncIterableIterator<never> & { return(): Promise<IteratorResult<never>> };

/** What the subscription server hands a transport to open a client stream with. */
export type StreamHooks = {
  maxUnsent: number;
  onOverflow(): void;
  /** Called once, when the stream takes no more events: ended, returned or overflowed. */
  onDone(): void;
};

export type ClientStreamOptions = StreamHooks & {
  socket: StreamSocket;
  /** One event's message around its JSON (graphql-ws: a `next` message of the client's subscription id); '' sends nothing. */
  frame(json: string): string;
  /** The graphql-ws subscription id `frame` frames for: what a socket owner (`socket.fanout`) frames with instead. */
  subscriptionId?: string;
};

/** The graphql-ws `next` message of subscription `id`, around an event's JSON. */
export function graphqlWsNext(id: string): (json: string) => string {
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (json) => `${prefix}${json}}`;
}

const finished: IteratorResult<never> = { done: true, value: undefined };

export function createClientStream(options: ClientStreamOptions): ClientStream {
  const { socket, maxUnsent, frame, subscriptionId } = options;
  let unsent = 0;
  let done = false;
  let waiting: ((result: IteratorResult<never>) => void) | null = null;
  const sent = () => {
    unsent--;
  };
  // The owner of the socket counts what is unsent, and tells when it is too much.
  const owned = subscriptionId !== undefined ? socket.fanout : undefined;
  const unwatch = owned?.watchOverflow(subscriptionId!, () => {
    if (done) return;
    finish();
    options.onOverflow();
  });

  const finish = () => {
    if (done) return;
    done = true;
    unwatch?.();
    options.onDone();
    waiting?.(finished);
    waiting = null;
  };

  return {
    push(result: FormattedExecutionResult, json = JSON.stringify(result)) {
      if (done || socket.readyState !== socket.OPEN) return;
      if (owned) return owned.sendNext(subscriptionId!, json, maxUnsent);
      if (unsent >= maxUnsent) {
        finish();
        options.onOverflow();
        return;
      }
      const framed = frame(json);
      // Nothing to write now: the transport's framing holds the event back (and bounds what it holds).
      if (framed === '') return;
      unsent++;
      socket.send(framed, sent);
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
