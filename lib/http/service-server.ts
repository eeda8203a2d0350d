import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { reportUnexpectedError, withRequestContext } from '../telemetry/sentry.js';
import {
  extractContext,
  setHttpRoute,
  SpanKind,
  trackServerSpan,
  tracer,
  tracingEnabled,
} from '../telemetry/tracing.js';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, type Server as GraphQLWsServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { readServerTls, rereadServerTls, watchServerTls, type ServerTlsFiles } from '../tls/index.js';
import { sendGraphQLError, type GraphQLRoute } from './graphql-handler.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_HEADERS_TIMEOUT_MS, type HttpLimits } from './limits.js';
import type { HttpMetrics } from './metrics.js';
import { dispatchInProcess, InProcessStoppedError, type InProcessTarget } from './in-process.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const ownContinue = new WeakSet<RouteHandler>();
/**
 * Marks a route that judges a request before its body: to a client that sent `Expect:
 * 100-continue` it answers 100 itself (`res.writeContinue()`) once it accepts the request, so a
 * refused client never sends its body. Every other route has 100 sent for it at once.
 */
export function sendsOwnContinue(handler: RouteHandler): RouteHandler {
  ownContinue.add(handler);
  return handler;
}

export type ServiceServerOptions = {
  logger: Logger;
  metrics: HttpMetrics;
  /** Serves `/graphql`. */
  graphql: GraphQLRoute;
  /** `/readyz` answers 200 only while this resolves to true. */
  readiness: () => Promise<boolean>;
  /** More routes, by path prefix (e.g. `/uploads/`). */
  routes?: Record<string, RouteHandler>;
  /** Serves WebSocket upgrades of `/graphql`; without it every upgrade is refused. */
  websocket?: WebSocketEndpoint;
  /** What browsers on other origins may do (the gateway's CORS); without it, nothing is checked or added. */
  crossOrigin?: CrossOriginPolicy;
  /**
   * When given, every request but /healthz, /readyz and /metrics must pass it, or is answered 401
   * UNAUTHENTICATED with nothing run (subgraphs: only the gateway's signed header gets in).
   */
  authorize?: (req: IncomingMessage) => boolean;
  /**
   * On close, how long requests already being served get to finish before their connections are
   * cut. @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * Slow and greedy clients: headers and body timeouts (DEFAULT_HEADERS_TIMEOUT_MS,
   * DEFAULT_BODY_TIMEOUT_MS when left out) and a cap of connections per address (none when left
   * out or 0: a subgraph's one client is the gateway). Routes that read bodies apply
   * `bodyTimeoutMs` themselves; a body no route reads is cut here once it stalls that long.
   */
  limits?: Partial<HttpLimits> | undefined;
  /**
   * Serve HTTPS (and WebSockets over TLS), TLS 1.2 at least, with this certificate and key; the
   * files are read again when they change (polled) or on reloadTls(), without a restart.
   */
  tls?: ServerTlsFiles | undefined;
};

/** What orchestrators and Prometheus call, open whatever `authorize` says. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Default of ServiceServerOptions.drainTimeoutMs. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * Requests from browsers on other origins, judged before any route sees them, so that one policy
 * covers every route (and preflights never meet a route's own checks, such as CSRF prevention).
 */
export type CrossOriginPolicy = {
  /**
   * Sets the headers this request's answer carries for its origin, whatever the route answers
   * (errors included); returns true when it answered the request itself (a preflight).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Whether a WebSocket upgrade may go ahead; refused ones are answered 403 before the handshake. */
  admitsUpgrade(req: IncomingMessage): boolean;
};

/** Something that takes over upgraded `/graphql` connections (see createGraphQLWsEndpoint). */
export type WebSocketEndpoint = {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Closes every connection (graphql-ws ones with 1012 Service Restart, which clients retry);
   * called once the HTTP server has stopped accepting, which waits for upgraded sockets too.
   */
  close(): Promise<void>;
};

