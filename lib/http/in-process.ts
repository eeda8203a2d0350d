import {
  IncomingMessage,
  ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a call may take, and what it fails with when it takes longer: a timer per call, cleared
 * when the answer is whole (no AbortController: one per call cost a tenth of a subgraph fetch's CPU).
 */
export type Deadline = { ms: number; reason: () => Error };

/** A request handed to a service server in this process, with no socket between: what HTTP would carry. */
export type InProcessRequest = {
  method: string;
  /** Path and query, e.g. `/graphql`. */
  path: string;
  /** Lower-case names, as Node's parser gives them. */
  headers: Record<string, string>;
  body: string;
  /** Aborting it is the client going away: the request is destroyed as a closed connection's would be. */
  signal?: AbortSignal | undefined;
  /** The client going away after `ms` (as `signal` aborted then), rejecting with `reason()`: a timer, no AbortSignal. */
  deadline?: Deadline | undefined;
};

export type InProcessAnswer = {
  status: number;
  statusText: string;
  headers: OutgoingHttpHeaders;
  /** The body as the server wrote it, decoded as UTF-8 (the string itself when it wrote one string). */
  body: string;
};

/**
 * What a server that has stopped accepting answers an in-process request: the caller should go to
 * its URL instead, as a new connection would (where another server may listen now, or nothing).
 */
export class InProcessStoppedError extends Error {
  readonly code = 'ECONNREFUSED';
  constructor() {
    super('the server in this process has stopped accepting requests');
    this.name = 'InProcessStoppedError';
  }
}

/** Serves one in-process request through a server's own request handler (its `'request'` listener). */
export type InProcessTarget = (request: InProcessRequest) => Promise<InProcessAnswer>;

/** The stand-in for a connection: the peer is this process, on loopback; nothing is ever read or written through it. */
function loopbackSocket(): Socket {
  return {
    remoteAddress: '127.0.0.1',
    remoteFamily: 'IPv4',
    remotePort: 0,
    localAddress: '127.0.0.1',
    encrypted: false,
    readable: false,
    writable: false,
    destroyed: false,
    destroy() {
      (this as { destroyed: boolean }).destroyed = true;
    },
    on() {
      return this;
    },
    once() {
      return this;
    },
    off() {
      return this;
    },
    removeListener() {
      return this;
    },
    setTimeout() {
      return this;
    },
  } as unknown as Socket;
}

const inProcess = new WeakSet<ServerResponse>();

/** Whether a response is written to a caller in this process (no bytes need encoding for it). */
export function isInProcessResponse(res: ServerResponse): boolean {
  return inProcess.has(res);
}

/**
 * A ServerResponse that hands what is written to `settle` instead of a socket: status, the headers
 * as set (getHeaders()), the body chunks. It keeps ServerResponse's own bookkeeping that handlers
 * read (headersSent, writableEnded, statusCode, 'finish' and 'close').
 */
class CapturedResponse extends ServerResponse {
  readonly #chunks: Array<string | Buffer> = [];
  #settled = false;
  readonly #settle: (answer: InProcessAnswer | Error) => void;

  constructor(req: IncomingMessage, settle: (answer: InProcessAnswer | Error) => void) {
    super(req);
    this.#settle = settle;
    inProcess.add(this);
  }

  #markHeadersSent(): void {
    // What ServerResponse's own headersSent reads: set once the head would have been written.
    (this as unknown as { _header: string })._header ||= 'in-process';
  }

  override writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    if (this.headersSent)
      throw Object.assign(new Error('Cannot write headers after they are sent to the client'), {
        code: 'ERR_HTTP_HEADERS_SENT',
      });
    this.statusCode = statusCode;
    let headers = maybeHeaders;
    if (typeof reasonOrHeaders === 'string') this.statusMessage = reasonOrHeaders;
    else headers = reasonOrHeaders;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(String(headers[i]), headers[i + 1]!);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) this.setHeader(name, value);
    }
    this.#markHeadersSent();
    return this;
  }

  override flushHeaders(): void {
    this.#markHeadersSent();
  }

  override writeContinue(): void {}

  override write(chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean {
    if (this.writableEnded || this.destroyed) return false;
    this.#markHeadersSent();
    this.#push(chunk, encodingOrCallback);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }

  override end(chunk?: unknown, encodingOrCallback?: unknown, callback?: unknown): this {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = undefined;
    }
    if (this.writableEnded || this.destroyed) return this;
    this.#markHeadersSent();
    if (chunk !== undefined && chunk !== null) this.#push(chunk, encodingOrCallback);
    (this as unknown as { finished: boolean }).finished = true;
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    const chunks = this.#chunks;
    const body =
      chunks.length === 0
        ? ''
        : chunks.length === 1 && typeof chunks[0] === 'string'
          ? chunks[0]
          : Buffer.concat(chunks.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))).toString('utf8');
    const req = this.req;
    const answer: InProcessAnswer = {
      // A HEAD request's answer has no body, as on the wire.
      status: this.statusCode,
      statusText: this.statusMessage,
      headers: this.getHeaders(),
      body: req.method === 'HEAD' ? '' : body,
    };
    this.#finish(answer);
    process.nextTick(() => {
      if (typeof done === 'function') (done as () => void)();
      this.emit('prefinish');
      this.emit('finish');
      this.emit('close');
      // Whatever of the request body was left unread goes, as Node dumps it when an answer ends.
      if (!req.readableEnded) req.resume();
    });
    return this;
  }

  override destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    // The connection is cut: the caller gets no answer, as a client sees its socket close.
    this.#finish(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', cause: error }));
    const req = this.req;
    process.nextTick(() => {
      if (!req.destroyed) req.destroy();
      this.emit('close');
    });
    return this;
  }

  #push(chunk: unknown, encoding: unknown): void {
    if (typeof chunk === 'string') {
      this.#chunks.push(
        typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8'
          ? Buffer.from(chunk, encoding as BufferEncoding)
          : chunk,
      );
    } else if (chunk instanceof Uint8Array) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }

  #finish(answer: InProcessAnswer | Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#settle(answer);
  }
}

