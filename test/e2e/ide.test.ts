import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/project-root.js';
import { IDE_ASSETS_DIR } from '../../gateway/src/http/ide.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { createProject, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';

// The GraphQL IDE the gateway serves at GET /graphql, in a real (headless) browser that may reach
// nothing but this machine's loopback: it must work offline and behind firewalls.

const BROWSER = 'Mozilla/5.0 Chrome text/html';
const ARTIFACTS = join(projectRoot, 'test-results');

let t: TestPlatform;
let alice: Session;
let predictionId: string;
let modelId: string;

beforeAll(async () => {
  // `npm run build` makes the bundle; a bare `npm test` gets it here.
  if (!existsSync(join(IDE_ASSETS_DIR, 'manifest.json'))) {
    const build = spawnSync(process.execPath, ['gateway/ide/build.js'], { cwd: projectRoot, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build:ide failed:\n${build.stderr}`);
  }
  t = await startTestPlatform();
  alice = await signup(t);
  const model = await uploadModel(t, alice, await createProject(t, alice, 'vision'), 'v1');
  modelId = model.id;
  const started = await t.gql({
    query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
    token: alice.accessToken,
    variables: { input: { modelId: model.id, items: [{ x: [[1, 2, 3]] }, { x: [[4, 5, 6]] }] } },
  });
  predictionId = started.data?.startPrediction.id;
  await until(async () => {
    const res = await t.gql({
      query: 'query ($id: ID!) { prediction(id: $id) { status } }',
      token: alice.accessToken,
      variables: { id: predictionId },
    });
    return res.data?.prediction.status === 'SUCCEEDED';
  }, 'the prediction to finish');
});
afterAll(() => t?.close());

describe('GET /graphql', () => {
  it('is the IDE for a browser, with a strict same-origin CSP', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'; /);
    const page = await res.text();
    const script = /src="(graphql\/ide\/[^"]+\.js)"/.exec(page)?.[1];
    const asset = await fetch(new URL(script!, t.url));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('stays GraphQL over HTTP for API clients', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/graphql-response+json']) {
      const res = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true', ...(accept ? { accept } : {}) },
      });
      expect(res.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    }
    // An operation in the URL is never the IDE, whatever the Accept header says.
    const html = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'text/html', 'apollo-require-preflight': 'true' },
    });
    expect(html.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await t.gql({ query: '{ __typename }' })).data).toEqual({ __typename: 'Query' });
  });
});

describe.skipIf(!existsSync(CHROMIUM))(
  `in headless Chromium (skipped when ${CHROMIUM} is missing: apt-get install chromium)`,
  () => {
    let browser: Browser;
    let page: Page;
    const outside: string[] = [];
    const sockets: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, userAgent: BROWSER });
      // Nothing but loopback: any other request is refused, and remembered to fail the test.
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.hostname === '127.0.0.1') return route.continue();
        outside.push(url.toString());
        return route.abort('blockedbyclient');
      });
      page = await context.newPage();
      page.on('websocket', (socket) => sockets.push(socket.url()));
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
          problems.push(`console ${message.type()}: ${message.text()}`);
        }
      });
    });
    afterAll(() => browser?.close());

    /** Replaces an editor's text by typing, as a person would. */
    async function typeInto(editor: string, text: string): Promise<void> {
      await page.click(`${editor} .CodeMirror:visible`);
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type(text);
      // Closes the autocompletion list that typing opened.
      await page.keyboard.press('Escape');
    }
    /**
     * Types an operation and runs it with the ▶ button. The tab takes the operation's name once the
     * IDE has parsed what was typed; clicking before that would pick among the old operations.
     */
    async function run(operation: string, name: string): Promise<void> {
      await typeInto('.graphiql-query-editor', operation);
      await page.getByRole('tab', { name }).waitFor();
      await page.click('.graphiql-execute-button');
    }
    const responseText = () =>
      // Evaluated in the page (as text: this test's own types have no DOM).
      page.evaluate<string>("document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror?.getValue() ?? ''");

    it('loads with the walkthrough, hints at signing in, runs a query with the Authorization header, and lists subscription events', async () => {
      await mkdir(ARTIFACTS, { recursive: true });
      try {
        await useTheIde();
      } finally {
        await page.screenshot({ path: join(ARTIFACTS, 'ide.png') });
      }
      const gateway = new URL(t.url);
      // Each subscription here opens one (graphql-ws closes a connection left idle), all to the gateway.
      expect([...new Set(sockets)]).toEqual([`ws://${gateway.host}${gateway.pathname}`]);
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
    }, 60_000);

    async function useTheIde(): Promise<void> {
      const schemaLoaded = page.waitForResponse(
        (res) => res.request().postData()?.includes('IntrospectionQuery') ?? false,
      );
      await page.goto(t.url);
      await page.waitForSelector('.graphiql-query-editor .CodeMirror-code');
      await schemaLoaded;
      expect(await page.textContent('.graphiql-query-editor')).toContain('Welcome to the ai-code GraphQL IDE');

      // Without a token `me` is null, which says nothing by itself: the IDE says what to do.
      await run('query Me { me { email } }', 'Me');
      await until(async () => (await responseText()).includes('null'), 'the anonymous result', 15_000);
      expect(JSON.parse(await responseText())).toEqual({ data: { me: null } });
      expect(await page.getByRole('status').textContent()).toMatch(
        /^"me" answered null and no Authorization header was sent: .*run Login, then paste \{"Authorization": "Bearer <accessToken>"\} into Headers/,
      );

      await page.screenshot({ path: join(ARTIFACTS, 'ide-sign-in-hint.png') });

      await page.getByRole('button', { name: 'Headers' }).click();
      await typeInto('.graphiql-editor-tool', `{"Authorization": "Bearer ${alice.accessToken}"}`);
      await run('query Me { me { email } }', 'Me');
      await until(async () => (await responseText()).includes(alice.email), 'the query result', 15_000);
      expect(JSON.parse(await responseText())).toEqual({ data: { me: { email: alice.email } } });
      expect(await page.locator('.ai-code-hint').count()).toBe(0);

      await run(
        `subscription Progress { predictionProgress(id: "${predictionId}") { status itemsDone model { project { name } } } }`,
        'Progress',
      );
      await until(async () => (await responseText()).includes('SUCCEEDED'), 'the subscription event', 15_000);
      // A subscription's response is the running list of its events, newest first.
      expect(JSON.parse(await responseText())).toEqual({
        received: 1,
        newestFirst: [
          {
            data: { predictionProgress: { status: 'SUCCEEDED', itemsDone: 2, model: { project: { name: 'vision' } } } },
          },
        ],
      });

      // Every event stays on screen, not just the latest: a batch's log lines, as they are written.
      await run('subscription Tail { logTail { message } }', 'Tail');
      await until(() => t.platform.gateway.subscriptionStats().subscriptions >= 1, 'LogTail to be open');
      await t.gql({
        query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
        token: alice.accessToken,
        variables: { input: { modelId, items: [{ x: [[1, 2, 3]] }] } },
      });
      await until(async () => (await responseText()).includes('Batch prediction SUCCEEDED'), 'the log lines', 15_000);
      const tail = JSON.parse(await responseText()) as { received: number; newestFirst: unknown[] };
      expect(tail.newestFirst[0]).toEqual({ data: { logTail: { message: 'Batch prediction SUCCEEDED' } } });
      expect(tail.newestFirst).toContainEqual({ data: { logTail: { message: 'Batch prediction running: 1 items' } } });
      expect(tail.received).toBe(tail.newestFirst.length);
      expect(tail.received).toBeGreaterThanOrEqual(3);
      await page.click('.graphiql-execute-button'); // ■ stops it.

      // Dialogs add a <style> element at run time: allowed by the page's nonce, not by 'unsafe-inline'.
      await page.getByRole('button', { name: /settings/i }).click();
      await page.getByRole('dialog').waitFor();
      await page.keyboard.press('Escape');
    }
  },
);