export type ServiceServer = {
  server: Server;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:4001 (https:// with `tls`). */
  listen(port: number, host: string): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections, answers /readyz with 503, closes WebSocket
   * connections with 1012 (Service Restart), lets requests in flight finish (each on a connection
   * that then closes) for up to `drainTimeoutMs`, then cuts what is left. Calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
  /**
   * Reads the TLS certificate and key again and serves them to new connections (SIGHUP does this
   * in the processes that serve TLS). Throws, keeping the current pair, when the files are
   * unreadable or do not match; without `tls` it does nothing.
   */
  reloadTls(): Promise<void>;
  /**
   * Serves a request from this process without a socket (the one-process platform's gateway): the
   * same handler as a request over HTTP, from CORS and authorization to metrics. Refused, as a
   * connection would be (InProcessStoppedError), once close() has begun.
   */
  inject: InProcessTarget;
};

/**
 * The HTTP server every process runs: GraphQL on /graphql plus the runtime contract's
 * /healthz (alive), /readyz (ready for traffic) and /metrics (Prometheus text).
 */
export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const { logger, metrics } = options;
  const extraRoutes = Object.entries(options.routes ?? {});
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const headersTimeoutMs = options.limits?.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const bodyTimeoutMs = options.limits?.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const maxConnectionsPerIp = options.limits?.maxConnectionsPerIp ?? 0;
  /** Responses not finished yet: told to close their connection when shutdown starts. */
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;
  /** Set once close() has begun: what would be a new connection is refused. */
  let stoppedAccepting = false;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    if (options.crossOrigin?.handle(req, res)) return 'preflight';
    if (options.authorize && !PROBES.has(url.pathname) && !options.authorize(req)) {
      // The body is not read: the connection closes after the answer instead of being reused.
      res.shouldKeepAlive = false;
      sendGraphQLError(res, ErrorCode.UNAUTHENTICATED, 'This service answers only the gateway');
      return 'unauthorized';
    }
    switch (url.pathname) {
      case '/graphql':
        setHttpRoute(req, '/graphql');
        await options.graphql(req, res, url.search.slice(1));
        return '/graphql';
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return '/healthz';
      case '/readyz': {
        // Not ready once shutdown has started, however the probe went: load balancers stop sending work here.
        const ready = (await options.readiness().catch(() => false)) && !closing;
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
        return '/readyz';
      }
      case '/metrics':
        res.setHeader('content-type', metrics.registry.contentType);
        res.end(await metrics.registry.metrics());
        return '/metrics';
    }
    const [prefix, handler] = extraRoute(url) ?? [];
    if (prefix !== undefined && handler) {
      // The prefix until the handler names its own route (a template: no ids in span names).
      setHttpRoute(req, prefix.endsWith('/') ? `${prefix}*` : prefix);
      await handler(req, res, url);
      return prefix;
    }
    sendJson(res, 404, { error: 'not found' });
    return 'unknown';
  }

  function extraRoute(url: URL): [string, RouteHandler] | undefined {
    return extraRoutes.find(([prefix]) => url.pathname.startsWith(prefix));
  }

  const httpOptions: ServerOptions = {
    headersTimeout: headersTimeoutMs,
    // Node's requestTimeout bounds the whole request, which would cut long model uploads that
    // are making progress: bodies are bounded by bodyTimeoutMs (and uploads by their pace) instead.
    requestTimeout: 0,
    // How often Node checks headersTimeout (default 30 s, which would triple a 10 s timeout).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, headersTimeoutMs / 4)),
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://internal');
    // A request that arrives on a kept-alive connection during shutdown is served, then its connection closes.
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    // Node reads and discards a body left unread after the answer, to keep the connection: not
    // a body that stalls, which would hold the connection for as long as its client likes.
    res.once('finish', () => {
      if (!req.complete) cutWhenStalled(req, bodyTimeoutMs);
    });
    const served = () =>
      route(req, res, url).catch((error: unknown) => {
        logger.error({ err: error, path: url.pathname }, 'request failed');
        reportUnexpectedError(error, { path: url.pathname });
        if (!res.headersSent) sendGraphQLError(res, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
        else res.destroy();
        return undefined;
      });
    withRequestContext(req, () =>
      tracingEnabled() && !PROBES.has(url.pathname) ? tracedRoute(req, res, url, served) : served(),
    )
      .then((routeName) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.observe(routeName ?? 'error', req.method ?? 'GET', res.statusCode, seconds);
      })
      .catch(() => undefined);
  };

  /** The request's server span, continuing the caller's W3C `traceparent`; ended when the response is. */
  function tracedRoute(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    served: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const method = req.method ?? 'GET';
    // Named `{method}` until the route that serves the request names it (setHttpRoute): never by its raw path.
    const span = tracer().startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': url.pathname,
          ...(options.metrics.service ? { 'ai_code.service': options.metrics.service } : {}),
        },
      },
      extractContext(req.headers),
    );
    trackServerSpan(req, span, method);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    return context.with(trace.setSpan(context.active(), span), served);
  }
  const tls = options.tls;
  // An HTTPS server is an HTTP server over TLS: the same events and connection methods, which is all
  // that is used of it here (its 'connection' events are the TCP sockets, before the handshake).
  const server: Server = tls
    ? (createHttpsServer({ ...httpOptions, ...readServerTls(tls) }, handle) as HttpsServer as unknown as Server)
    : createServer(httpOptions, handle);
  const reloadTls = async (): Promise<void> => {
    if (!tls) return;
    (server as unknown as HttpsServer).setSecureContext(await rereadServerTls(tls));
    logger.info({ certFile: tls.certFile }, 'TLS certificate reloaded');
  };
  const stopWatching = tls
    ? watchServerTls(tls, () => {
        reloadTls().catch((error: unknown) =>
          logger.warn({ err: error }, 'TLS certificate not reloaded; the previous one stays in use'),
        );
      })
    : undefined;
  server.keepAliveTimeout = 65_000;
  // Expect: 100-continue. Node would send 100 before any route looks at the request; routes that
  // refuse requests before their body (uploads) send it themselves instead.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const handler = extraRoute(new URL(req.url ?? '/', 'http://internal'))?.[1];
    if (!handler || !ownContinue.has(handler)) res.writeContinue();
    server.emit('request', req, res);
  });
  if (maxConnectionsPerIp > 0) capConnectionsPerAddress(server, maxConnectionsPerIp, metrics, logger);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://internal');
    if (url.pathname === '/graphql' && options.websocket) {
      if (options.crossOrigin && !options.crossOrigin.admitsUpgrade(req)) {
        logger.debug({ origin: req.headers.origin }, 'websocket refused: origin not allowed');
        refuseUpgrade(
          socket,
          '403 Forbidden',
          ErrorCode.FORBIDDEN,
          'Pages on this origin may not open WebSockets here',
        );
        return;
      }
      options.websocket.handleUpgrade(req, socket, head);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(
            `${tls ? 'https' : 'http'}://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${address.port}`,
          );
        });
      }),
    close: () => (closing ??= drain()),
    reloadTls,
    inject: (request) =>
      stoppedAccepting ? Promise.reject(new InProcessStoppedError()) : dispatchInProcess(handle, request),
  };

  async function drain(): Promise<void> {
    stopWatching?.();
    // Stop accepting: new connections are refused from here on.
    stoppedAccepting = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // Requests in flight finish; their connections close after the response instead of idling.
    for (const res of inFlight) res.shouldKeepAlive = false;
    server.closeIdleConnections();
    // Connections that finish their last request go idle: close them as they do.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const cut = setTimeout(() => {
      logger.warn({ requests: inFlight.size, drainTimeoutMs }, 'shutdown: cutting requests still in flight');
      server.closeAllConnections();
    }, drainTimeoutMs);
    try {
      // Upgraded sockets still count as the server's connections: close them too, or close() waits.
      await options.websocket?.close();
      await stopped;
    } finally {
      clearInterval(sweep);
      clearTimeout(cut);
    }
  }
}

