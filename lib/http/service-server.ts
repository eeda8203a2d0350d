import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, type Server as GraphQLWsServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { sendGraphQLError } from './graphql-handler.js';
import type { HttpMetrics } from './metrics.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export type ServiceServerOptions = {
  logger: Logger;
  metrics: HttpMetrics;
  /** Serves `/graphql`. */
  graphql: (req: IncomingMessage, res: ServerResponse, search: string) => Promise<void>;
  /** `/readyz` answers 200 only while this resolves to true. */
  readiness: () => Promise<boolean>;
  /** More routes, by path prefix (e.g. `/uploads/`). */
  routes?: Record<string, RouteHandler>;
  /** Serves WebSocket upgrades of `/graphql`; without it every upgrade is refused. */
  websocket?: WebSocketEndpoint;
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
};

/** What orchestrators and Prometheus call, open whatever `authorize` says. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Default of ServiceServerOptions.drainTimeoutMs. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

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
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:4001. */
  listen(port: number, host: string): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections, answers /readyz with 503, closes WebSocket
   * connections with 1012 (Service Restart), lets requests in flight finish (each on a connection
   * that then closes) for up to `drainTimeoutMs`, then cuts what is left. Calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
};

/**
 * The HTTP server every process runs: GraphQL on /graphql plus the runtime contract's
 * /healthz (alive), /readyz (ready for traffic) and /metrics (Prometheus text).
 */
export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const { logger, metrics } = options;
  const extraRoutes = Object.entries(options.routes ?? {});
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  /** Responses not finished yet: told to close their connection when shutdown starts. */
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    if (options.authorize && !PROBES.has(url.pathname) && !options.authorize(req)) {
      // The body is not read: the connection closes after the answer instead of being reused.
      res.shouldKeepAlive = false;
      sendGraphQLError(res, ErrorCode.UNAUTHENTICATED, 'This service answers only the gateway');
      return 'unauthorized';
    }
    switch (url.pathname) {
      case '/graphql':
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
    for (const [prefix, handler] of extraRoutes) {
      if (url.pathname.startsWith(prefix)) {
        await handler(req, res, url);
        return prefix;
      }
    }
    sendJson(res, 404, { error: 'not found' });
    return 'unknown';
  }

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://internal');
    // A request that arrives on a kept-alive connection during shutdown is served, then its connection closes.
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    route(req, res, url)
      .catch((error: unknown) => {
        logger.error({ err: error, path: url.pathname }, 'request failed');
        if (!res.headersSent) sendGraphQLError(res, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
        else res.destroy();
      })
      .then((routeName) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.observe(routeName ?? 'error', req.method ?? 'GET', res.statusCode, seconds);
      })
      .catch(() => undefined);
  });
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://internal');
    if (url.pathname === '/graphql' && options.websocket) {
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
            `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${address.port}`,
          );
        });
      }),
    close: () => (closing ??= drain()),
  };

  async function drain(): Promise<void> {
    // Stop accepting: new connections are refused from here on.
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

/** WebSocket close code 1012 Service Restart: graphql-ws clients (and most others) retry on it. */
export const SERVICE_RESTART = 1012;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** What graphql-ws hooks find in `ctx.extra`: the connection's socket and its upgrade request. */
/** What graphql-ws hands its hooks about a connection (only the socket: a connection keeps it alive). */
export type WebSocketExtra = { socket: WebSocket };

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

  wss.on('connection', (socket: WebSocket) => {
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
          socket.on('message', (data: Buffer) => {
            handle(data.toString()).catch((error: unknown) => {
              logger.error({ err: error }, 'websocket message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      awaitingPong.delete(socket);
      closed(code, reason.toString()).catch((error: unknown) =>
        logger.error({ err: error }, 'websocket cleanup failed'),
      );
    });
  });

  return {
    handleUpgrade: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
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
