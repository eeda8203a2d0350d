import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrokenModel, buildConstantOfShapeModel, buildLinearModel, buildSlowModel } from './build-model.js';
import { ModelLoadError } from './signature.js';
import { createThreadRuntime, LoadTimeoutError, OutputLimitError, RunTimeoutError } from './thread-runtime.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thread-runtime-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeModel(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const n = (value: number) => ({ n: new Tensor('int64', BigInt64Array.from([BigInt(value)]), [1]) });
// Four products of 2000×2000 matrices: seconds of work on one core, for one input number.
const SLOW_N = 2000;

describe('the thread runtime', () => {
  it('opens a model in a thread and runs it there, with the same results', async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 60_000, loadTimeoutMs: 60_000 });
    const session = await runtime.open(
      await writeModel(
        'linear.onnx',
        buildLinearModel({
          weights: [
            [1, 2],
            [3, 4],
          ],
          bias: [1, 1],
        }),
      ),
    );
    try {
      expect(session.signature).toEqual({
        inputs: [{ name: 'x', type: 'float32', shape: [null, 2] }],
        outputs: [{ name: 'y', type: 'float32', shape: [null, 2] }],
      });
      const { y } = await session.run({ x: new Tensor('float32', Float32Array.from([1, 1, 2, 0]), [2, 2]) });
      expect(y).toBeInstanceOf(Tensor);
      expect({ dims: y!.dims, data: Array.from(y!.data as Float32Array) }).toEqual({
        dims: [2, 2],
        data: [5, 7, 3, 5],
      });
    } finally {
      await session.release();
    }
  });

  it('keeps the event loop free while a model runs', async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 60_000, loadTimeoutMs: 60_000 });
    const session = await runtime.open(await writeModel('slow.onnx', buildSlowModel(2)));
    try {
      let settled = false;
      const running = session.run(n(1500)).finally(() => (settled = true));
      // A timer set after the run started fires before the run ends: nothing blocked this thread meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(settled).toBe(false);
      const { y } = await running;
      expect(Number((y!.data as Float32Array)[0])).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });

  it('gives up on a run past its time limit with RunTimeoutError, and serves later runs', async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 100, loadTimeoutMs: 60_000 });
    const session = await runtime.open(await writeModel('slow4.onnx', buildSlowModel(4)));
    try {
      const error = await session.run(n(SLOW_N)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunTimeoutError);
      expect(error).toMatchObject({ timeoutMs: 100 });
      // Once the abandoned run is over, the session serves again (zeros cost nothing).
      let result;
      for (let attempt = 0; !result && attempt < 100; attempt++) {
        result = await session.run(n(0)).catch((e: unknown) => {
          if (!(e instanceof RunTimeoutError)) throw e;
          return undefined;
        });
      }
      expect(result?.y?.dims).toEqual([1, 1]);
    } finally {
      await session.release();
    }
  });

  it("sends back only the shapes of outputs over the run's element cap", async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 60_000, loadTimeoutMs: 60_000 });
    const session = await runtime.open(await writeModel('fill.onnx', buildConstantOfShapeModel()));
    try {
      const shape = (size: number) => ({ shape: new Tensor('int64', BigInt64Array.from([BigInt(size)]), [1]) });
      const error = await session.run(shape(3_000_000), { maxOutputElements: 1_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutputLimitError);
      expect(error).toMatchObject({ shapes: { y: [3_000_000] }, maxElements: 1_000 });
      expect((await session.run(shape(1_000), { maxOutputElements: 1_000 })).y?.dims).toEqual([1_000]);
    } finally {
      await session.release();
    }
  });

  it('refuses a model that does not load with ModelLoadError, naming no path', async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 60_000, loadTimeoutMs: 60_000 });
    const error = await runtime
      .open(await writeModel('broken.onnx', buildBrokenModel('external-data')))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toContain('External data path does not exist: "weights.bin"');
    expect((error as Error).message).not.toContain(dir);
  });

  it('gives up on a load past its time limit with LoadTimeoutError', async () => {
    const runtime = createThreadRuntime({ runTimeoutMs: 60_000, loadTimeoutMs: 200 });
    // Graph optimization folds the constant products at load: the load is the slow part.
    const error = await runtime
      .open(await writeModel('slow-load.onnx', buildSlowModel(2, { constantN: SLOW_N })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 200 });
  });
});
