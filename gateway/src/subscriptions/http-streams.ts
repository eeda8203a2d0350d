import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode, type FormattedExecutionResult } from 'graphql-ws';
import { GraphQLError, OperationTypeNode, type GraphQLFormattedError } from 'graphql';
import { err, ErrorCode, errorCatalog } from '../../../lib/errors.js';
import { readRequestBody } from '../../../lib/http/graphql-handler.js';
import { SERVICE_RESTART } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';
import { createClientStream, type StreamSocket } from './client-stream.js';
import { SubscriptionCloseCode } from './close-codes.js';
import type { ClientTransport, OperationPayload, SubscriptionConnections } from './subscription-server.js';

/**
 * How one protocol frames a stream: GraphQL over SSE (graphql-sse's "distinct connections" mode),
 * Apollo's multipart HTTP subscriptions, or another door's (REST's Server-Sent Events). Frames are
 * written as they come (no buffering), each event's JSON being the one shared by every subscriber
 * of the event.
 */
export type StreamFraming = {
  contentType: string;
  /** Written with the headers, so that they reach the client through proxies at once. */
  start: string;
  /** An event's frame around its execution result's JSON; '' writes nothing (the framing holds it back). */
  next(json: string): string;
  heartbeat: string;
  /** The end of a stream that completed. */
  complete: string;
  /**
   * The end of a stream the gateway ends itself: `retry` when the client should subscribe again
   * (shutdown, a new supergraph), else for good (a revoked or expired token).
   */
  fail(error: GraphQLFormattedError, retry: boolean): string;
};

const SSE_COMPLETE = 'event: complete\ndata:\n\n';
const sse: StreamFraming = {
  contentType: 'text/event-stream; charset=utf-8',
  // A comment: what graphql-sse's own handler sends first (some browsers wait for a byte).
  start: ':\n\n',
  next: (json) => `event: next\ndata: ${json}\n\n`,
  heartbeat: ':\n\n',
  complete: SSE_COMPLETE,
  // A stream cut without `complete` is what makes graphql-sse clients retry (as graphql-ws ones
  // do on 1012 and 4000); a final error event otherwise, which they report.
  fail: (error, retry) => (retry ? '' : `event: next\ndata: ${JSON.stringify({ errors: [error] })}\n\n${SSE_COMPLETE}`),
};

// Apollo's protocol: every part is followed by the delimiter at once, so a client (which parses a
// part only when the next delimiter arrives) sees each event as it is written.
const part = (json: string) => `\r\ncontent-type: application/json\r\n\r\n${json}\r\n--graphql`;
const multipart: StreamFraming = {
  contentType: 'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"',
  start: '\r\n--graphql',
  next: (json) => part(`{"payload":${json}}`),
  heartbeat: part('{}'),
  complete: '--\r\n',
  // A transport error: `payload` null, the error beside it (Apollo Client reports it as one).
  fail: (error) => `${part(`{"payload":null,"errors":[${JSON.stringify(error)}]}`)}--\r\n`,
};

export type HttpStreamProtocol = 'sse' | 'multipart';
const framings: Record<HttpStreamProtocol, StreamFraming> = { sse, multipart };

/**
 * The streaming protocol an Accept header asks for, if any: `text/event-stream`, or
 * `multipart/mixed` with a `subscriptionSpec` parameter (what Apollo Client sends for
 * subscriptions; multipart/mixed alone is incremental delivery, which the gateway does not serve).
 */
export function streamProtocolOf(accept: string | undefined): HttpStreamProtocol | undefined {
  for (const range of (accept ?? '').toLowerCase().split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    if (params.some((p) => p === 'q=0' || p === 'q=0.0')) continue;
    if (type === 'text/event-stream') return 'sse';
    if (type === 'multipart/mixed' && params.some((p) => p.startsWith('subscriptionspec='))) return 'multipart';
  }
  return undefined;
}

