import { GraphQLError } from 'graphql';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { buildIdentityModel, buildLinearModel } from './build-model.js';
import { createSessionOptions } from './session-options.js';
import type { TensorSpec } from './signature.js';
import {
  batchKey,
  canBatch,
  createZeroFeeds,
  formatShape,
  fromOutputTensors,
  JSON_TENSOR_TYPES,
  splitBatch,
  stackBatch,
  toInputTensors,
  type TensorMap,
} from './tensors.js';

const limits = { maxElements: 1000 };
const x: TensorSpec = { name: 'x', type: 'float32', shape: [null, 3] };

/** The error `fn` throws, which must be a catalog error. */
function catalogError(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected an error');
}

/** Converting `inputs` fails with BAD_USER_INPUT naming the tensor and the expected shape; returns the message. */
function rejected(inputs: unknown, spec: TensorSpec = x): string {
  const error = catalogError(() => toInputTensors(inputs, [spec], limits));
  expect(error.extensions).toEqual({ code: ErrorCode.BAD_USER_INPUT, tensor: spec.name, expectedShape: spec.shape });
  expect(error.message).toContain(`'${spec.name}'`);
  expect(error.message).toContain(spec.shape.length === 0 ? 'any shape' : `shape ${formatShape(spec.shape)}`);
  return error.message;
}

