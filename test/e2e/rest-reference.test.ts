import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

// The REST API's reference page beside the GraphQL IDE: Swagger UI over /api/v1/openapi.json, served
// by the gateway from its own files, in a browser that may reach nothing but this machine's loopback.

let t: TestPlatform;
let production: TestPlatform;
beforeAll(async () => {
  [t, production] = await Promise.all([
    startTestPlatform(),
    startTestPlatform({ production: true, introspection: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), production?.close()]);
});

const at = (platform: TestPlatform, path: string, init?: RequestInit) => fetch(new URL(path, platform.url), init);

describe('GET /api/v1/docs', () => {
  it('serves the page with a same-origin CSP, and its script and styles from the gateway', async () => {
    const page = await at(t, '/api/v1/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js']) {
      expect(html).toContain(`/api/v1/docs/${asset}`);
      const res = await at(t, `/api/v1/docs/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    expect(html).not.toMatch(/<script>|https?:\/\//);
  });

  it('serves nothing else under it, and only GET', async () => {
    expect((await at(t, '/api/v1/docs/package.json')).status).toBe(404);
    expect((await at(t, '/api/v1/docs/../../package.json')).status).not.toBe(200);
    expect((await at(t, '/api/v1/docs', { method: 'POST' })).status).toBe(405);
  });

  it('is not served where the IDE is not (production without introspection): a REST 404 problem', async () => {
    const res = await at(production, '/api/v1/docs');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await at(production, '/api/v1/openapi.json')).status).toBe(200);
  });
});

describe.skipIf(!existsSync(CHROMIUM))(
  `in headless Chromium (skipped when ${CHROMIUM} is missing: apt-get install chromium)`,
  () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(() => browser?.close());

    it('renders every route of the OpenAPI document, offline, without a CSP violation', async () => {
      const context = await browser.newContext();
      const outside: string[] = [];
      const problems: string[] = [];
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.hostname === '127.0.0.1') return route.continue();
        outside.push(url.toString());
        return route.abort('blockedbyclient');
      });
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
          problems.push(`console ${message.type()}: ${message.text()}`);
        }
      });
      await page.goto(new URL('/api/v1/docs', t.url).toString());
      const document = (await (await at(t, '/api/v1/openapi.json')).json()) as { paths: Record<string, object> };
      for (const path of ['/projects/{id}/models', '/models/{id}/predict', '/logs']) {
        expect(Object.keys(document.paths)).toContain(path);
        await page.locator(`[data-path="${path}"]`).first().waitFor();
      }
      expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(
        Object.values(document.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0),
      );
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    });
  },
);
