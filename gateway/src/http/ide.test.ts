import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import { acceptQuality, createGraphQLIde, IDE_ASSETS_PREFIX, wantsIde } from './ide.js';

describe('content negotiation', () => {
  const request = (accept: string | undefined, method = 'GET') =>
    ({ method, headers: accept === undefined ? {} : { accept } }) as Parameters<typeof wantsIde>[0];
  const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

  it('gives the IDE to browsers navigating to the endpoint', () => {
    expect(wantsIde(request(browser), '')).toBe(true);
    expect(wantsIde(request('text/html'), '')).toBe(true);
  });

  it('gives GraphQL to API clients, operations in the URL and other methods', () => {
    expect(wantsIde(request(undefined), '')).toBe(false);
    expect(wantsIde(request('*/*'), '')).toBe(false);
    expect(wantsIde(request('application/json'), '')).toBe(false);
    expect(wantsIde(request('application/graphql-response+json, text/html;q=0.5'), '')).toBe(false);
    expect(wantsIde(request('text/html, application/json'), '')).toBe(false);
    expect(wantsIde(request(browser), 'query=%7B__typename%7D')).toBe(false);
    expect(wantsIde(request(browser, 'POST'), '')).toBe(false);
    expect(wantsIde(request('text/html;q=0'), '')).toBe(false);
  });

  it('takes the q of the most specific matching range', () => {
    expect(acceptQuality('text/*;q=0.3, text/html;q=0.7, */*;q=0.1', 'text/html')).toBe(0.7);
    expect(acceptQuality('text/*;q=0.3, */*;q=0.1', 'text/html')).toBe(0.3);
    expect(acceptQuality('image/png', 'text/html')).toBe(0);
  });
});

describe('serving', () => {
  let dir: string;
  let emptyDir: string;
  const servers: Server[] = [];
  const serve = async (options: { enabled: boolean; assetsDir: string }): Promise<string> => {
    const ide = createGraphQLIde({ logger: createLogger('gateway', 'silent'), ...options });
    const graphql = ide.negotiate(async (_req, res) => void res.end('graphql'));
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://internal');
      const route = Object.entries(ide.routes).find(([prefix]) => url.pathname.startsWith(prefix));
      if (route) return void route[1](req, res, url);
      if (url.pathname === '/graphql') return void graphql(req, res, url.search.slice(1));
      res.statusCode = 404;
      res.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ide-assets-'));
    emptyDir = await mkdtemp(join(tmpdir(), 'ide-empty-'));
    await writeFile(join(dir, 'ide-ABC.js'), 'console.log(1)');
    await writeFile(join(dir, 'ide-ABC.js.br'), brotliCompressSync('console.log(1)'));
    await writeFile(join(dir, 'ide-DEF.css'), 'body{}');
    await writeFile(join(dir, 'secret.txt'), 'not listed');
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify({ script: 'ide-ABC.js', style: 'ide-DEF.css', assets: ['ide-ABC.js', 'ide-DEF.css'] }),
    );
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
    await rm(emptyDir, { recursive: true, force: true });
  });
  const html = { accept: 'text/html' };

  it('serves the page with a strict CSP, and the listed assets with types, encodings and long caching', async () => {
    const base = await serve({ enabled: true, assetsDir: dir });
    const page = await fetch(`${base}/graphql`, { headers: html });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(csp).toContain("default-src 'none'; script-src 'self'; style-src 'self' 'nonce-");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe|https?:/);
    const body = await page.text();
    expect(body).toContain('<script type="module" src="graphql/ide/ide-ABC.js"></script>');
    expect(body).toContain('<link rel="stylesheet" href="graphql/ide/ide-DEF.css">');
    expect(body).toContain(`data-style-nonce="${nonce}"`);
    expect(body).not.toMatch(/<script>|<style>| style=/);

    const script = await fetch(`${base}${IDE_ASSETS_PREFIX}ide-ABC.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe('console.log(1)');
    const brotli = await fetch(`${base}${IDE_ASSETS_PREFIX}ide-ABC.js`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(brotli.headers.get('content-encoding')).toBe('br');
    expect(brotli.headers.get('vary')).toBe('accept-encoding');
    expect(await brotli.text()).toBe('console.log(1)');
    const style = await fetch(`${base}${IDE_ASSETS_PREFIX}ide-DEF.css`, { headers: { 'accept-encoding': 'br' } });
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(style.headers.get('content-encoding')).toBeNull();

    for (const path of ['secret.txt', 'manifest.json', '..%2Fide-ABC.js', 'nope.js']) {
      expect((await fetch(`${base}${IDE_ASSETS_PREFIX}${path}`)).status).toBe(404);
    }
    expect(await (await fetch(`${base}/graphql`, { headers: { accept: 'application/json' } })).text()).toBe('graphql');
  });

  it('answers 503 saying how to build it when the bundle is missing', async () => {
    const base = await serve({ enabled: true, assetsDir: emptyDir });
    const page = await fetch(`${base}/graphql`, { headers: html });
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('npm run build:ide');
    const asset = await fetch(`${base}${IDE_ASSETS_PREFIX}ide-ABC.js`);
    expect(asset.status).toBe(503);
    expect(await asset.text()).toContain('npm run build:ide');
  });

  it('is plain GraphQL for everyone when disabled', async () => {
    const base = await serve({ enabled: false, assetsDir: dir });
    expect(await (await fetch(`${base}/graphql`, { headers: html })).text()).toBe('graphql');
    expect((await fetch(`${base}${IDE_ASSETS_PREFIX}ide-ABC.js`)).status).toBe(404);
  });
});
