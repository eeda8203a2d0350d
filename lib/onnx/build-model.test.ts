import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildIdentityModel, buildLinearModel, buildMlpModel } from './build-model.js';
import { createSessionOptions } from './session-options.js';

const { onnx } = onnxProto;

// Small integers: every product and sum below is exact in float32, so outputs compare with toEqual.
const weights = [
  [1, 2],
  [3, -4],
  [5, 6],
];
const bias = [10, -20];

async function run(model: Uint8Array, input: number[][], inputName = 'x', outputName = 'y') {
  const session = await InferenceSession.create(model, createSessionOptions());
  try {
    const x = new Tensor('float32', Float32Array.from(input.flat()), [input.length, input[0]?.length ?? 0]);
    const output = (await session.run({ [inputName]: x }))[outputName];
    if (!(output instanceof Tensor)) throw new Error(`no tensor output '${outputName}'`);
    return { dims: output.dims, data: Array.from(output.data as Float32Array) };
  } finally {
    await session.release();
  }
}

describe('buildLinearModel', () => {
  it('computes x·W + b for a batch of one', async () => {
    const result = await run(buildLinearModel({ weights, bias }), [[1, 1, 1]]);
    expect(result).toEqual({ dims: [1, 2], data: [1 + 3 + 5 + 10, 2 - 4 + 6 - 20] });
  });

  it('computes x·W + b row by row for a batch of three', async () => {
    const result = await run(buildLinearModel({ weights, bias }), [
      [1, 0, 0],
      [0, 2, 0],
      [-1, 1, 3],
    ]);
    expect(result).toEqual({ dims: [3, 2], data: [11, -18, 16, -28, 27, -8] });
  });

  it('uses the given tensor names and a fixed batch of one', async () => {
    const model = buildLinearModel({ weights, bias, inputName: 'features', outputName: 'score', dynamicBatch: false });
    expect(await run(model, [[2, 0, 1]], 'features', 'score')).toEqual({ dims: [1, 2], data: [17, -10] });
    await expect(
      run(
        model,
        [
          [1, 1, 1],
          [1, 1, 1],
        ],
        'features',
        'score',
      ),
    ).rejects.toThrow(/dimension/i);
  });

  it('refuses weights that are not a matrix matching the bias', () => {
    expect(() => buildLinearModel({ weights: [], bias: [] })).toThrow(RangeError);
    expect(() => buildLinearModel({ weights: [[1, 2], [3]], bias: [0, 0] })).toThrow(/every weights row/);
    expect(() => buildLinearModel({ weights, bias: [1] })).toThrow(/bias needs 2 entries/);
  });
});

/** The MLP recomputed from the initializers stored in the model, in float64. */
function referenceMlp(model: Uint8Array, input: number[]): number[] {
  const tensors = new Map(
    onnx.ModelProto.decode(model).graph?.initializer?.map((t) => {
      const raw = t.rawData ?? new Uint8Array();
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const values = Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
      return [t.name ?? '', { dims: (t.dims ?? []).map(Number), values }] as const;
    }),
  );
  let activation = input;
  for (let layer = 0; tensors.has(`W${layer}`); layer++) {
    const w = tensors.get(`W${layer}`);
    const b = tensors.get(`B${layer}`);
    if (!w || !b) throw new Error(`layer ${layer} is incomplete`);
    const [rows = 0, cols = 0] = w.dims;
    const next = Array.from({ length: cols }, (_, j) =>
      activation.reduce((sum, a, i) => sum + a * (w.values[i * cols + j] ?? NaN), b.values[j] ?? NaN),
    );
    expect(activation).toHaveLength(rows);
    activation = tensors.has(`W${layer + 1}`) ? next.map((v) => Math.max(0, v)) : next;
  }
  return activation;
}

describe('buildMlpModel', () => {
  const sizes = [4, 16, 8, 3];

  it('runs with a dynamic batch and yields [batch, out]', async () => {
    const input = [
      [0.5, -1, 2, 0],
      [1, 1, 1, 1],
      [-2, 0.25, 0, 3],
    ];
    const model = buildMlpModel({ sizes, seed: 42 });
    const result = await run(model, input);
    expect(result.dims).toEqual([3, 3]);
    const expected = input.flatMap((row) => referenceMlp(model, row));
    result.data.forEach((value, i) => expect(value).toBeCloseTo(expected[i] ?? NaN, 4));
  });

  it('is deterministic in its seed', () => {
    expect(buildMlpModel({ sizes, seed: 7 })).toEqual(buildMlpModel({ sizes, seed: 7 }));
    expect(buildMlpModel({ sizes, seed: 7 })).not.toEqual(buildMlpModel({ sizes, seed: 8 }));
  });

  it('needs an input and an output size', () => {
    expect(() => buildMlpModel({ sizes: [4], seed: 1 })).toThrow(RangeError);
  });
});

describe('buildIdentityModel', () => {
  it('returns each input as <name>_out', async () => {
    const model = buildIdentityModel([
      { name: 'ids', type: 'int64', shape: [null, 2] },
      { name: 'scale', type: 'float64', shape: [] },
    ]);
    const session = await InferenceSession.create(model, createSessionOptions());
    try {
      const ids = new Tensor('int64', BigInt64Array.from([1n, -2n]), [1, 2]);
      const scale = new Tensor('float64', Float64Array.from([0.5]), []);
      const outputs = await session.run({ ids, scale });
      expect({ dims: outputs.ids_out?.dims, data: outputs.ids_out?.data }).toEqual({ dims: [1, 2], data: ids.data });
      expect({ dims: outputs.scale_out?.dims, data: outputs.scale_out?.data }).toEqual({ dims: [], data: scale.data });
    } finally {
      await session.release();
    }
  });

  it('refuses an element type it does not know', () => {
    expect(() => buildIdentityModel([{ name: 'x', type: 'complex64', shape: [1] }])).toThrow(
      new RangeError("unknown element type 'complex64'"),
    );
  });
});