/** Answers an upgrade request with an HTTP error (a GraphQL error body) instead of a WebSocket, and closes. */
export function refuseUpgrade(
  socket: Duplex,
  status: string,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] });
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Closes a connection whose request body, left unread after the answer, makes no progress for
 * `timeoutMs`.
 */
function cutWhenStalled(req: IncomingMessage, timeoutMs: number): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const progress = () => timer.refresh();
  const done = () => {
    clearTimeout(timer);
    req.off('data', progress);
  };
  req.on('data', progress);
  req.once('end', done);
  socket.once('close', done);
}

/**
 * Refuses connections from an address that already has `max` open (WebSocket ones included): they
 * are closed as they are accepted, before anything is read. The socket's peer address is what is
 * counted, not X-Forwarded-For: behind a reverse proxy every connection comes from the proxy.
 */
function capConnectionsPerAddress(server: Server, max: number, metrics: HttpMetrics, logger: Logger): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      metrics.refusedConnection();
      logger.debug({ address, max }, 'connection refused: too many from one address');
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = open.get(address)! - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** Messages of one connection waiting to be handled; a client sending more at once is closed (1008). */
const MAX_PENDING_MESSAGES = 1000;
const POLICY_VIOLATION = 1008;

/**
 * Hands a connection's messages to graphql-ws one per turn of the event loop: a burst of hundreds
 * (subscribes sent at once, read from the socket in one go) would otherwise be handled in one
 * block, while health checks and every other client wait. Order is kept; a backlog past the bound
 * is abuse, and closes the connection (1008). Returns what to call with each message.
 */
