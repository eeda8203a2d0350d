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

/**
 * One event's message around its JSON; '' sends nothing. A frame that is the same text before and
 * after every JSON says so (`around`), which lets a socket that can be written to directly get the
 * event's bytes, encoded once for all its recipients, between them.
 */
export type MessageFrame = ((json: string) => string) & {
  around?: { head: string; headBytes: number; tail: string };
};

/** Writes `head` + `body` + `tail` to `socket` as one message directly, or returns false (lib/http/ws-frames.ts). */
export type DirectWriter = (
  socket: object,
  head: string,
  headBytes: number,
  body: Buffer,
  tail: string,
  callback: (error?: Error | null) => void,
) => boolean;

export type ClientStreamOptions = StreamHooks & {
  socket: StreamSocket;
  /** One event's message around its JSON (graphql-ws: a `next` message of the client's subscription id). */
  frame: MessageFrame;
  /** The graphql-ws subscription id `frame` frames for: what a socket owner (`socket.fanout`) frames with instead. */
  subscriptionId?: string;
  /** Writes the frame around the event's bytes straight to the socket, when it can (a `ws` WebSocket). */
  writeDirect?: DirectWriter | undefined;
};

/** The graphql-ws `next` message of subscription `id`, around an event's JSON. */
export function graphqlWsNext(id: string): MessageFrame {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const frame: MessageFrame = (json) => `${head}${json}}`;
  frame.around = { head, headBytes: Buffer.byteLength(head), tail: '}' };
  return frame;
}

/**
 * The UTF-8 bytes of an event's JSON, encoded once for all the subscribers it is pushed to one
 * after the other (the same string, so the check is a pointer comparison).
 */
let lastJson: string | undefined;
let lastBytes: Buffer = Buffer.alloc(0);
export function encodedOnce(json: string): Buffer {
  if (json !== lastJson) {
    lastBytes = Buffer.from(json);
    lastJson = json;
  }
  return lastBytes;
}

const finished: IteratorResult<never> = { done: true, value: undefined };

export function createClientStream(options: ClientStreamOptions): ClientStream {
  const { socket, maxUnsent, frame, subscriptionId } = options;
  const direct = frame.around && options.writeDirect;
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
      if (direct) {
        const { head, headBytes, tail } = frame.around!;
        unsent++;
        if (direct(socket, head, headBytes, encodedOnce(json), tail, sent)) return;
        unsent--;
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