async function runModel(model: Uint8Array, feeds: TensorMap): Promise<TensorMap> {
  const session = await InferenceSession.create(model, createSessionOptions());
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('formatShape', () => {
  it('writes a dynamic first dimension as N and the others as ?', () => {
    expect(formatShape([null, 3])).toBe('[N, 3]');
    expect(formatShape([2, null, null])).toBe('[2, ?, ?]');
    expect(formatShape([])).toBe('[]');
  });
});

describe('toInputTensors refuses', () => {
  it('inputs that are not an object, listing what the model expects', () => {
    for (const inputs of [null, [[1, 2, 3]], 'x', 42, undefined]) {
      const error = catalogError(() => toInputTensors(inputs, [x], limits));
      expect(error.extensions).toEqual({ code: ErrorCode.BAD_USER_INPUT });
      expect(error.message).toBe(
        "Inputs must be a JSON object keyed by tensor name; the model expects 'x' (float32 values of shape [N, 3])",
      );
    }
  });

  it('a missing tensor', () => {
    expect(rejected({})).toBe("Input 'x' expects float32 values of shape [N, 3]: it is missing");
    // Not found on Object.prototype either.
    expect(rejected({}, { name: 'constructor', type: 'float32', shape: [1] })).toMatch(/it is missing/);
  });

  it('an unknown tensor', () => {
    const error = catalogError(() => toInputTensors({ x: [[1, 2, 3]], z: [1] }, [x], limits));
    expect(error.extensions).toEqual({ code: ErrorCode.BAD_USER_INPUT, tensor: 'z' });
    expect(error.message).toBe("Unknown input 'z': the model's inputs are 'x'");
  });

  it('a wrong rank', () => {
    expect(rejected({ x: [1, 2, 3] })).toBe("Input 'x' expects float32 values of shape [N, 3]: got shape [3]");
    expect(rejected({ x: [[[1, 2, 3]]] })).toMatch(/: got shape \[1, 1, 3\]$/);
    expect(rejected({ x: 5 })).toMatch(/: got 5, not an array$/);
    expect(rejected({ x: { 0: [1, 2, 3] } })).toMatch(/: got an object, not an array$/);
    expect(rejected({ x: [] })).toMatch(/: got shape \[0\]$/);
  });

  it('a wrong size for a fixed dimension', () => {
    expect(rejected({ x: [[1, 2]] })).toBe("Input 'x' expects float32 values of shape [N, 3]: got shape [1, 2]");
    const fixed: TensorSpec = { name: 'img', type: 'uint8', shape: [1, 2, 2] };
    expect(rejected({ img: [[[1, 2]], [[3, 4]]] }, fixed)).toMatch(/shape \[1, 2, 2\]: got shape \[2, 1, 2\]$/);
  });

  it('ragged arrays, naming where', () => {
    expect(
      rejected({
        x: [
          [1, 2, 3],
          [4, 5],
        ],
      }),
    ).toBe("Input 'x' expects float32 values of shape [N, 3]: ragged array: x[1] has 2 entries instead of 3");
    expect(rejected({ x: [[1, 2, 3], 4] })).toMatch(/ragged array: x\[1\] is 4, not an array of 3$/);
    const cube: TensorSpec = { name: 'c', type: 'float64', shape: [null, 2, 2] };
    expect(
      rejected(
        {
          c: [
            [
              [1, 2],
              [3, 4],
            ],
            [[5, 6], [7]],
          ],
        },
        cube,
      ),
    ).toMatch(/ragged array: c\[1\]\[1\] has 1 entries instead of 2$/);
    // Deeper than the rank at a later element: the innermost level holds an array instead of a number.
    expect(rejected({ x: [[1, 2, [3]]] })).toMatch(/x\[0\]\[2\] is an array, expected finite numbers/);
  });

  it('elements that are not numbers', () => {
    expect(rejected({ x: [[1, 'a', 3]] })).toBe(
      'Input \'x\' expects float32 values of shape [N, 3]: x[0][1] is the string "a", expected finite numbers within float32 range',
    );
    expect(rejected({ x: [[1, 2, null]] })).toMatch(/x\[0\]\[2\] is null, expected/);
    expect(rejected({ x: [[true, 2, 3]] })).toMatch(/x\[0\]\[0\] is true, expected/);
    expect(rejected({ x: [[{}, 2, 3]] })).toMatch(/x\[0\]\[0\] is an object, expected/);
    // Long strings are cut in the message, not echoed whole.
    expect(rejected({ x: [['z'.repeat(10_000), 2, 3]] })).toMatch(/is the string "z{24}…", expected/);
  });

  it('NaN and infinities, which JSON cannot carry but a JavaScript caller could', () => {
    for (const value of [NaN, Infinity, -Infinity]) {
      expect(rejected({ x: [[1, value, 3]] })).toMatch(/x\[0\]\[1\] is (NaN|-?Infinity), expected finite numbers/);
      expect(rejected({ d: [value] }, { name: 'd', type: 'float64', shape: [1] })).toMatch(/expected finite numbers$/);
    }
  });

  it('numbers beyond float32 range, which would become Infinity', () => {
    expect(rejected({ x: [[1e39, 2, 3]] })).toMatch(/x\[0\]\[0\] is 1e\+39, expected finite numbers within float32/);
    const wide: TensorSpec = { name: 'd', type: 'float64', shape: [1] };
    expect(Array.from(toInputTensors({ d: [1e300] }, [wide], limits).d?.data as Float64Array)).toEqual([1e300]);
  });

  it('fractions for integer types, and integers out of range', () => {
    const spec = (type: string): TensorSpec => ({ name: 'i', type, shape: [null] });
    expect(rejected({ i: [1, 1.5] }, spec('int32'))).toBe(
      "Input 'i' expects int32 values of shape [N]: i[1] is 1.5, expected integers in [-2147483648, 2147483647]",
    );
    expect(rejected({ i: [2 ** 31] }, spec('int32'))).toMatch(/i\[0\] is 2147483648, expected integers/);
    expect(rejected({ i: [256] }, spec('uint8'))).toMatch(/i\[0\] is 256, expected integers in \[0, 255\]$/);
    expect(rejected({ i: [-1] }, spec('uint8'))).toMatch(/i\[0\] is -1, expected integers in \[0, 255\]$/);
    expect(rejected({ i: [-129] }, spec('int8'))).toMatch(/expected integers in \[-128, 127\]$/);
    expect(rejected({ i: [65536] }, spec('uint16'))).toMatch(/expected integers in \[0, 65535\]$/);
    expect(rejected({ i: [0.5] }, spec('int64'))).toMatch(
      /i\[0\] is 0\.5, expected integers in \[-9223372036854775808/,
    );
    // 2^53 is not exact as a JSON number (2^53 + 1 parses to it): it must come as a string.
    expect(rejected({ i: [2 ** 53] }, spec('int64'))).toMatch(/i\[0\] is 9007199254740992, expected/);
    for (const text of ['9223372036854775808', '1.5', '01', '', ' 1', '1e3', '0x10']) {
      expect(rejected({ i: [text] }, spec('int64'))).toMatch(/i\[0\] is the string ".*", expected integers/);
    }
    expect(rejected({ i: ['-1'] }, spec('uint64'))).toMatch(/expected integers in \[0, 18446744073709551615\]/);
    expect(rejected({ i: ['5'] }, spec('int32'))).toMatch(/i\[0\] is the string "5", expected integers/);
  });

  it('anything but true and false for bool', () => {
    const mask: TensorSpec = { name: 'mask', type: 'bool', shape: [null] };
    expect(rejected({ mask: [true, 1] }, mask)).toBe(
      "Input 'mask' expects bool values of shape [N]: mask[1] is 1, expected true or false",
    );
    expect(rejected({ mask: ['true'] }, mask)).toMatch(/mask\[0\] is the string "true", expected true or false$/);
  });

  it('element types without a JSON form', () => {
    expect(rejected({ q: [1] }, { name: 'q', type: 'int4', shape: [1] })).toBe(
      "Input 'q' expects int4 values of shape [1]: int4 tensors cannot be sent as JSON",
    );
  });

  it('numbers beyond float16 range, or not numbers, for float16', () => {
    const h: TensorSpec = { name: 'h', type: 'float16', shape: [null] };
    expect(rejected({ h: [1, 65520] }, h)).toBe(
      "Input 'h' expects float16 values of shape [N]: h[1] is 65520, expected finite numbers within float16 range (±65504)",
    );
    expect(rejected({ h: ['1'] }, h)).toMatch(/h\[0\] is the string "1", expected finite numbers/);
  });

  it('nesting deeper than MAX_RANK where any shape is allowed', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(rejected({ a: deep }, { name: 'a', type: 'float32', shape: [] })).toMatch(/nested more than 32 levels/);
  });

  it('more elements than the limit, all tensors together, before looking at a single element', () => {
    const y: TensorSpec = { name: 'y', type: 'int32', shape: [null] };
    const rows = Array.from({ length: 300 }, () => ['not', 'a', 'number']);
    const error = catalogError(() => toInputTensors({ x: rows, y: Array(200).fill(0) }, [x, y], limits));
    expect(error.extensions).toEqual({
      code: ErrorCode.PAYLOAD_TOO_LARGE,
      limit: 1000,
      tensor: 'x',
      expectedShape: [null, 3],
    });
    expect(error.message).toBe(
      "Inputs hold 1100 elements, more than the limit of 1000 ('x' has shape [300, 3], expected shape [N, 3])",
    );
    // Exactly at the limit is fine.
    const atLimit = toInputTensors({ x: Array.from({ length: 200 }, () => [1, 2, 3]), y: Array(400).fill(0) }, [x, y], {
      maxElements: 1000,
    });
    expect(atLimit.x?.dims).toEqual([200, 3]);
  });
});

describe('toInputTensors converts', () => {
  it('float32 into a Float32Array of the nested shape', () => {
    const { x: tensor } = toInputTensors(
      {
        x: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
      [x],
      limits,
    );
    expect(tensor).toBeInstanceOf(Tensor);
    expect(tensor?.type).toBe('float32');
    expect(tensor?.dims).toEqual([2, 3]);
    expect(tensor?.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6]));
  });

  it('each element type into its typed array', () => {
    const cases: [string, unknown[], unknown][] = [
      ['float64', [0.1, -2], Float64Array.from([0.1, -2])],
      ['int8', [-128, 127], Int8Array.from([-128, 127])],
      ['uint8', [0, 255], Uint8Array.from([0, 255])],
      ['int16', [-32768, 32767], Int16Array.from([-32768, 32767])],
      ['uint16', [0, 65535], Uint16Array.from([0, 65535])],
      ['int32', [-(2 ** 31), 2 ** 31 - 1], Int32Array.from([-(2 ** 31), 2 ** 31 - 1])],
      ['uint32', [0, 2 ** 32 - 1], Uint32Array.from([0, 2 ** 32 - 1])],
      ['int64', [-5, '9223372036854775807'], BigInt64Array.from([-5n, 2n ** 63n - 1n])],
      ['uint64', [7, '18446744073709551615'], BigUint64Array.from([7n, 2n ** 64n - 1n])],
      ['bool', [true, false], Uint8Array.from([1, 0])],
      ['string', ['a', ''], ['a', '']],
    ];
    for (const [type, values, data] of cases) {
      const tensor = toInputTensors({ t: values }, [{ name: 't', type, shape: [2] }], limits).t;
      expect({ type: tensor?.type, dims: tensor?.dims, data: tensor?.data }).toEqual({ type, dims: [2], data });
    }
  });

  it('a scalar, and any shape where the signature leaves the rank open', () => {
    const open: TensorSpec = { name: 's', type: 'float64', shape: [] };
    expect(toInputTensors({ s: 2.5 }, [open], limits).s?.dims).toEqual([]);
    expect(toInputTensors({ s: [[[1], [2]]] }, [open], limits).s?.dims).toEqual([1, 2, 1]);
  });

  it('several inputs in signature order, whatever order they arrive in', () => {
    const ids: TensorSpec = { name: 'ids', type: 'int64', shape: [null, 2] };
    const feeds = toInputTensors({ ids: [[1, 2]], x: [[0, 0, 0]] }, [x, ids], limits);
    expect(Object.keys(feeds)).toEqual(['x', 'ids']);
    expect(feeds.ids?.data).toEqual(BigInt64Array.from([1n, 2n]));
  });
});

