import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictionChannel, type PredictionEvent } from '../../modules/predictions/events.js';
import { Registry } from 'prom-client';
import { createWorkerMetrics } from '../../worker/src/metrics.js';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { codes } from '../helpers/graphql.js';
import { createProject, LINEAR_MODEL, linear, uploadModel } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  testInferenceSettings,
  type Session,
  type TestPlatform,
  workerOptions,
} from '../helpers/platform.js';

const PREDICT = `mutation ($id: ID!, $inputs: JSON!) {
  predict(modelId: $id, inputs: $inputs) { outputs durationMs request { id input output error durationMs requestedAt model { id } } } }`;
const START = `mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status itemsTotal itemsDone progress } }`;
const PREDICTION = `query ($id: ID!) { prediction(id: $id) {
  id status progress itemsTotal itemsDone outputs error createdAt startedAt finishedAt model { id version } } }`;
const CANCEL = 'mutation ($id: ID!) { cancelPrediction(id: $id) { id status } }';

let t: TestPlatform;
let alice: Session;
let bob: Session;
let modelId: string;

beforeAll(async () => {
  const inference = testInferenceSettings();
  inference.predictLimits.maxInputBytes = 20_000;
  // No worker at first: the batch test subscribes to a prediction's events before any worker runs it.
  t = await startTestPlatform({ inference, worker: false });
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  const projectId = await createProject(t, alice);
  const model = await uploadModel(t, alice, projectId, 'linear', LINEAR_MODEL);
  expect(model.status).toBe('READY');
  modelId = model.id;
});
let worker: PredictionWorker | undefined;
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

/** The worker's job counters (worker/src/metrics.ts), read by the worker-failure alerts. */
const workerRegistry = new Registry();
async function startWorker() {
  worker ??= await startPredictionWorker(
    workerOptions(t, { chunkSize: 16, metrics: createWorkerMetrics(workerRegistry) }),
  );
}

const db = () => t.platform.database.db;

/** The database, once the write-behind of `inference_requests` is written out. */
const flushedDb = async () => {
  await t.platform.flushInferenceRequests();
  return t.platform.database.db;
};
const requestCount = async () =>
  (await (await flushedDb()).selectFrom('inference_requests').select('id').execute()).length;
const failedRequests = async () =>
  (await (await flushedDb()).selectFrom('inference_requests').select('error').where('error', 'is not', null).execute())
    .length;

async function waitForPrediction(id: string, until: (p: { status: string }) => boolean) {
  for (let i = 0; i < 600; i++) {
    const res = await t.gql({ query: PREDICTION, token: alice.accessToken, variables: { id } });
    if (until(res.data?.prediction)) return res.data?.prediction;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`prediction ${id} did not get there`);
}

