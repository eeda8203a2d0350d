import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RouteHandler } from '../../../lib/http/service-server.js';

/** Where the REST API's reference page lives, beside the OpenAPI document it reads. */
export const REST_REFERENCE_PATH = '/api/v1/docs';

/** Swagger UI's own files (the swagger-ui-dist package): served from here, nothing from elsewhere. */
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const ASSETS: Record<string, { file?: string; type: string; body?: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  // The page's own script, a file so that the page needs no inline script.
  'init.js': {
    type: 'text/javascript; charset=utf-8',
    body: `window.ui = SwaggerUIBundle({ url: ${JSON.stringify('/api/v1/openapi.json')}, dom_id: '#reference', deepLinking: true, validatorUrl: null });\n`,
  },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ai-code REST API (/api/v1)</title>
<link rel="stylesheet" href="${REST_REFERENCE_PATH}/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="${REST_REFERENCE_PATH}/swagger-ui-bundle.js"></script>
<script src="${REST_REFERENCE_PATH}/init.js"></script>
</body>
</html>
`;

/**
 * Swagger UI's page may fetch the document and try routes on this origin only; it loads its script
 * and styles from here (its styles set some inline, hence 'unsafe-inline' for styles alone).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * A readable reference of the REST API (Swagger UI over GET /api/v1/openapi.json), served beside the
 * GraphQL IDE and only where it is: `enabled` follows the IDE's setting. Works offline.
 */
export function createRestReference(options: { enabled: boolean }): Record<string, RouteHandler> {
  if (!options.enabled) return {};
  const files = new Map<string, Buffer>();
  const handler: RouteHandler = async (req, res, url) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const name = url.pathname.slice(REST_REFERENCE_PATH.length).replace(/^\//, '');
    const asset = name === '' ? { type: 'text/html; charset=utf-8', body: PAGE } : ASSETS[name];
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.statusCode = asset ? 405 : 404;
      if (asset) res.setHeader('allow', 'GET, HEAD');
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(asset ? 'Method not allowed\n' : 'Not found\n');
      return;
    }
    let body = asset.body === undefined ? files.get(asset.file!) : Buffer.from(asset.body);
    if (!body) {
      body = await readFile(join(SWAGGER_UI_DIR, asset.file!));
      files.set(asset.file!, body);
    }
    res.statusCode = 200;
    res.setHeader('content-type', asset.type);
    res.setHeader('content-length', body.length);
    if (name === '') {
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('cache-control', 'no-store');
    } else {
      res.setHeader('cache-control', 'public, max-age=3600');
    }
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  return { [REST_REFERENCE_PATH]: handler };
}