describe('fromOutputTensors', () => {
  it('nests data by dims, float32 as the exact float32 value', () => {
    const y = new Tensor('float32', Float32Array.from([0.1, 2, 3, 4, 5, 6]), [3, 2]);
    expect(fromOutputTensors({ y })).toEqual({
      y: [
        [Math.fround(0.1), 2],
        [3, 4],
        [5, 6],
      ],
    });
  });

  it('returns a scalar as its value, and empty dimensions as empty arrays', () => {
    expect(fromOutputTensors({ s: new Tensor('float64', Float64Array.from([1.5]), []) })).toEqual({ s: 1.5 });
    expect(fromOutputTensors({ e: new Tensor('float32', new Float32Array(0), [2, 0]) })).toEqual({ e: [[], []] });
  });

  it('gives int64 as numbers while exact and as decimal strings beyond', () => {
    const big = BigInt64Array.from([
      0n,
      -42n,
      BigInt(Number.MAX_SAFE_INTEGER),
      -BigInt(Number.MAX_SAFE_INTEGER),
      BigInt(Number.MAX_SAFE_INTEGER) + 1n,
      -(2n ** 63n),
    ]);
    expect(fromOutputTensors({ i: new Tensor('int64', big, [6]) })).toEqual({
      i: [0, -42, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, '9007199254740992', '-9223372036854775808'],
    });
    const unsigned = BigUint64Array.from([1n, 2n ** 64n - 1n]);
    expect(fromOutputTensors({ u: new Tensor('uint64', unsigned, [2]) })).toEqual({ u: [1, '18446744073709551615'] });
  });

  it('gives bool as booleans', () => {
    expect(fromOutputTensors({ b: new Tensor('bool', Uint8Array.from([1, 0, 1]), [1, 3]) })).toEqual({
      b: [[true, false, true]],
    });
  });

  it('gives float16 as the exact values of the halves', () => {
    expect(fromOutputTensors({ h: new Tensor('float16', Uint16Array.from([0x3c00, 0x2e66, 0xfbff]), [3]) })).toEqual({
      h: [1, 0.0999755859375, -65504],
    });
  });

  it('refuses element types without a JSON form', () => {
    expect(() => fromOutputTensors({ q: new Tensor('int4', new Uint8Array(1), [2]) })).toThrow(
      new TypeError('int4 tensors have no JSON form'),
    );
  });
});

