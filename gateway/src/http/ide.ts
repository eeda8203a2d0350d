import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';
import type { Logger } from '../../../lib/logger.js';
import type { GraphQLRoute } from '../../../lib/http/graphql-handler.js';
import type { RouteHandler } from '../../../lib/http/service-server.js';

/** Where `npm run build:ide` writes the bundle (see gateway/ide/build.js). */
export const IDE_ASSETS_DIR = join(projectRoot, 'dist', 'ide');

/** The bundle's assets are served under the GraphQL path, so a proxy that forwards `/graphql…` serves the IDE too. */
export const IDE_ASSETS_PREFIX = '/graphql/ide/';

/** What the build writes next to the assets: the entry files of the page, by role. */
type Manifest = { script: string; style: string; assets: string[] };

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export type GraphQLIdeOptions = {
  logger: Logger;
  /** Off: GET /graphql is plain GraphQL over HTTP for everyone and no assets are served. */
  enabled: boolean;
  /** The built bundle. @default IDE_ASSETS_DIR */
  assetsDir?: string;
};

export type GraphQLIde = {
  /** Wraps the `/graphql` handler: browsers asking for a page get the IDE, everyone else GraphQL. */
  negotiate(graphql: GraphQLRoute): GraphQLRoute;
  /** The static assets route, keyed by its prefix. */
  routes: Record<string, RouteHandler>;
};

/** The entries of an Accept-style header, lower-cased, each with its q (1 when absent). */
function weighted(header: string): Array<{ token: string; q: number }> {
  return header
    .toLowerCase()
    .split(',')
    .map((part) => {
      const [token = '', ...params] = part.split(';').map((p) => p.trim());
      const q = params.find((p) => p.startsWith('q='));
      const value = q ? Number(q.slice(2)) : 1;
      return { token, q: Number.isFinite(value) ? value : 0 };
    })
    .filter((entry) => entry.token !== '');
}

/** Quality of a media type in an Accept header: that of the most specific range matching it (RFC 9110 §12.5.1). */
export function acceptQuality(accept: string, type: string): number {
  const [major] = type.split('/');
  const specificity = (range: string) => (range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1);
  let best = { specificity: -1, q: 0 };
  for (const { token, q } of weighted(accept)) {
    if (specificity(token) > best.specificity) best = { specificity: specificity(token), q };
  }
  return best.q;
}

const acceptsEncoding = (acceptEncoding: string, coding: string): boolean => {
  const entries = weighted(acceptEncoding);
  return ((entries.find((e) => e.token === coding) ?? entries.find((e) => e.token === '*'))?.q ?? 0) > 0;
};

/**
 * A browser navigating to the endpoint: GET, no operation in the URL, and HTML preferred over every
 * GraphQL response type. `*∕*` alone (curl, fetch) prefers nothing, so API clients keep getting JSON.
 */
export function wantsIde(req: IncomingMessage, search: string): boolean {
  if (req.method !== 'GET' || new URLSearchParams(search).has('query')) return false;
  const accept = req.headers.accept ?? '';
  const html = acceptQuality(accept, 'text/html');
  const json = Math.max(
    acceptQuality(accept, 'application/json'),
    acceptQuality(accept, 'application/graphql-response+json'),
  );
  return html > 0 && html > json;
}

/**
 * Everything the page loads comes from this gateway: scripts and styles from the bundle, fonts and
 * icons inlined as data: URLs, requests to the same origin (CSP 'self' covers ws: to it). The nonce
 * admits the one kind of <style> element the IDE's dialogs insert at run time.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(manifest: Manifest, nonce: string): string {
  // Asset URLs are relative to /graphql, so the page also works behind a proxy that adds a prefix.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ai-code · GraphQL IDE</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="graphql/ide/${escapeHtml(manifest.style)}">
<script type="module" src="graphql/ide/${escapeHtml(manifest.script)}"></script>
</head>
<body>
<div id="graphiql" data-style-nonce="${escapeHtml(nonce)}">Loading the GraphQL IDE…</div>
<noscript>The GraphQL IDE needs JavaScript. API clients: POST JSON to this URL.</noscript>
</body>
</html>
`;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphQL IDE not built</title></head>
<body><h1>The GraphQL IDE is not built</h1>
<p>This gateway serves the IDE from its own bundle, which is missing. Run <code>npm run build:ide</code>
(<code>npm run build</code> runs it too) and reload this page. The GraphQL API itself works as usual.</p></body></html>
`;

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

async function readManifest(assetsDir: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(join(assetsDir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The file, or the variant the build precompressed in an encoding the client accepts. */
async function readAsset(path: string, acceptEncoding: string): Promise<{ body: Buffer; encoding?: string }> {
  for (const [encoding, suffix] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    if (!acceptsEncoding(acceptEncoding, encoding)) continue;
    try {
      return { body: await readFile(path + suffix), encoding };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { body: await readFile(path) };
}

/**
 * The GraphQL IDE (GraphiQL) for browsers on GET /graphql, served from the gateway's own bundle
 * with nothing fetched from elsewhere, so it works offline and behind firewalls.
 */
export function createGraphQLIde(options: GraphQLIdeOptions): GraphQLIde {
  if (!options.enabled) return { negotiate: (graphql) => graphql, routes: {} };
  const assetsDir = options.assetsDir ?? IDE_ASSETS_DIR;
  let warned = false;

  async function servePage(res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('vary', 'accept');
    const manifest = await readManifest(assetsDir);
    if (!manifest) {
      if (!warned) options.logger.warn({ assetsDir }, 'GraphQL IDE bundle missing: run npm run build:ide');
      warned = true;
      res.statusCode = 503;
      res.setHeader('content-security-policy', "default-src 'none'");
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(NOT_BUILT);
      return;
    }
    const nonce = randomBytes(16).toString('base64');
    res.statusCode = 200;
    res.setHeader('content-security-policy', contentSecurityPolicy(nonce));
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(manifest, nonce));
  }

  const serveAsset: RouteHandler = async (req, res, url) => {
    setSecurityHeaders(res);
    const name = url.pathname.slice(IDE_ASSETS_PREFIX.length);
    const manifest = await readManifest(assetsDir);
    // Only the files the build listed: nothing else under the folder, and no path tricks.
    const type = CONTENT_TYPES[extname(name)];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !manifest?.assets.includes(name) || !type) {
      res.statusCode = manifest ? 404 : 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(manifest ? 'Not found\n' : 'The GraphQL IDE is not built: run npm run build:ide\n');
      return;
    }
    const { body, encoding } = await readAsset(join(assetsDir, name), req.headers['accept-encoding'] ?? '');
    res.statusCode = 200;
    res.setHeader('content-type', type);
    res.setHeader('vary', 'accept-encoding');
    if (encoding) res.setHeader('content-encoding', encoding);
    res.setHeader('content-length', body.length);
    // File names carry a content hash: a new build is a new URL.
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return {
    negotiate: (graphql) => (req, res, search) => (wantsIde(req, search) ? servePage(res) : graphql(req, res, search)),
    routes: { [IDE_ASSETS_PREFIX]: serveAsset },
  };
}