export function messagePump(
  handle: (data: string) => Promise<void>,
  logger: Logger,
  close: (code: number, reason: string) => void,
): (data: Buffer | string) => void {
  const pending: string[] = [];
  let pumping = false;
  const pump = () => {
    const data = pending.shift();
    if (data === undefined) return void (pumping = false);
    handle(data).catch((error: unknown) => {
      logger.error({ err: error }, 'websocket message failed');
      close(CloseCode.InternalServerError, 'Internal server error');
    });
    setImmediate(pump);
  };
  return (data) => {
    if (pending.length >= MAX_PENDING_MESSAGES) {
      pending.length = 0;
      return close(POLICY_VIOLATION, 'Too many messages at once');
    }
    pending.push(data.toString());
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  };
}

/**
 * WebSocket connections per client address (see TRUST_PROXY): an upgrade past
 * `maxConnectionsPerIp` is refused with 429. `release` ends one admitted connection's count.
 */
export function upgradesPerAddress(options: Pick<GraphQLWsEndpointOptions, 'clientIp' | 'maxConnectionsPerIp'>) {
  const perIp = new Map<string, number>();
  const maxPerIp = options.maxConnectionsPerIp ?? Infinity;
  return {
    admit(req: IncomingMessage, socket: Duplex): { clientIp: string; release: () => void } | undefined {
      const clientIp = options.clientIp?.(req) ?? req.socket.remoteAddress ?? 'unknown';
      const open = perIp.get(clientIp) ?? 0;
      if (open >= maxPerIp) {
        refuseUpgrade(
          socket,
          '429 Too Many Requests',
          ErrorCode.RATE_LIMITED,
          `Too many WebSocket connections from this address (at most ${maxPerIp})`,
          { limit: maxPerIp, scope: 'address' },
        );
        return undefined;
      }
      perIp.set(clientIp, open + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (perIp.get(clientIp) ?? 1) - 1;
        if (left > 0) perIp.set(clientIp, left);
        else perIp.delete(clientIp);
      };
      return { clientIp, release };
    },
  };
}

/** WebSocket close code 1012 Service Restart: graphql-ws clients (and most others) retry on it. */
export const SERVICE_RESTART = 1012;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * What graphql-ws hands its hooks about a connection: its socket, and the client's address worked
 * out at upgrade (not the request itself: a connection keeps what is here alive).
 */
export type WebSocketExtra = { socket: ClientSocket; clientIp: string };

