import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
};

export type ServiceServer = {
  server: Server;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:4001. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
};

/**
 * The HTTP server every process runs: GraphQL on /graphql plus the runtime contract's
 * /healthz (alive), /readyz (ready for traffic) and /metrics (Prometheus text).
 */
export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const { logger, metrics } = options;
  const extraRoutes = Object.entries(options.routes ?? {});

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    switch (url.pathname) {
      case '/graphql':
        await options.graphql(req, res, url.search.slice(1));
        return '/graphql';
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return '/healthz';
      case '/readyz': {
        const ready = await options.readiness().catch(() => false);
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
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish before their sockets are cut.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
