import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { buildIdentityModel, buildLinearModel, buildMlpModel } from '../onnx/build-model.js';
import { readModelSignature } from '../onnx/read-model-signature.js';
import { createLocalObjectStore } from '../storage/local-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createDynamicBatcher, type BatchingOptions } from './dynamic-batcher.js';
import { createInferenceMetrics } from './metrics.js';
import { createModelRunner, type ModelRunner } from './model-runner.js';
import type { ServableModel } from './servable-model.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createDynamicBatcher', () => {
  /** A batcher whose runs are recorded and finish when the test says so. */
  function observed(options: Partial<BatchingOptions> & { fail?: (items: readonly number[]) => boolean } = {}) {
    const runs: number[][] = [];
    const finish: Array<() => void> = [];
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: options.maxBatchSize ?? 4,
      maxDelayMs: options.maxDelayMs ?? 0,
      rows: () => 1,
      async runBatch(items) {
        runs.push([...items]);
        await new Promise<void>((resolve) => finish.push(resolve));
        if (options.fail?.(items)) throw new Error(`run of ${items.join(',')} failed`);
        return items.map((item) => item * 10);
      },
    });
    const finishAll = async () => {
      await tick();
      while (finish.length > 0) {
        finish.splice(0).forEach((resolve) => resolve());
        await tick();
      }
    };
    return { batcher, runs, finishAll };
  }

  it('runs a request at once when its group is idle, and what arrived meanwhile as one batch', async () => {
    const { batcher, runs, finishAll } = observed();
    const results = [1, 2, 3, 4].map((n) => batcher.submit('a', n));
    await tick();
    expect(runs).toEqual([[1]]);
    await finishAll();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40]);
    expect(runs).toEqual([[1], [2, 3, 4]]);
  });

  it('never mixes groups, and caps a batch at maxBatchSize rows', async () => {
    const { batcher, runs, finishAll } = observed({ maxBatchSize: 2 });
    const results = [
      batcher.submit('a', 1),
      batcher.submit('b', 2),
      batcher.submit('a', 3),
      batcher.submit('b', 4),
      batcher.submit('a', 5),
      batcher.submit('a', 6),
      batcher.submit('a', 7),
    ];
    await finishAll();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(runs).toEqual([[1], [2], [3, 5], [6, 7], [4]]);
  });

  it('fails only the requests of the failed run', async () => {
    const { batcher, runs, finishAll } = observed({ fail: (items) => items.includes(3) });
    const results = [1, 2, 3, 4].map((n) => batcher.submit('a', n).catch((error: Error) => error.message));
    const later = batcher.submit('b', 5);
    await finishAll();
    expect(await Promise.all(results)).toEqual([
      10,
      'run of 2,3,4 failed',
      'run of 2,3,4 failed',
      'run of 2,3,4 failed',
    ]);
    expect(await later).toBe(50);
    expect(runs).toEqual([[1], [5], [2, 3, 4]]);
    const next = batcher.submit('a', 6);
    await finishAll();
    expect(await next).toBe(60);
  });

  it('with a delay, waits for more requests up to maxDelayMs, and no longer once the batch is full', async () => {
    const { batcher, runs, finishAll } = observed({ maxBatchSize: 3, maxDelayMs: 30 });
    const started = performance.now();
    const first = batcher.submit('a', 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.submit('a', 2);
    expect(runs).toEqual([]);
    while (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(runs).toEqual([[1, 2]]);
    const full = [3, 4, 5].map((n) => batcher.submit('a', n));
    await tick();
    expect(runs).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    await finishAll();
    expect(await Promise.all([first, second, ...full])).toEqual([10, 20, 30, 40, 50]);
  });
});

describe('the model runner with dynamic batching', () => {
  let dir: string;
  let store: ObjectStore;
  const runners: ModelRunner[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynamic-batcher-'));
    store = createLocalObjectStore({ rootDir: join(dir, 'objects') });
  });
  afterAll(async () => {
    await Promise.all(runners.map((runner) => runner.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function servable(id: string, bytes: Uint8Array): Promise<ServableModel> {
    const key = `models/${id}.onnx`;
    const { sha256, sizeBytes } = await store.put(key, Readable.from([Buffer.from(bytes)]));
    const path = join(dir, `${id}.onnx`);
    await writeFile(path, bytes);
    const signature = await readModelSignature(path);
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

  function runner(batching: BatchingOptions) {
    const registry = new Registry();
    const created = createModelRunner({
      store,
      cacheDir: join(dir, 'cache'),
      maxSessions: 4,
      maxBytes: 1e8,
      runTimeoutMs: 60_000,
      loadTimeoutMs: 60_000,
      metrics: createInferenceMetrics(registry),
      logger: createLogger('test', 'silent'),
      batching,
    });
    runners.push(created);
    const count = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
    return {
      runner: created,
      inferences: () => count('inference_count_total'),
      runs: () => count('inference_exec_count_total'),
    };
  }

  const limits = { maxElements: 10_000, maxOutputElements: 10_000 };
  // Distinct rows, some of two rows, so stacking and splitting meet unequal sizes.
  const requests = (width: number) =>
    Array.from({ length: 40 }, (_, i) => ({
      x: Array.from({ length: 1 + (i % 3 === 0 ? 1 : 0) }, (_, r) =>
        Array.from({ length: width }, (_, j) => Math.sin(i * 7.3 + r * 3.1 + j) * 3),
      ),
    }));

  const cases = [
    {
      name: 'linear',
      bytes: buildLinearModel({
        weights: [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        bias: [0.5, -0.5],
      }),
      width: 3,
    },
    { name: 'mlp', bytes: buildMlpModel({ sizes: [16, 32, 4], seed: 7 }), width: 16 },
  ];

  for (const { name, bytes, width } of cases) {
    it(`gives the ${name} model's concurrent requests the unbatched results, bit for bit, in fewer runs`, async () => {
      const model = await servable(name, bytes);
      const inputs = requests(width);
      const unbatched = runner({ maxBatchSize: 1, maxDelayMs: 0 });
      const expected: unknown[] = [];
      for (const input of inputs) expected.push(await unbatched.runner.predict(model, input, limits));
      expect(await unbatched.runs()).toBe(inputs.length);

      const batched = runner({ maxBatchSize: 8, maxDelayMs: 0 });
      await batched.runner.predict(model, inputs[0], limits);
      const outputs = await Promise.all(inputs.map((input) => batched.runner.predict(model, input, limits)));
      // Float32 values compared exactly: JSON of the doubles they widen to.
      expect(JSON.stringify(outputs)).toBe(JSON.stringify(expected));
      const rows = inputs.reduce((sum, input) => sum + input.x.length, 0) + inputs[0]!.x.length;
      expect(await batched.inferences()).toBe(rows);
      expect(await batched.runs()).toBeLessThan(inputs.length / 2);
    });
  }

  it('never stacks requests whose shapes differ past the batch dimension', async () => {
    const model = await servable('identity', buildIdentityModel([{ name: 'x', type: 'float32', shape: [null, null] }]));
    const { runner: batched, runs, inferences } = runner({ maxBatchSize: 32, maxDelayMs: 5 });
    const inputs = [{ x: [[1, 2]] }, { x: [[3, 4, 5]] }, { x: [[6, 7]] }, { x: [[8, 9, 10]] }];
    const outputs = await Promise.all(inputs.map((input) => batched.predict(model, input, limits)));
    expect(outputs).toEqual(inputs.map((input) => ({ x_out: input.x })));
    expect(await runs()).toBe(2);
    expect(await inferences()).toBe(4);
  });
});