/** Why the gateway ends a stream, by the WebSocket close code it would close a socket with. */
function endingError(code: number, reason: string): GraphQLFormattedError {
  if (code === CloseCode.Unauthorized) return err(ErrorCode.UNAUTHENTICATED, reason).toJSON();
  if (code === SubscriptionCloseCode.SupergraphChanged) {
    return { message: 'The gateway now serves another supergraph: subscribe again' };
  }
  return { message: 'The gateway is restarting: subscribe again' };
}

export type HttpStreamsOptions = {
  connections: SubscriptionConnections;
  logger: Logger;
  /** The client's address (behind proxies, from X-Forwarded-For). */
  clientIp(req: IncomingMessage): string;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** Interval of heartbeats (SSE comments, empty multipart parts) on every open stream. @default 12000 */
  heartbeatMs?: number;
};

/** How a door streaming its own way (stream()) answers what is not an event. */
export type StreamAnswers = {
  framing: StreamFraming;
  /** A refusal before the stream starts (no stream, or the operation refused), with its status when not the first error's catalog status. */
  refuse(res: ServerResponse, errors: ReadonlyArray<GraphQLError | GraphQLFormattedError>, status?: number): void;
  /** Once the subscription is open upstream and its stream started, before its first event is framed. */
  opened?(): void;
  /**
   * The response's head waits for the first thing written (the first event's frame, or a
   * heartbeat) instead of going out when the stream starts, so a stream of a state can answer
   * with its first state's status (a prediction that does not exist: 404). The framing then
   * writes its start itself.
   */
  holdHead?: boolean;
};

export type HttpStreams = {
  /** Serves one request of `protocol` (see streamProtocolOf): an operation, streamed. */
  serve(protocol: HttpStreamProtocol, req: IncomingMessage, res: ServerResponse, search: string): Promise<void>;
  /**
   * Streams one subscription for another door (REST's Server-Sent Events): the operation is the
   * door's, framed and refused the door's way; the connection, caps, sharing, heartbeats and
   * endings are those of every HTTP stream.
   */
  stream(req: IncomingMessage, res: ServerResponse, payload: OperationPayload, answers: StreamAnswers): Promise<void>;
  /** Open streams. */
  open(): number;
  /**
   * Shutdown: ends every open stream, telling its client to subscribe again, and refuses new
   * ones, so that the server's drain does not wait for them.
   */
  close(): void;
};

/** The part of a response a client stream writes to, as a socket. */
function responseSocket(res: ServerResponse): StreamSocket {
  return {
    OPEN: 1,
    get readyState() {
      return res.writable ? 1 : 0;
    },
    send: (data, callback) => void res.write(data, (error) => callback(error ?? undefined)),
  };
}

/**
 * Subscriptions without WebSockets: one HTTP request is one connection of the subscription
 * server, holding one operation, authenticated by its Authorization header (like every HTTP
 * request) and held to the same admission pipeline, caps and sharing as a WebSocket's. A query
 * or mutation is answered as a single result (an SSE stream of one event, as graphql-sse does; a
 * JSON response over multipart, whose Accept admits it).
 *
 * graphql-sse's own handler is not used: it pulls events into an unbounded queue of its own and
 * serializes each event once per subscriber, where the shared JSON and the slow-consumer bound
 * of client-stream.ts are what makes fan-out cheap and safe; its wire format is kept exactly.
 */
