import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { createProject, startPrediction as startBatch, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform, workerOptions } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { closeOf, codesOf, subscribe, wsClient } from '../helpers/ws.js';

// predictionProgress through the gateway with real graphql-ws clients. The worker starts only
// once the subscribers are in place, so every state is seen.
const PROGRESS = `subscription ($id: ID!) { predictionProgress(id: $id) {
  status progress itemsDone model { version project { name owner { email } } } } }`;

let t: TestPlatform;
let alice: Session;
let bob: Session;
let modelId: string;
const workers: PredictionWorker[] = [];

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  modelId = (await uploadModel(t, alice, await createProject(t, alice, 'vision'), 'v7')).id;
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await t?.close();
});

const startPrediction = (items: number) => startBatch(t, alice, modelId, items);

async function runWorker(): Promise<void> {
  workers.push(await startPredictionWorker(workerOptions(t, { chunkSize: 20 })));
}

type Progress = { status: string; progress: number; itemsDone: number; model: unknown };
const progressOf = (event: { data?: Record<string, unknown> | null }) => event.data?.predictionProgress as Progress;

describe('predictionProgress', () => {
  it('streams the current state, rising progress and the terminal state with fields of four subgraphs, then completes', async () => {
    const id = await startPrediction(200);
    const client = wsClient(t.url, { token: alice.accessToken });
    const sub = subscribe(client, PROGRESS, { id });
    await until(() => sub.events.length === 1, 'the current state');
    await runWorker();
    expect(await sub.end).toEqual({ complete: true });
    await client.dispose();

    const states = sub.events.map(progressOf);
    const model = { version: 'v7', project: { name: 'vision', owner: { email: alice.email } } };
    expect(states[0]).toEqual({ status: 'QUEUED', progress: 0, itemsDone: 0, model });
    expect(states.at(-1)).toEqual({ status: 'SUCCEEDED', progress: 1, itemsDone: 200, model });
    expect(states.every((s) => JSON.stringify(s.model) === JSON.stringify(model))).toBe(true);
    expect(states.some((s) => s.status === 'RUNNING' && s.itemsDone > 0 && s.itemsDone < 200)).toBe(true);
    const done = states.map((s) => s.itemsDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(sub.events.every((e) => e.errors === undefined)).toBe(true);
  });

  it('a finished prediction emits its final state and completes at once', async () => {
    const id = await startPrediction(3);
    await until(
      async () =>
        (
          await t.gql({
            query: 'query ($id: ID!) { prediction(id: $id) { status } }',
            token: alice.accessToken,
            variables: { id },
          })
        ).data?.prediction.status === 'SUCCEEDED',
      'the prediction to finish',
    );
    const client = wsClient(t.url, { token: alice.accessToken });
    const sub = subscribe(client, PROGRESS, { id });
    expect(await sub.end).toEqual({ complete: true });
    expect(sub.events.map(progressOf).map((s) => s.status)).toEqual(['SUCCEEDED']);
    await client.dispose();
  });

  it("another user's or an unknown prediction is NOT_FOUND", async () => {
    const id = await startPrediction(2);
    const client = wsClient(t.url, { token: bob.accessToken });
    const foreign = subscribe(client, PROGRESS, { id });
    expect(await foreign.end).toEqual({ complete: true });
    expect(codesOf(foreign.events[0])).toEqual(['NOT_FOUND']);
    const unknown = subscribe(client, PROGRESS, { id: '00000000-0000-4000-8000-000000000000' });
    await unknown.end;
    expect(codesOf(unknown.events[0])).toEqual(['NOT_FOUND']);
    await client.dispose();
  });

  it('no token closes the connection with 4401', async () => {
    const client = wsClient(t.url);
    const sub = subscribe(client, PROGRESS, { id: '00000000-0000-4000-8000-000000000000' });
    expect(closeOf(await sub.end).code).toBe(4401);
    await client.dispose();
  });

  it('a malformed document is a validation error and the connection stays usable', async () => {
    const client = wsClient(t.url, { token: alice.accessToken, lazy: false });
    const bad = subscribe(client, 'subscription { predictionProgress(id: "x") { nope } }');
    const outcome = await bad.end;
    expect('error' in outcome && Array.isArray(outcome.error) ? outcome.error[0].extensions?.code : outcome).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
    const id = await startPrediction(1);
    const good = subscribe(client, PROGRESS, { id });
    expect(await good.end).toEqual({ complete: true });
    expect(progressOf(good.events.at(-1)!).status).toBe('SUCCEEDED');
    await client.dispose();
  });

  it('1,000 clients on one prediction share one upstream subscription and all receive every event', async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    const id = await startPrediction(100);
    const clients = Array.from({ length: 1000 }, () => wsClient(t.url, { token: alice.accessToken }));
    const subs = clients.map((client) => subscribe(client, PROGRESS, { id }));
    await until(() => subs.every((s) => s.events.length === 1), 'every client to get the current state', 60_000);
    expect(t.platform.gateway.subscriptionStats()).toMatchObject({ subscriptions: 1000, upstreamSubscriptions: 1 });
    await runWorker();
    await Promise.all(subs.map((s) => s.end));
    const reference = JSON.stringify(subs[0]!.events);
    expect(progressOf(subs[0]!.events.at(-1)!).status).toBe('SUCCEEDED');
    expect(subs.every((s) => JSON.stringify(s.events) === reference)).toBe(true);
    await Promise.all(clients.map((client) => client.dispose()));
    await until(() => t.platform.gateway.subscriptionStats().upstreamSubscriptions === 0, 'the upstream to close');
  }, 120_000);
});
