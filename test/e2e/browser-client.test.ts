import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { projectRoot } from '../../lib/project-root.js';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';
import { createProject, linear, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, workerOptions, type Session, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';

// A frontend on an origin of its own (a Vite dev server, a CDN) using the published Apollo Client in
// real headless Chromium: the gateway lists its origin (CORS_ORIGINS) and it works end to end,
// subscriptions included; the very same page served from an origin not listed is refused.

/** Serves the app (its page and its bundle) on a port of its own: an origin of its own. */
async function serveApp(bundle: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.setHeader('content-type', 'text/javascript; charset=utf-8');
      return void res.end(bundle());
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!doctype html><title>app</title><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function bundleApp(gatewayUrl: string): Promise<string> {
  const result = await build({
    absWorkingDir: projectRoot,
    entryPoints: [join(projectRoot, 'test', 'e2e', 'browser-client.app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109'],
    define: { GATEWAY_URL: JSON.stringify(gatewayUrl), 'process.env.NODE_ENV': '"development"' },
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

const PASSWORD = 'correct horse battery';
const LOGS = `subscription Tail($filter: LogFilter) { logTail(filter: $filter) { message service prediction { id } } }`;
const PROGRESS = `subscription Progress($id: ID!) { predictionProgress(id: $id) { status itemsDone itemsTotal } }`;

let t: TestPlatform;
let gateway: Gateway;
let gatewayUrl: string;
let listed: { server: Server; origin: string };
let unlisted: { server: Server; origin: string };
let alice: Session;
let projectId: string;
let modelId: string;
let worker: PredictionWorker | undefined;
let bundle = '';

describe.skipIf(!existsSync(CHROMIUM))(
  `Apollo Client in headless Chromium on another origin (skipped when ${CHROMIUM} is missing)`,
  () => {
    let browser: Browser;
    const consoleLines: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
      [listed, unlisted] = await Promise.all([serveApp(() => bundle), serveApp(() => bundle)]);
      // The worker starts once the page's subscriptions are open, so that none of their events is missed.
      t = await startTestPlatform({ worker: false });
      const started = await startGateway(t, 0, { corsOrigins: [listed.origin] });
      gateway = started.gateway;
      gatewayUrl = `${started.base}/graphql`;
      bundle = await bundleApp(gatewayUrl);
      // A demo-like account, signed up through the API; the page logs in with its password.
      alice = await signup(t, undefined, PASSWORD);
      projectId = await createProject(t, alice, 'frontend');
      modelId = (await uploadModel(t, alice, projectId, 'v1')).id;
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await worker?.stop();
      await gateway?.close();
      await t?.close();
      await Promise.all([listed, unlisted].map(({ server }) => new Promise((resolve) => server?.close(resolve))));
    });

    /** A fresh page of the app from `origin`, its Apollo Client started (`websocket`: with a GraphQLWsLink). */
    async function openApp(origin: string, websocket: boolean): Promise<Page> {
      const page = await browser.newPage();
      page.on('console', (message) => consoleLines.push(message.text()));
      page.on('pageerror', (error) => consoleLines.push(`page error: ${error.message}`));
      const opened: string[] = [];
      page.on('websocket', (socket) => opened.push(socket.url()));
      websockets.set(page, opened);
      await page.goto(origin);
      await page.waitForFunction('globalThis.app !== undefined');
      await page.evaluate(`globalThis.client = app.start(${websocket}); true`);
      return page;
    }
    /** The WebSocket URLs a page has opened (or tried to). */
    const websockets = new WeakMap<Page, string[]>();
    const sockets = (page: Page) => websockets.get(page) ?? [];
    const call = <T>(page: Page, expression: string): Promise<T> => page.evaluate<T>(`client.${expression}`);
    const received = (page: Page, name: string) =>
      call<{ data?: Record<string, unknown>; error?: string }[]>(page, `received(${JSON.stringify(name)})`);

    it('logs in, queries, predicts and follows logTail and predictionProgress over its WebSocket link', async () => {
      const page = await openApp(listed.origin, true);
      const login = await call<{ data?: unknown; error?: string }>(
        page,
        `login(${JSON.stringify(alice.email)}, ${JSON.stringify(PASSWORD)})`,
      );
      expect(login.error).toBeUndefined();
      expect(await call(page, `query('{ me { email } }')`)).toEqual({
        data: { me: { __typename: 'User', email: alice.email } },
      });

      const predicted = await call<{ data: { predict: { outputs: unknown } } }>(
        page,
        `mutate('mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs } }', ${JSON.stringify(
          { id: modelId, inputs: { x: [[1, 2, 3]] } },
        )})`,
      );
      expect(Object.values(predicted.data.predict.outputs as Record<string, unknown>)).toEqual([[linear([1, 2, 3])]]);

      await call(page, `subscribe('logs', ${JSON.stringify(LOGS)}, ${JSON.stringify({ filter: { projectId } })})`);
      await until(() => gateway.subscriptionStats().subscriptions === 1, 'the page’s logTail subscription');
      const startedPrediction = await call<{ data: { startPrediction: { id: string } } }>(
        page,
        `mutate('mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }', ${JSON.stringify({
          input: { modelId, items: [{ x: [[1, 2, 3]] }, { x: [[4, 5, 6]] }] },
        })})`,
      );
      const predictionId = startedPrediction.data.startPrediction.id;
      await call(page, `subscribe('progress', ${JSON.stringify(PROGRESS)}, ${JSON.stringify({ id: predictionId })})`);
      await until(() => gateway.subscriptionStats().subscriptions === 2, 'the page’s two subscriptions');
      worker = await startPredictionWorker(workerOptions(t));

      await until(
        async () => (await received(page, 'progress')).some((e) => JSON.stringify(e).includes('SUCCEEDED')),
        'predictionProgress to reach SUCCEEDED',
        20_000,
      );
      await until(
        async () => (await received(page, 'logs')).some((e) => JSON.stringify(e).includes('SUCCEEDED')),
        'the finished log line',
        20_000,
      );
      const progress = await received(page, 'progress');
      expect(progress.every((event) => event.error === undefined)).toBe(true);
      expect(progress.at(-1)?.data).toEqual({
        predictionProgress: { __typename: 'Prediction', status: 'SUCCEEDED', itemsDone: 2, itemsTotal: 2 },
      });
      const logs = (await received(page, 'logs')).map(
        (event) => (event.data?.logTail as { message: string; prediction: { id: string } }) ?? event,
      );
      expect(logs.map((line) => line.message)).toEqual([
        'Batch prediction of 2 items queued',
        'Batch prediction running: 2 items',
        'Batch prediction SUCCEEDED',
      ]);
      expect(logs.every((line) => line.prediction.id === predictionId)).toBe(true);
      expect(sockets(page)).toEqual([gatewayUrl.replace(/^http/, 'ws')]);
      await page.close();
    }, 60_000);

    it('is refused from an origin the gateway does not list: its fetches fail CORS, its WebSocket gets 403', async () => {
      const page = await openApp(unlisted.origin, true);
      const login = await call<{ error?: string }>(
        page,
        `login(${JSON.stringify(alice.email)}, ${JSON.stringify(PASSWORD)})`,
      );
      expect(login.error).toMatch(/Failed to fetch/);
      expect(consoleLines.join('\n')).toContain(`from origin '${unlisted.origin}' has been blocked by CORS policy`);

      const before = gateway.subscriptionStats().connections;
      await call(page, `subscribe('logs', ${JSON.stringify(LOGS)})`);
      await until(async () => (await received(page, 'logs')).length > 0, 'the refused subscription to fail');
      expect((await received(page, 'logs'))[0]?.error).toBeDefined();
      expect(consoleLines.join('\n')).toMatch(/WebSocket connection to .* failed: .*403/);
      expect(gateway.subscriptionStats().connections).toBe(before);
      await page.close();
    }, 30_000);

    it('with an HttpLink alone, receives logTail and predictionProgress over multipart HTTP', async () => {
      const page = await openApp(listed.origin, false);
      await call(page, `login(${JSON.stringify(alice.email)}, ${JSON.stringify(PASSWORD)})`);
      await call(page, `subscribe('logs', ${JSON.stringify(LOGS)}, ${JSON.stringify({ filter: { projectId } })})`);
      // The earlier pages' subscriptions have ended with their pages: this one is the only one left.
      await until(() => gateway.subscriptionStats().subscriptions === 1, 'the page’s logTail subscription');
      const startedPrediction = await call<{ data: { startPrediction: { id: string } } }>(
        page,
        `mutate('mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }', ${JSON.stringify({
          input: { modelId, items: [{ x: [[7, 8, 9]] }] },
        })})`,
      );
      const predictionId = startedPrediction.data.startPrediction.id;
      await call(page, `subscribe('progress', ${JSON.stringify(PROGRESS)}, ${JSON.stringify({ id: predictionId })})`);
      for (const name of ['progress', 'logs']) {
        await until(
          async () => (await received(page, name)).some((e) => JSON.stringify(e).includes('SUCCEEDED')),
          `${name} over multipart to reach SUCCEEDED`,
          20_000,
        );
        expect((await received(page, name)).every((event) => event.error === undefined)).toBe(true);
      }
      expect(sockets(page)).toEqual([]);
      await page.close();
    }, 60_000);
  },
);
