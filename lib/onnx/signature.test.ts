import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrokenModel, buildLinearModel, buildSlowModel } from './build-model.js';
import { readModelSignature } from './read-model-signature.js';
import { ModelLoadError } from './signature.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-signature-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeModel(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const weights = [
  [1, 2],
  [3, 4],
  [5, 6],
];

type Dim = onnxProto.onnx.TensorShapeProto.IDimension;
const tensorType = (elemType: number, dims: Dim[]) => ({ tensorType: { elemType, shape: { dim: dims } } });

/** One Identity per input, so each output mirrors its input's type and shape. */
function identityModel(inputs: { name: string; elemType: number; dims: Dim[] }[]): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'identity',
      node: inputs.map(({ name }) => ({ opType: 'Identity', input: [name], output: [`${name}_out`] })),
      input: inputs.map(({ name, elemType, dims }) => ({ name, type: tensorType(elemType, dims) })),
      output: inputs.map(({ name, elemType, dims }) => ({ name: `${name}_out`, type: tensorType(elemType, dims) })),
    },
  }).finish();
}

describe('readModelSignature', () => {
  it('reads names, element type and a dynamic batch as null', async () => {
    const path = await writeModel('linear.onnx', buildLinearModel({ weights, bias: [0, 0] }));
    expect(await readModelSignature(path)).toEqual({
      inputs: [{ name: 'x', type: 'float32', shape: [null, 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: [null, 2] }],
    });
  });

  it('reads a fixed batch as 1', async () => {
    const model = buildLinearModel({ weights, bias: [0, 0], inputName: 'in', outputName: 'out', dynamicBatch: false });
    expect(await readModelSignature(await writeModel('fixed.onnx', model))).toEqual({
      inputs: [{ name: 'in', type: 'float32', shape: [1, 3] }],
      outputs: [{ name: 'out', type: 'float32', shape: [1, 2] }],
    });
  });

  it('names element types as onnxruntime does and maps unnamed dimensions to null', async () => {
    const model = identityModel([
      { name: 'ids', elemType: DataType.INT64, dims: [{ dimParam: 'batch' }, { dimValue: 4 }] },
      { name: 'mask', elemType: DataType.BOOL, dims: [{}] },
      { name: 'pixels', elemType: DataType.UINT8, dims: [{ dimValue: 2 }, { dimValue: 2 }] },
      { name: 'scale', elemType: DataType.DOUBLE, dims: [] },
      { name: 'count', elemType: DataType.INT32, dims: [{ dimValue: 1 }] },
    ]);
    const { inputs, outputs } = await readModelSignature(await writeModel('types.onnx', model));
    expect(inputs).toEqual([
      { name: 'ids', type: 'int64', shape: [null, 4] },
      { name: 'mask', type: 'bool', shape: [null] },
      { name: 'pixels', type: 'uint8', shape: [2, 2] },
      { name: 'scale', type: 'float64', shape: [] },
      { name: 'count', type: 'int32', shape: [1] },
    ]);
    expect(outputs.map((o) => o.name)).toEqual(['ids_out', 'mask_out', 'pixels_out', 'scale_out', 'count_out']);
  });

  it('refuses a model whose output is not a tensor', async () => {
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'sequence',
        node: [{ opType: 'SequenceConstruct', input: ['x'], output: ['items'] }],
        input: [{ name: 'x', type: tensorType(DataType.FLOAT, [{ dimValue: 2 }]) }],
        output: [
          { name: 'items', type: { sequenceType: { elemType: tensorType(DataType.FLOAT, [{ dimValue: 2 }]) } } },
        ],
      },
    }).finish();
    const path = await writeModel('sequence.onnx', model);
    await expect(readModelSignature(path)).rejects.toThrow(
      new ModelLoadError("unsupported model: 'items' is not a tensor (sequences and maps are not supported)"),
    );
  });

  it('refuses garbage bytes with a readable message that names no path', async () => {
    const garbage = Uint8Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256);
    const path = await writeModel('garbage.onnx', garbage);
    const error = await readModelSignature(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error).toMatchObject({
      name: 'ModelLoadError',
      message: 'not a valid ONNX model: Protobuf parsing failed.',
    });
  });

  it('refuses a truncated model', async () => {
    const model = buildLinearModel({ weights, bias: [0, 0] });
    const path = await writeModel('truncated.onnx', model.subarray(0, Math.floor(model.length / 2)));
    const error = await readModelSignature(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/^not a valid ONNX model: \S/);
    expect((error as Error).message).not.toContain(dir);
  });

  it("drops the C++ source location from ORT's reason", async () => {
    const path = await writeModel('empty.onnx', new Uint8Array());
    await expect(readModelSignature(path)).rejects.toThrow(
      new ModelLoadError('not a valid ONNX model: ModelProto does not have a graph.'),
    );
  });

  it.each([
    ['initializer-size', "Initializer 'w': raw_data size (6 bytes) does not match expected size"],
    ['external-data', 'External data path does not exist: "weights.bin"'],
  ] as const)('keeps the reason of a %s failure without source locations or paths', async (kind, reason) => {
    const path = await writeModel(`${kind}.onnx`, buildBrokenModel(kind));
    const error = await readModelSignature(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    const { message } = error as Error;
    expect(message).toContain(reason);
    expect(message).not.toMatch(/\.(?:cc|h):\d+|onnxruntime::|ONNXRuntimeError/);
    expect(message).not.toContain(tmpdir());
  });

  it('refuses a model whose load takes longer than the limit', async () => {
    // Graph optimization computes the constant products while the model loads: seconds of work.
    const path = await writeModel('slow-load.onnx', buildSlowModel(2, { constantN: 2000 }));
    await expect(readModelSignature(path, { loadTimeoutMs: 200 })).rejects.toThrow(
      new ModelLoadError('Loading the model took longer than the limit of 200 ms'),
    );
  });

  it('reports a missing file as an ordinary error, not as a bad model', async () => {
    const error = await readModelSignature(join(dir, 'missing.onnx')).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ModelLoadError);
    expect(error).toMatchObject({ code: 'ENOENT' });
  });
});