describe('round trips through onnxruntime', () => {
  // Values at the edges of each type; int64 beyond 2^53 only as strings, since that is how they come back.
  const values: Record<string, unknown[][]> = {
    float32: [
      [0.5, -2, 3.25],
      [1e-3, 65504, Math.fround(Math.PI)],
    ],
    float64: [
      [0.1, -1e300, Math.PI],
      [5e-324, 0, -0.5],
    ],
    int8: [
      [-128, 0, 127],
      [1, -1, 2],
    ],
    uint8: [
      [0, 128, 255],
      [1, 2, 3],
    ],
    int16: [
      [-32768, 0, 32767],
      [1, -1, 2],
    ],
    uint16: [
      [0, 1, 65535],
      [2, 3, 4],
    ],
    int32: [
      [-2147483648, 0, 2147483647],
      [1, -1, 2],
    ],
    uint32: [
      [0, 1, 4294967295],
      [2, 3, 4],
    ],
    int64: [
      [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0],
      ['9223372036854775807', '-9223372036854775808', '-9007199254740993'],
    ],
    uint64: [
      [0, Number.MAX_SAFE_INTEGER, 7],
      ['18446744073709551615', '9007199254740992', 1],
    ],
    bool: [
      [true, false, true],
      [false, false, true],
    ],
    float16: [
      [0.5, -65504, 0.0999755859375],
      [2 ** -24, 0, 1024],
    ],
    string: [
      ['a', '', 'ü ✓'],
      ['x', 'y', 'z'],
    ],
  };

  it('covers every JSON element type', () => {
    expect(Object.keys(values).sort()).toEqual([...JSON_TENSOR_TYPES].sort());
  });

  it.each(Object.entries(values))('%s comes back as it went in', async (type, rows) => {
    const spec: TensorSpec = { name: 't', type, shape: [null, 3] };
    const model = buildIdentityModel([spec]);
    const outputs = fromOutputTensors(await runModel(model, toInputTensors({ t: rows }, [spec], limits)));
    // float32 returns the float32 nearest to each input.
    const expected = type === 'float32' ? rows.map((row) => row.map((v) => Math.fround(v as number))) : rows;
    expect(outputs).toEqual({ t_out: expected });
  });
});