describe('predict', () => {
  it('returns exact outputs for batch 1 and batch N, and records the request', async () => {
    const one = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: modelId, inputs: { x: [[1, 2, 3]] } },
    });
    expect(one.data?.predict.outputs).toEqual({ y: [linear([1, 2, 3])] });
    expect(one.data?.predict.request).toMatchObject({
      input: { x: [[1, 2, 3]] },
      output: { y: [[4.5, 4.5]] },
      error: null,
      model: { id: modelId },
    });

    const rows = [
      [1, 2, 3],
      [0, 0, 0],
      [-1, 1, 2],
      [10, 20, 30],
    ];
    const many = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: modelId, inputs: { x: rows } },
    });
    expect(many.data?.predict.outputs).toEqual({ y: rows.map(linear) });

    const history = await t.gql({
      query:
        'query ($id: ID!) { model(id: $id) { inferenceRequests(first: 1) { nodes { id output } pageInfo { hasNextPage } } } }',
      token: alice.accessToken,
      variables: { id: modelId },
    });
    expect(history.data?.model.inferenceRequests.nodes[0].id).toBe(many.data?.predict.request.id);
    expect(history.data?.model.inferenceRequests.pageInfo.hasNextPage).toBe(true);
  });

  it('serves identical inputs from the result cache, and says so in the record', async () => {
    const inputs = { x: [[7, 8, 9]] };
    const first = await t.gql({ query: PREDICT, token: alice.accessToken, variables: { id: modelId, inputs } });
    const second = await t.gql({ query: PREDICT, token: alice.accessToken, variables: { id: modelId, inputs } });
    expect(second.data?.predict.outputs).toEqual(first.data?.predict.outputs);
    const metadata = await (
      await flushedDb()
    )
      .selectFrom('inference_requests')
      .select(['id', 'metadata'])
      .where('id', 'in', [first.data?.predict.request.id, second.data?.predict.request.id])
      .execute();
    const byId = new Map(metadata.map((row) => [row.id, row.metadata]));
    expect(byId.get(first.data?.predict.request.id)).toEqual({ cached: false });
    expect(byId.get(second.data?.predict.request.id)).toEqual({ cached: true });
  });

  it.each([
    ['a missing tensor', {}, "'x'"],
    ['an unknown tensor', { x: [[1, 2, 3]], z: [[1]] }, "'z'"],
    ['a wrong rank', { x: [1, 2, 3] }, '[N, 3]'],
    ['a wrong size', { x: [[1, 2]] }, '[N, 3]'],
    [
      'ragged arrays',
      {
        x: [
          [1, 2, 3],
          [1, 2],
        ],
      },
      "'x'",
    ],
    ['a non-number', { x: [['1', 2, 3]] }, "'x'"],
    ['inputs that are not an object', [[1, 2, 3]], 'Inputs must be a JSON object'],
  ])('%s is BAD_USER_INPUT naming the tensor, recorded as a failed request', async (_, inputs, named) => {
    const [before, failedBefore, predictions] = [
      await requestCount(),
      await failedRequests(),
      await db().selectFrom('predictions').select('id').execute(),
    ];
    const res = await t.gql({ query: PREDICT, token: alice.accessToken, variables: { id: modelId, inputs } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(named);
    expect(await requestCount()).toBe(before + 1);
    expect(await failedRequests()).toBe(failedBefore + 1);
    expect(await db().selectFrom('predictions').select('id').execute()).toEqual(predictions);
  });

  it('refuses oversized inputs with PAYLOAD_TOO_LARGE, recording the failure without the payload', async () => {
    const rows = Array.from({ length: 4000 }, () => [1, 2, 3]);
    const res = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: modelId, inputs: { x: rows } },
    });
    expect(codes(res)).toEqual(['PAYLOAD_TOO_LARGE']);
    const [last] = await (
      await flushedDb()
    )
      .selectFrom('inference_requests')
      .select(['input', 'error'])
      .orderBy('requested_at', 'desc')
      .limit(1)
      .execute();
    expect(last?.input).toEqual({ omitted: 'inputs exceed 20000 bytes' });
  });

  it("refuses another user's model as NOT_FOUND without recording anything, and a model that is not READY", async () => {
    const before = await requestCount();
    const foreign = await t.gql({
      query: PREDICT,
      token: bob.accessToken,
      variables: { id: modelId, inputs: { x: [[1, 2, 3]] } },
    });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(await requestCount()).toBe(before);

    const projectId = await createProject(t, alice, 'pending');
    const pending = await t.gql({
      query: 'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "p" }) { model { id } } }',
      token: alice.accessToken,
      variables: { p: projectId },
    });
    const res = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: pending.data?.createModelUpload.model.id, inputs: { x: [[1, 2, 3]] } },
    });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain('PENDING_UPLOAD');
  });
});

describe('metrics', () => {
  it('counts requests, inferences and executions per model on the inference service’s /metrics', async () => {
    await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: {
        id: modelId,
        inputs: {
          x: [
            [5, 5, 5],
            [6, 6, 6],
          ],
        },
      },
    });
    const url = t.platform.gateway
      .subgraphs()
      .get('inference')!
      .replace(/\/graphql$/, '/metrics');
    const text = await (await fetch(url)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*model="${modelId}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1]);
    expect(value('inference_request_success_total')).toBeGreaterThan(0);
    expect(value('inference_request_failure_total')).toBeGreaterThan(0);
    expect(value('inference_count_total')).toBeGreaterThan(value('inference_exec_count_total'));
    expect(text).toContain('inference_compute_duration_seconds_bucket');
  });
});

