import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { buildBrokenModel, buildConstantOfShapeModel, buildSlowModel } from '../../lib/onnx/build-model.js';
import { codes } from '../helpers/graphql.js';
import { createProject, uploadModel } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  testInferenceSettings,
  workerOptions,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';

const PREDICT = `mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs } }`;
const START = `mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status } }`;
const PREDICTION = `query ($id: ID!) { prediction(id: $id) { status itemsDone outputs error } }`;
const MODEL = `query ($id: ID!) { model(id: $id) { status error } }`;

const MAX_OUTPUT_ELEMENTS = 1_000;
// Above what the other models here need on a busy machine, far below the slow model's seconds.
const RUN_TIMEOUT_MS = 500;
// Small models load in milliseconds, even on a busy machine; the slow-load model takes seconds.
const LOAD_TIMEOUT_MS = 1500;

let t: TestPlatform;
let alice: Session;
let projectId: string;
let fillId: string;
let worker: PredictionWorker | undefined;

beforeAll(async () => {
  const inference = testInferenceSettings();
  inference.predictLimits.maxOutputElements = MAX_OUTPUT_ELEMENTS;
  inference.sessions.runTimeoutMs = RUN_TIMEOUT_MS;
  inference.sessions.loadTimeoutMs = LOAD_TIMEOUT_MS;
  t = await startTestPlatform({ inference, worker: false });
  alice = await signup(t);
  projectId = await createProject(t, alice);
  const model = await uploadModel(t, alice, projectId, 'fill', buildConstantOfShapeModel());
  expect(model.status).toBe('READY');
  fillId = model.id;
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

/** The database, once the write-behind of `inference_requests` is written out. */
const flushedDb = async () => {
  await t.platform.flushInferenceRequests();
  return t.platform.database.db;
};
const requestsOf = async (modelId: string) =>
  (await flushedDb())
    .selectFrom('inference_requests')
    .select(['input', 'output', 'error'])
    .where('model_id', '=', modelId)
    .orderBy('requested_at')
    .execute();

describe('output bounds through the gateway', () => {
  it('refuses a one-element input with 3,000,000 outputs as PAYLOAD_TOO_LARGE, storing no outputs', async () => {
    const before = (await requestsOf(fillId)).length;
    const inputs = { shape: [3_000_000] };
    const res = await t.gql({ query: PREDICT, token: alice.accessToken, variables: { id: fillId, inputs } });
    expect(codes(res)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(res.errors?.[0]?.extensions).toMatchObject({ limit: MAX_OUTPUT_ELEMENTS, actual: 3_000_000 });
    expect(res.errors?.[0]?.message).toContain(`more than the limit of ${MAX_OUTPUT_ELEMENTS}`);
    // The failure is recorded as every failure is: the inputs and the message, no outputs.
    const rows = await requestsOf(fillId);
    expect(rows.slice(before)).toEqual([{ input: inputs, output: null, error: res.errors?.[0]?.message }]);

    // Nothing was cached for these inputs: the same call fails again, and a call within the limit still runs.
    const again = await t.gql({ query: PREDICT, token: alice.accessToken, variables: { id: fillId, inputs } });
    expect(codes(again)).toEqual(['PAYLOAD_TOO_LARGE']);
    const within = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: fillId, inputs: { shape: [3] } },
    });
    expect(within.data?.predict.outputs).toEqual({ y: [1, 1, 1] });
  });

  it('fails a batch prediction whose item has too large outputs, naming the item and storing no outputs', async () => {
    const items = [{ shape: [2] }, { shape: [3] }, { shape: [50_000] }];
    const started = await t.gql({
      query: START,
      token: alice.accessToken,
      variables: { input: { modelId: fillId, items } },
    });
    const id = started.data?.startPrediction.id as string;
    expect(id).toBeTruthy();
    worker ??= await startPredictionWorker(workerOptions(t, { maxOutputElements: MAX_OUTPUT_ELEMENTS }));
    let prediction: { status: string; itemsDone: number; outputs: unknown; error: string | null } | undefined;
    for (let i = 0; i < 600 && !['FAILED', 'SUCCEEDED'].includes(prediction?.status ?? ''); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      prediction = (await t.gql({ query: PREDICTION, token: alice.accessToken, variables: { id } })).data?.prediction;
    }
    expect(prediction).toMatchObject({ status: 'FAILED', itemsDone: 0 });
    expect(prediction?.error).toMatch(
      new RegExp(`^Item 2: The model's outputs hold 50000 elements, more than the limit of ${MAX_OUTPUT_ELEMENTS}`),
    );
    expect(prediction?.outputs ?? []).toEqual([]);
  });
});

describe('model load errors', () => {
  it.each([
    ['initializer-size', "Initializer 'w': raw_data size (6 bytes) does not match expected size"],
    ['external-data', 'External data path does not exist: "weights.bin"'],
  ] as const)('fail a %s model with a reason that names no source file or path', async (kind, reason) => {
    const model = await uploadModel(t, alice, projectId, `broken-${kind}`, buildBrokenModel(kind));
    expect(model.status).toBe('FAILED');
    const res = await t.gql({ query: MODEL, token: alice.accessToken, variables: { id: model.id } });
    const error = res.data?.model.error as string;
    expect(error).toContain(reason);
    expect(error).not.toMatch(/\.(?:cc|h):\d+|onnxruntime::|ONNXRuntimeError|\/tmp\/|ai-code-model-/);
  });
});

describe('time limits through the gateway', () => {
  it('answers a run past INFERENCE_RUN_TIMEOUT_MS with REQUEST_TIMEOUT, recorded as a failed request', async () => {
    const model = await uploadModel(t, alice, projectId, 'slow', buildSlowModel(3));
    expect(model.status).toBe('READY');
    // Three products of 2500×2500 matrices: seconds of work, for one input number.
    const res = await t.gql({
      query: PREDICT,
      token: alice.accessToken,
      variables: { id: model.id, inputs: { n: [2500] } },
    });
    expect(codes(res)).toEqual(['REQUEST_TIMEOUT']);
    expect(res.errors?.[0]?.extensions).toMatchObject({ limit: RUN_TIMEOUT_MS });
    expect(res.errors?.[0]?.message).toBe(`The model's run took longer than the limit of ${RUN_TIMEOUT_MS} ms`);
    expect(await requestsOf(model.id)).toEqual([
      { input: { n: [2500] }, output: null, error: res.errors?.[0]?.message },
    ]);
  });

  it('fails an upload whose load takes longer than MODEL_LOAD_TIMEOUT_MS, with a readable error', async () => {
    // Graph optimization computes the constant products while the model loads: seconds of work.
    const model = await uploadModel(t, alice, projectId, 'slow-load', buildSlowModel(2, { constantN: 4000 }));
    expect(model.status).toBe('FAILED');
    const res = await t.gql({ query: MODEL, token: alice.accessToken, variables: { id: model.id } });
    expect(res.data?.model).toEqual({
      status: 'FAILED',
      error: `Loading the model took longer than the limit of ${LOAD_TIMEOUT_MS} ms`,
    });
  });
});