describe('a linear model end to end', () => {
  const weights = [
    [1, 2],
    [3, -4],
    [5, 6],
  ];
  const bias = [10, -20];
  const model = buildLinearModel({ weights, bias });
  const signature = { inputs: [x], outputs: [{ name: 'y', type: 'float32', shape: [null, 2] }] };

  it('computes x·W + b from JSON inputs and returns JSON outputs', async () => {
    const feeds = toInputTensors(
      {
        x: [
          [1, 1, 1],
          [0, 2, 0],
        ],
      },
      signature.inputs,
      limits,
    );
    expect(fromOutputTensors(await runModel(model, feeds))).toEqual({
      y: [
        [19, -16],
        [16, -28],
      ],
    });
  });

  it('gives the same outputs for three stacked items, split again, as for each run alone', async () => {
    const items = [[[1, 0, 0]], [[-1, 1, 3]], [[0.5, 0.25, -2]]].map((rows) =>
      toInputTensors({ x: rows }, signature.inputs, limits),
    );
    const alone = await Promise.all(items.map(async (feeds) => fromOutputTensors(await runModel(model, feeds))));
    const stacked = stackBatch(items, signature.inputs);
    expect(stacked.x?.dims).toEqual([3, 3]);
    const split = splitBatch(await runModel(model, stacked), [1, 1, 1]);
    expect(split.map(fromOutputTensors)).toEqual(alone);
    expect(split.map((item) => item.y?.dims)).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
  });

  it('stacks and splits items of several rows each', async () => {
    const rows = [
      [[1, 2, 3]],
      [
        [4, 5, 6],
        [7, 8, 9],
      ],
      [[0, 0, 1]],
    ];
    const items = rows.map((r) => toInputTensors({ x: r }, signature.inputs, limits));
    const outputs = await runModel(model, stackBatch(items, signature.inputs));
    // x·W + b by hand: integers, exact in float32.
    const expected = rows.map((r) => ({
      y: r.map((row) => bias.map((b, j) => row.reduce((sum, v, i) => sum + v * (weights[i]?.[j] ?? NaN), b))),
    }));
    expect(expected[0]).toEqual({ y: [[32, -8]] });
    expect(splitBatch(outputs, [1, 2, 1]).map(fromOutputTensors)).toEqual(expected);
  });

  it('feeds split items, which are views into the batch, to a session as they are', async () => {
    const identity = buildIdentityModel([x]);
    const batch = new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [3, 3]);
    const [, second, third] = splitBatch({ x: batch }, [1, 1, 1]);
    expect(second?.x?.data).toEqual(Float32Array.from([4, 5, 6]));
    expect(fromOutputTensors(await runModel(identity, second as TensorMap))).toEqual({ x_out: [[4, 5, 6]] });
    expect(fromOutputTensors(await runModel(identity, third as TensorMap))).toEqual({ x_out: [[7, 8, 9]] });
  });
});

