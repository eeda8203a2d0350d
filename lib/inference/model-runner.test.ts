import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import {
  buildBrokenModel,
  buildConstantOfShapeModel,
  buildIdentityModel,
  buildSlowModel,
} from '../onnx/build-model.js';
import { readModelSignature } from '../onnx/read-model-signature.js';
import type { ModelSignature } from '../onnx/signature.js';
import { createLocalObjectStore } from '../storage/local-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BatchingOptions } from './dynamic-batcher.js';
import { createInferenceMetrics } from './metrics.js';
import { createModelRunner, type ModelRunner } from './model-runner.js';
import type { ServableModel } from './servable-model.js';

let dir: string;
let store: ObjectStore;
const runners: ModelRunner[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-runner-'));
  store = createLocalObjectStore({ rootDir: join(dir, 'objects') });
});
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  await rm(dir, { recursive: true, force: true });
});

async function servable(id: string, bytes: Uint8Array, known?: ModelSignature): Promise<ServableModel> {
  const key = `models/${id}.onnx`;
  const { sha256, sizeBytes } = await store.put(key, Readable.from([Buffer.from(bytes)]));
  const path = join(dir, `${id}.onnx`);
  await writeFile(path, bytes);
  const signature = known ?? (await readModelSignature(path));
  return {
    id,
    project_id: 'p',
    owner_id: 'u',
    version: 'v1',
    status: 'READY',
    storage_key: key,
    size_bytes: sizeBytes,
    sha256,
    inputs: signature.inputs,
    outputs: signature.outputs,
  };
}

function runner(
  batching: BatchingOptions = { maxBatchSize: 1, maxDelayMs: 0 },
  { runTimeoutMs = 60_000, loadTimeoutMs = 60_000 } = {},
): ModelRunner {
  const created = createModelRunner({
    store,
    cacheDir: join(dir, 'cache'),
    maxSessions: 4,
    maxBytes: 1e8,
    runTimeoutMs,
    loadTimeoutMs,
    metrics: createInferenceMetrics(new Registry()),
    logger: createLogger('test', 'silent'),
    batching,
  });
  runners.push(created);
  return created;
}

const limits = { maxElements: 10_000, maxOutputElements: 1_000 };

async function refusal(promise: Promise<unknown>): Promise<GraphQLError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  return error as GraphQLError;
}

describe('output bounds', () => {
  it('refuses a one-element input whose output is 3,000,000 elements, naming the limit', async () => {
    const model = await servable('constant-of-shape', buildConstantOfShapeModel());
    const error = await refusal(runner().predict(model, { shape: [3_000_000] }, limits));
    expect(error.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: 1_000, actual: 3_000_000, tensor: 'y' });
    expect(error.message).toMatch(/3000000 elements, more than the limit of 1000/);
  });

  it('serves outputs up to the limit', async () => {
    const model = await servable('constant-of-shape', buildConstantOfShapeModel());
    expect(await runner().predict(model, { shape: [1_000] }, limits)).toEqual({ y: Array(1_000).fill(1) });
  });

  // Rows of one width stack into one run; 3 rows (1,200 elements) or 13 (5,200) are over the limit alone.
  it.each([
    ['within', 3],
    ['beyond', 13],
  ])(
    'checks each request of a dynamic batch on its own outputs (batch total %s the sum of limits)',
    async (_, rows) => {
      const model = await servable(
        'identity',
        buildIdentityModel([{ name: 'x', type: 'float32', shape: [null, null] }]),
      );
      const batched = runner({ maxBatchSize: 32, maxDelayMs: 5 });
      const small = { x: [Array(400).fill(1)] };
      const large = { x: Array.from({ length: rows }, () => Array(400).fill(2)) };
      // Each small request is under the limit alone: only the large one fails, whether or not the batch's
      // outputs together exceed what its requests may have (then each request runs alone).
      const [a, b, c] = await Promise.allSettled([
        batched.predict(model, small, limits),
        batched.predict(model, { x: [Array(400).fill(3)] }, limits),
        batched.predict(model, large, limits),
      ]);
      expect(a).toMatchObject({ status: 'fulfilled', value: { x_out: small.x } });
      expect(b.status).toBe('fulfilled');
      expect(c.status).toBe('rejected');
      const error = (c as PromiseRejectedResult).reason as GraphQLError;
      expect(error.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: 1_000, actual: rows * 400 });
    },
  );

  it('fails a batch of items naming the item whose outputs are too large', async () => {
    const model = await servable('constant-of-shape', buildConstantOfShapeModel());
    const error = await refusal(
      runner().predictMany(model, [{ shape: [2] }, { shape: [5_000] }, { shape: [3] }], limits),
    );
    expect(error.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: 1_000, actual: 5_000, item: 1 });
  });

  it('checks stacked items one by one', async () => {
    const model = await servable('identity', buildIdentityModel([{ name: 'x', type: 'float32', shape: [null, null] }]));
    const items = [{ x: [Array(600).fill(1)] }, { x: [Array(600).fill(2)] }];
    // 1,200 elements together, 600 each: within the limit per item.
    expect(await runner().predictMany(model, items, limits)).toEqual(items.map((item) => ({ x_out: item.x })));
    // 3 rows of 600 stack (one width): the third item alone is over, and the stack is over 2 × 1,000 too.
    const third = { x: Array.from({ length: 3 }, () => Array(600).fill(3)) };
    const error = await refusal(runner().predictMany(model, [...items, third], limits));
    expect(error.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', actual: 1_800, item: 2 });
  });
});

describe('run failures', () => {
  it("carry onnxruntime's reason without its source locations", async () => {
    const model = await servable('reshape', buildBrokenModel('reshape'));
    const error = await runner()
      .predictMany(model, [{ x: [1, 2, 3] }], limits)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toContain('The input tensor cannot be reshaped to the requested shape');
    expect(message).not.toMatch(/\.(?:cc|h):\d+|onnxruntime::|onnxruntime_src/);
  });
});

describe('time limits', () => {
  it('answers a run past INFERENCE_RUN_TIMEOUT_MS with REQUEST_TIMEOUT naming the limit', async () => {
    const model = await servable('slow', buildSlowModel(3));
    const limited = runner(undefined, { runTimeoutMs: 50 });
    const error = await refusal(limited.predict(model, { n: [2000] }, limits));
    expect(error.extensions).toMatchObject({ code: 'REQUEST_TIMEOUT', limit: 50 });
    expect(error.message).toBe("The model's run took longer than the limit of 50 ms");
    const batch = await refusal(limited.predictMany(model, [{ n: [2000] }], limits));
    expect(batch.extensions).toMatchObject({ code: 'REQUEST_TIMEOUT', limit: 50 });
  });

  it('answers a model that loads past MODEL_LOAD_TIMEOUT_MS with REQUEST_TIMEOUT', async () => {
    // Graph optimization computes the constant products while the model loads: seconds of work.
    const scalar = (name: string) => ({ name, type: 'float32', shape: [1, 1] });
    const model = await servable('slow-load', buildSlowModel(2, { constantN: 2000 }), {
      inputs: [scalar('x')],
      outputs: [scalar('y')],
    });
    const error = await refusal(runner(undefined, { loadTimeoutMs: 200 }).predict(model, { x: [[1]] }, limits));
    expect(error.extensions).toMatchObject({ code: 'REQUEST_TIMEOUT', limit: 200 });
    expect(error.message).toBe('Loading the model took longer than the limit of 200 ms');
  });
});
