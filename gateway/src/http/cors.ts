import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { CrossOriginPolicy } from '../../../lib/http/service-server.js';

/** The methods a page on a listed origin may use: every one some gateway route serves. */
export const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The request headers a page on a listed origin may send: what Apollo Client, graphql-sse, the
 * GraphQL IDE, trace propagation and inference protocol clients (binary tensor data) send. `accept` is listed too: browsers send Apollo's multipart
 * subscription Accept (`subscriptionSpec="1.0"`, a quote) only after a preflight that allows it.
 */
export const CORS_ALLOWED_HEADERS = [
  'accept',
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'traceparent',
  'tracestate',
  'inference-header-content-length',
] as const;

/**
 * Response headers a page may read besides the safelisted ones: when to retry a 429 or 503, and where an
 * inference protocol answer's binary tensor data starts.
 */
export const CORS_EXPOSED_HEADERS = ['retry-after', 'inference-header-content-length'] as const;

/** How long a browser may reuse a preflight's answer, seconds (Chromium caps it at 7200). */
export const CORS_MAX_AGE_SECONDS = 7200;

/**
 * CORS_ORIGINS: exact origins (`https://app.example.com,http://localhost:5173`), comma-separated,
 * each normalized as browsers send it (lower case, no default port, no trailing slash).
 */
export const corsOriginsSetting = () =>
  z
    .string()
    .default('')
    .transform((value, context): string[] => {
      const origins: string[] = [];
      for (const entry of value.split(',').map((item) => item.trim())) {
        if (entry === '') continue;
        const origin = parseOrigin(entry);
        if (origin) origins.push(origin);
        else
          context.addIssue({
            code: 'custom',
            message: `${JSON.stringify(entry)} is not an origin: expected scheme://host[:port] such as http://localhost:5173 (no path, no wildcard)`,
          });
      }
      return origins;
    });

function parseOrigin(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    // A trailing slash is tolerated (`http://localhost:5173/`, as copied from an address bar).
    const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!bare || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** Adds a field to a response's Vary header, keeping what is there. */
function varyOn(res: ServerResponse, field: string): void {
  const current = res.getHeader('vary');
  const fields =
    current === undefined
      ? []
      : String(current)
          .split(',')
          .map((item) => item.trim());
  if (!fields.some((item) => item.toLowerCase() === field.toLowerCase() || item === '*')) {
    res.setHeader('vary', [...fields, field].join(', '));
  }
}

/**
 * The request's Host (or, behind a proxy that rewrites it, the host the client asked for).
 * Trusting X-Forwarded-Host is safe here: the Origin check keeps out pages in browsers, which
 * cannot set that header; a client that is not a browser can send any Origin anyway.
 */
function requestedHosts(req: IncomingMessage): string[] {
  const hosts = [req.headers.host];
  const forwarded = req.headers['x-forwarded-host'];
  if (typeof forwarded === 'string') hosts.push(forwarded.split(',')[0]?.trim());
  return hosts.filter((host): host is string => !!host).map((host) => host.toLowerCase());
}

/** Whether an Origin is the gateway's own: pages it serves itself (the GraphQL IDE) open WebSockets too. */
function isOwnOrigin(origin: string, req: IncomingMessage): boolean {
  try {
    return requestedHosts(req).includes(new URL(origin).host);
  } catch {
    return false;
  }
}

/**
 * The gateway's CORS (`CORS_ORIGINS`), for every route at once (see CrossOriginPolicy). Pages on a
 * listed origin get their preflights answered (204, before any route's own checks) and every answer
 * readable, errors included; other origins get no CORS headers, so browsers keep their pages out.
 * Credentials are headers, never cookies: `Access-Control-Allow-Credentials` is never sent.
 * WebSocket upgrades, which browsers do not subject to CORS, are refused (403) when they come from a
 * page on an origin neither listed nor the gateway's own; clients that are not browsers send no
 * Origin and are let through.
 */
export function createCors(origins: readonly string[]): CrossOriginPolicy {
  const allowed = new Set(origins);
  const allowedMethods = new Set<string>(CORS_METHODS);
  return {
    handle(req, res) {
      // Answers differ by Origin as soon as any origin is listed: caches must keep them apart.
      if (allowed.size > 0) varyOn(res, 'Origin');
      const origin = req.headers.origin;
      if (origin === undefined || !allowed.has(origin)) return false;
      res.setHeader('access-control-allow-origin', origin);
      const requestedMethod = req.headers['access-control-request-method'];
      if (req.method !== 'OPTIONS' || requestedMethod === undefined) {
        res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
        return false;
      }
      // A preflight: answered here, before any route (and CSRF prevention) sees it. A method not
      // allowed is left out of the answer, which is how a browser learns it is refused.
      varyOn(res, 'Access-Control-Request-Method');
      if (allowedMethods.has(requestedMethod)) res.setHeader('access-control-allow-methods', requestedMethod);
      res.setHeader('access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', '));
      res.setHeader('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
      res.statusCode = 204;
      res.end();
      return true;
    },
    admitsUpgrade(req) {
      const origin = req.headers.origin;
      return origin === undefined || allowed.has(origin) || isOwnOrigin(origin, req);
    },
  };
}