describe('batching helpers', () => {
  const ids: TensorSpec = { name: 'ids', type: 'int64', shape: [null, null] };
  const item = (id: number, length: number) =>
    toInputTensors({ x: [[id, id, id]], ids: [Array(length).fill(id)] }, [x, ids], limits);

  it('canBatch wants a dynamic first dimension on every input and output', () => {
    const y: TensorSpec = { name: 'y', type: 'float32', shape: [null, 2] };
    expect(canBatch({ inputs: [x], outputs: [y] })).toBe(true);
    expect(canBatch({ inputs: [x], outputs: [{ ...y, shape: [1, 2] }] })).toBe(false);
    expect(canBatch({ inputs: [{ ...x, shape: [1, 3] }], outputs: [y] })).toBe(false);
    expect(canBatch({ inputs: [{ ...x, shape: [] }], outputs: [y] })).toBe(false);
    expect(canBatch({ inputs: [], outputs: [y] })).toBe(false);
  });

  it('batchKey tells which items stack: same names, types and dimensions past the first', () => {
    expect(batchKey(item(1, 4))).toBe(batchKey(item(2, 4)));
    expect(batchKey(item(1, 4))).not.toBe(batchKey(item(1, 5)));
  });

  it('stackBatch concatenates int64 and keeps each item in order', () => {
    const stacked = stackBatch([item(1, 2), item(2, 2), item(3, 2)], [x, ids]);
    expect(stacked.ids?.dims).toEqual([3, 2]);
    expect(stacked.ids?.data).toEqual(BigInt64Array.from([1n, 1n, 2n, 2n, 3n, 3n]));
    expect(splitBatch(stacked, [2, 1]).map(fromOutputTensors)).toEqual([
      {
        x: [
          [1, 1, 1],
          [2, 2, 2],
        ],
        ids: [
          [1, 1],
          [2, 2],
        ],
      },
      { x: [[3, 3, 3]], ids: [[3, 3]] },
    ]);
  });

  it('stackBatch stacks string tensors too', () => {
    const words: TensorSpec = { name: 'w', type: 'string', shape: [null] };
    const items = [['a', 'b'], ['c']].map((w) => toInputTensors({ w }, [words], limits));
    expect(stackBatch(items, [words]).w?.data).toEqual(['a', 'b', 'c']);
  });

  it('stackBatch refuses what cannot be stacked', () => {
    expect(() => stackBatch([item(1, 2), item(2, 3)], [x, ids])).toThrow(
      new RangeError("item 1: 'ids' is int64 [1, 3], item 0's is int64 [1, 2]: they cannot be stacked"),
    );
    const fixed: TensorSpec = { ...x, shape: [1, 3] };
    expect(() => stackBatch([item(1, 2)], [fixed])).toThrow(/'x' of shape \[1, 3\] has no dynamic first dimension/);
    expect(() => stackBatch([item(1, 2), {}], [x])).toThrow(new RangeError("item 1 has no input 'x'"));
    expect(() => stackBatch([], [x])).toThrow(RangeError);
  });

  it('splitBatch refuses sizes that do not add up to the batch', () => {
    const y = new Tensor('float32', new Float32Array(6), [3, 2]);
    expect(() => splitBatch({ y }, [1, 1])).toThrow(new RangeError("output 'y' has shape [3, 2], not a batch of 2"));
    expect(() => splitBatch({ y }, [1.5, 1.5])).toThrow(/non-negative integers/);
  });

  it('createZeroFeeds gives zeros of the smallest valid shape', () => {
    const feeds = createZeroFeeds([
      { name: 'a', type: 'float32', shape: [null, 3, null] },
      { name: 'b', type: 'int64', shape: [2] },
      { name: 'c', type: 'bool', shape: [] },
      { name: 'd', type: 'string', shape: [null] },
    ]);
    expect(feeds.a?.dims).toEqual([1, 3, 1]);
    expect(feeds.a?.data).toEqual(new Float32Array(3));
    expect(feeds.b?.data).toEqual(new BigInt64Array(2));
    expect({ type: feeds.c?.type, dims: feeds.c?.dims }).toEqual({ type: 'bool', dims: [] });
    expect(feeds.d?.data).toEqual(['']);
  });
});