export function createHttpStreams(options: HttpStreamsOptions): HttpStreams {
  const { connections, logger } = options;
  /** Open streams, by the function that ends one (shutdown). */
  const streams = new Set<() => void>();
  let closing = false;
  const heartbeats = new Set<() => void>();
  const heartbeat = setInterval(() => heartbeats.forEach((beat) => beat()), options.heartbeatMs ?? 12_000);
  heartbeat.unref();

  async function serve(protocol: HttpStreamProtocol, req: IncomingMessage, res: ServerResponse, search: string) {
    if (closing) return sendErrors(res, [{ message: 'The gateway is restarting: subscribe again' }], 503);
    const payload = await readPayload(req, res, search);
    if (!payload) return;
    await run(req, res, payload, {
      framing: framings[protocol],
      refuse: sendErrors,
      answer(result) {
        if (protocol === 'multipart') {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(result));
        } else {
          res.writeHead(200, streamHeaders(sse.contentType));
          res.end(sse.start + sse.next(JSON.stringify(result)) + sse.complete);
        }
      },
    });
  }

  /** One operation streamed as `answers` frame it: a subscription, or a query or mutation answered once. */
  async function run(
    req: IncomingMessage,
    res: ServerResponse,
    payload: OperationPayload,
    answers: StreamAnswers & { answer?(result: FormattedExecutionResult): void },
  ) {
    const { framing } = answers;
    const sendErrors = answers.refuse;

    /** What the stream ends with, when not its completion. */
    let ending: string | undefined;
    let started = false;
    const beat = () => void res.write(framing.heartbeat);
    const transport: ClientTransport = {
      clientIp: options.clientIp(req),
      openStream: (_id, hooks) => {
        // The point of no return: every refusal is answered before this.
        started = true;
        if (answers.holdHead) {
          for (const [name, value] of Object.entries(streamHeaders(framing.contentType))) res.setHeader(name, value);
        } else {
          res.writeHead(200, streamHeaders(framing.contentType));
          res.write(framing.start);
        }
        heartbeats.add(beat);
        return createClientStream({ socket: responseSocket(res), frame: framing.next, ...hooks });
      },
      close: (code, reason) => {
        // A client that does not read would not read an explanation either.
        if (code === SubscriptionCloseCode.SlowConsumer) return void res.destroy();
        ending ??= framing.fail(endingError(code, reason), code !== CloseCode.Unauthorized);
        end();
      },
    };
    const connection = await connections.connect(transport, req.headers.authorization);
    if (connection === 'token-missing' || connection === 'token-invalid') {
      const message =
        connection === 'token-missing'
          ? 'Authentication required: send the header "Authorization: Bearer <accessToken>"'
          : 'Invalid or expired access token';
      return sendErrors(res, [err(ErrorCode.UNAUTHENTICATED, message).toJSON()]);
    }
    const end = () => {
      heartbeats.delete(beat);
      streams.delete(shutdown);
      connections.disconnect(connection);
      if (started && !res.writableEnded) res.end(ending ?? framing.complete);
    };
    const shutdown = () => {
      ending ??= framing.fail(endingError(SERVICE_RESTART, ''), true);
      end();
    };
    streams.add(shutdown);
    // A client gone at any point (planning included) releases what it holds.
    res.once('close', end);

    const operation = await connections.prepare(connection, '', payload);
    if (!('type' in operation)) return refuse(operation);
    if (operation.type === OperationTypeNode.MUTATION && req.method === 'GET') {
      res.setHeader('allow', 'POST');
      return refuse([err(ErrorCode.BAD_USER_INPUT, 'Mutations are sent with POST')], 405);
    }
    if (operation.type !== OperationTypeNode.SUBSCRIPTION) {
      if (!answers.answer) return refuse([err(ErrorCode.BAD_USER_INPUT, 'Only subscriptions are streamed here')]);
      const result = await connections.execute(operation);
      end();
      return answers.answer(result);
    }
    const stream = await connections.subscribe(operation);
    if (stream instanceof GraphQLError) return refuse([stream]);
    answers.opened?.();
    // The stream yields nothing: next() settles when the subscription completes, the client
    // leaves, or the gateway ends it (transport.close).
    await stream.next();
    end();

    function refuse(errors: ReadonlyArray<GraphQLError | GraphQLFormattedError>, status?: number) {
      end();
      sendErrors(res, errors, status);
    }
  }

  const failed = (res: ServerResponse, refuse: StreamAnswers['refuse']) => (error: unknown) => {
    logger.error({ err: error }, 'subscription stream failed');
    if (!res.headersSent) refuse(res, [err(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')]);
    else res.destroy();
  };

  return {
    serve: (protocol, req, res, search) => serve(protocol, req, res, search).catch(failed(res, sendErrors)),
    stream: (req, res, payload, answers) => {
      if (closing) {
        answers.refuse(res, [{ message: 'The gateway is restarting: subscribe again' }], 503);
        return Promise.resolve();
      }
      return run(req, res, payload, answers).catch(failed(res, answers.refuse));
    },
    open: () => streams.size,
    close: () => {
      closing = true;
      clearInterval(heartbeat);
      for (const shutdown of [...streams]) shutdown();
    },
  };

  /** The operation of a POST (a JSON body) or a GET (query parameters), or undefined once refused. */
  async function readPayload(
    req: IncomingMessage,
    res: ServerResponse,
    search: string,
  ): Promise<OperationPayload | undefined> {
    let params: Record<string, unknown>;
    if (req.method === 'GET') {
      const query = new URLSearchParams(search);
      params = Object.fromEntries(query);
      for (const name of ['variables', 'extensions'] as const) {
        const text = query.get(name);
        if (text === null) continue;
        try {
          params[name] = JSON.parse(text);
        } catch {
          return void sendErrors(res, [badRequest(`The ${name} parameter is not valid JSON`)]);
        }
      }
    } else if (req.method === 'POST') {
      if (!(req.headers['content-type'] ?? '').includes('application/json')) {
        return void sendErrors(res, [badRequest('Send the operation as JSON: content-type: application/json')], 415);
      }
      const raw = await readRequestBody(req, res, options.maxBodyBytes, options.bodyTimeoutMs);
      if (raw === undefined) return undefined;
      try {
        params = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return void sendErrors(res, [badRequest('Request body is not valid JSON')]);
      }
    } else {
      res.setHeader('allow', 'GET, POST');
      return void sendErrors(res, [badRequest('Streams are requested with POST (or GET)')], 405);
    }
    const problem = payloadProblem(params);
    if (problem) return void sendErrors(res, [badRequest(problem)]);
    return params as OperationPayload;
  }
}

const streamHeaders = (contentType: string) => ({
  'content-type': contentType,
  'cache-control': 'no-cache',
  // nginx (and the proxies that follow its lead) would otherwise buffer the stream.
  'x-accel-buffering': 'no',
});

const badRequest = (message: string) => err(ErrorCode.BAD_USER_INPUT, message).toJSON();

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a request's parameters, as GraphQL over HTTP has them, if anything. */
function payloadProblem(params: unknown): string | undefined {
  if (!isObject(params)) return 'The request must be a JSON object: {"query": "...", "variables": {...}}';
  const { query, variables, operationName, extensions } = params as Record<string, unknown>;
  if (typeof query !== 'string') return 'The request has no "query" string';
  if (variables != null && !isObject(variables)) return '"variables" must be an object';
  if (operationName != null && typeof operationName !== 'string') return '"operationName" must be a string';
  if (extensions != null && !isObject(extensions)) return '"extensions" must be an object';
  return undefined;
}

/**
 * A request refused before its stream starts: a GraphQL response with the first error's status
 * (the error catalog's), as a JSON request would get it.
 */
function sendErrors(
  res: ServerResponse,
  errors: ReadonlyArray<GraphQLError | GraphQLFormattedError>,
  status?: number,
): void {
  if (res.headersSent) return void res.end();
  const first = errors[0]?.extensions ?? {};
  const code = first.code as ErrorCode | undefined;
  res.statusCode = status ?? (code && errorCatalog[code] ? errorCatalog[code].httpStatus : 400);
  if (typeof first.retryAfter === 'number') res.setHeader('retry-after', String(first.retryAfter));
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors }));
}