/** What the gateway needs of a client's WebSocket: a `ws` socket, or one held by a socket owner (socket-owners.ts). */
export type ClientSocket = {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string, callback: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  /**
   * Present when a socket owner holds the socket: sends one event's JSON as the graphql-ws `next`
   * message of subscription `id`, written by the owner along with every other recipient of the
   * same JSON (one message to the owner per event, not per socket). Past `maxUnsent` messages the
   * client has not taken, the owner writes no more for `id` and `onOverflow` is called, once.
   */
  fanout?: {
    sendNext(id: string, json: string, maxUnsent: number): void;
    /** Calls `onOverflow` when subscription `id` overflows; returns what stops that. */
    watchOverflow(id: string, onOverflow: () => void): () => void;
  };
};

/** An entry of a connection_init payload, its key matched case-insensitively as HTTP header names are. */
export function connectionParam(params: Readonly<Record<string, unknown>> | undefined, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(params ?? {})) if (key.toLowerCase() === lower) return value;
  return undefined;
}

export type GraphQLWsEndpointOptions = {
  logger: Logger;
  /** Largest accepted message, bytes. */
  maxPayload: number;
  /** Interval of server pings; a connection that has not answered the previous one by then is cut. @default 12000 */
  keepAliveMs?: number;
  /** Time a closing connection gets to finish the closing handshake on shutdown. @default 1000 */
  closeGraceMs?: number;
  /** The client's address of an upgrade request (behind proxies, from X-Forwarded-For). @default the socket's peer */
  clientIp?: (req: IncomingMessage) => string;
  /** Connections one client address may hold open; an upgrade past it is refused with 429. @default unlimited */
  maxConnectionsPerIp?: number;
};

/**
 * Serves a graphql-ws server (protocol `graphql-transport-ws`) over `ws` sockets upgraded from the
 * service's own HTTP server: the thin adapter graphql-ws ships as `useServer`, with our logger, a
 * liveness ping, and a shutdown that cannot hang on clients that never answer the close.
 */
export function createGraphQLWsEndpoint(
  graphqlWs: GraphQLWsServer<WebSocketExtra>,
  options: GraphQLWsEndpointOptions,
): WebSocketEndpoint {
  const { logger } = options;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, handleProtocols });

  // One heartbeat for every connection (not a timer each: thousands of idle subscribers are the
  // normal case): a socket that has not answered the last ping by the next one is cut.
  const awaitingPong = new Set<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if (awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      awaitingPong.add(socket);
      socket.ping();
    }
  }, keepAliveMs);
  heartbeat.unref();
  // Shared handlers (`this` is the socket), so a connection holds no closures of its own for them.
  function onPong(this: WebSocket) {
    awaitingPong.delete(this);
  }
  // A frame the client got wrong (too large, malformed): ws closes with the matching code itself.
  const onError = (error: Error) => logger.warn({ err: error }, 'websocket protocol error');

  wss.on('connection', (socket: WebSocket, clientIp: string) => {
    socket.on('error', onError);
    socket.on('pong', onPong);
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        // Resolves once the frame is handed to the kernel: graphql-ws awaits it, which is what
        // lets a slow reader hold back its own stream (and nobody else's).
        send: (data) =>
          new Promise((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on(
            'message',
            messagePump(handle, logger, (code, reason) => socket.close(code, reason)),
          ),
      },
      { socket, clientIp },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      awaitingPong.delete(socket);
      closed(code, reason.toString()).catch((error: unknown) =>
        logger.error({ err: error }, 'websocket cleanup failed'),
      );
    });
  });

  // Connections per client address, counted from the upgrade until the TCP socket closes (so a
  // handshake that fails, or a client that never sends connection_init, still counts while open).
  const perIp = upgradesPerAddress(options);

  return {
    handleUpgrade: (req, socket, head) => {
      const admitted = perIp.admit(req, socket);
      if (!admitted) return;
      socket.once('close', admitted.release);
      const { clientIp } = admitted;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, clientIp));
    },
    close: async () => {
      const closing = [...wss.clients].map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === socket.CLOSED) return resolve();
            const cut = setTimeout(() => socket.terminate(), options.closeGraceMs ?? 1_000);
            socket.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            socket.close(SERVICE_RESTART, 'Server shutting down: reconnect');
          }),
      );
      await Promise.all(closing);
      clearInterval(heartbeat);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