describe('batch predictions', () => {
  it('goes QUEUED → RUNNING → SUCCEEDED with every output in order and rising progress', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ x: [[i, i + 1, i % 7]] }));
    const events: PredictionEvent[] = [];
    const started = await t.gql({ query: START, token: alice.accessToken, variables: { input: { modelId, items } } });
    const prediction = started.data?.startPrediction;
    expect(prediction).toMatchObject({ status: 'QUEUED', itemsTotal: 300, itemsDone: 0, progress: 0 });
    const subscription = await t.platform.pubsub.subscribe<PredictionEvent>(predictionChannel(prediction.id));
    await startWorker();
    const collecting = (async () => {
      for await (const event of subscription) {
        events.push(event);
        if (event.status === 'SUCCEEDED' || event.status === 'FAILED') break;
      }
    })();

    const done = await waitForPrediction(prediction.id, (p) => p.status === 'SUCCEEDED');
    await collecting;
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      progress: 1,
      itemsDone: 300,
      error: null,
      model: { id: modelId },
    });
    expect(done.outputs).toEqual(items.map((item) => ({ y: [linear(item.x[0]!)] })));
    expect(await workerRegistry.metrics()).toMatch(/^worker_jobs_finished_total\{status="succeeded"\} [1-9]/m);
    expect(new Date(done.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(done.createdAt).getTime());
    expect(new Date(done.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(done.startedAt).getTime());

    expect(events.some((e) => e.status === 'RUNNING')).toBe(true);
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', itemsDone: 300 });
    const progress = events.map((e) => e.itemsDone);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBeGreaterThan(2);

    // Finished jobs cannot be canceled: their state is returned unchanged.
    const cancel = await t.gql({ query: CANCEL, token: alice.accessToken, variables: { id: prediction.id } });
    expect(cancel.data?.cancelPrediction.status).toBe('SUCCEEDED');
  });

  it('validates every item up front and stores nothing when one is bad', async () => {
    const before = await db().selectFrom('predictions').select('id').execute();
    const items = [{ x: [[1, 2, 3]] }, { x: [[1, 2, 3]] }, { x: [[1, 2, 3]] }, { x: [[1, 2]] }];
    const res = await t.gql({ query: START, token: alice.accessToken, variables: { input: { modelId, items } } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toMatch(/^items\[3\]: .*'x'.*\[N, 3\]/);
    const empty = await t.gql({ query: START, token: alice.accessToken, variables: { input: { modelId, items: [] } } });
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    const foreign = await t.gql({
      query: START,
      token: bob.accessToken,
      variables: { input: { modelId, items: [{ x: [[1, 2, 3]] }] } },
    });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(await db().selectFrom('predictions').select('id').execute()).toEqual(before);
  });

  it("another user's prediction behaves as if it did not exist", async () => {
    const started = await t.gql({
      query: START,
      token: alice.accessToken,
      variables: { input: { modelId, items: [{ x: [[1, 1, 1]] }] } },
    });
    const id = started.data?.startPrediction.id;
    expect((await t.gql({ query: PREDICTION, token: bob.accessToken, variables: { id } })).data?.prediction).toBeNull();
    expect(codes(await t.gql({ query: CANCEL, token: bob.accessToken, variables: { id } }))).toEqual(['NOT_FOUND']);
    await waitForPrediction(id, (p) => p.status === 'SUCCEEDED');
  });

  it('lists a model’s predictions newest first', async () => {
    const res = await t.gql({
      query: 'query ($id: ID!) { model(id: $id) { predictions(first: 2) { nodes { id status itemsTotal } } } }',
      token: alice.accessToken,
      variables: { id: modelId },
    });
    expect(res.data?.model.predictions.nodes).toHaveLength(2);
    expect(res.data?.model.predictions.nodes[0].itemsTotal).toBe(1);
  });
});