/**
 * Builds the request and response a connection's parser would, and hands them to `handle` (a
 * server's `'request'` listener): everything the server does for a request (authorization, routes,
 * body limits, metrics, logs) runs as over HTTP; only the bytes of the HTTP framing are never made.
 */
export function dispatchInProcess(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  request: InProcessRequest,
): Promise<InProcessAnswer> {
  const { signal, deadline } = request;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const req = new IncomingMessage(loopbackSocket());
    req.method = request.method;
    req.url = request.path;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    const headers: IncomingHttpHeaders = { ...request.headers };
    if (request.body.length > 0 || request.method === 'POST')
      headers['content-length'] = String(Buffer.byteLength(request.body));
    req.headers = headers;
    const rawHeaders: string[] = [];
    for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value as string);
    req.rawHeaders = rawHeaders;
    if (request.body.length > 0) req.push(request.body, 'utf8');
    req.push(null);
    // The whole body is here: nothing can stall.
    req.complete = true;
    let onAbort: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const res = new CapturedResponse(req, (answer) => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      if (answer instanceof Error) reject(answer);
      else setImmediate(resolve, answer);
    });
    // The caller went away: the server sees its request aborted and its response closed.
    const goAway = (reason: unknown) => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      onAbort = undefined;
      clearTimeout(timer);
      reject(reason);
      res.destroy();
    };
    if (signal) {
      onAbort = () => goAway(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (deadline) timer = setTimeout(() => goAway(deadline.reason()), deadline.ms);
    // Started, and answered, from the event loop's check phase as a request and an answer read
    // from a socket would be: a subgraph whose work is all promises would otherwise keep the
    // loop in microtasks from the gateway's request to its answer, and no other client's request
    // would be read meanwhile (nor share this one's answer, as identical queries in flight do).
    setImmediate(handle, req, res);
  });
}
