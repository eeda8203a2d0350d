import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../../../lib/onnx/signature.js';
import { oipDatatype } from './datatypes.js';
import {
  encodeBinary,
  nest,
  OipError,
  readInferRequest,
  requestedOutputs,
  toOipOutputs,
  toPredictInputs,
  type InferRequest,
} from './tensors.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The 400 message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OipError);
    expect((error as OipError).status).toBe(400);
    return (error as OipError).message;
  }
  throw new Error('expected a refusal');
}

const x: TensorSpec = { name: 'x', type: 'float32', shape: [null, 3] };

describe('oipDatatype', () => {
  it('names every onnxruntime element type the protocol has, and keeps the others in capitals', () => {
    expect(
      [
        'bool',
        'uint8',
        'int8',
        'uint16',
        'int16',
        'uint32',
        'int32',
        'uint64',
        'int64',
        'float16',
        'float32',
        'float64',
        'string',
      ].map(oipDatatype),
    ).toEqual([
      'BOOL',
      'UINT8',
      'INT8',
      'UINT16',
      'INT16',
      'UINT32',
      'INT32',
      'UINT64',
      'INT64',
      'FP16',
      'FP32',
      'FP64',
      'BYTES',
    ]);
    expect(oipDatatype('int4')).toBe('INT4');
  });
});

describe('readInferRequest', () => {
  it('reads a JSON request', () => {
    const request = readInferRequest(
      json({
        id: 'a',
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
        outputs: [{ name: 'y' }],
      }),
      undefined,
    );
    expect(request).toEqual({
      id: 'a',
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
      outputs: [{ name: 'y', binary: false }],
      binaryOutputs: false,
      binary: Buffer.alloc(0),
    });
  });

  it('splits the JSON header from the binary section, and takes binary_data_output as every output default', () => {
    const header = json({
      inputs: [{ name: 'x', shape: [1], datatype: 'UINT8', parameters: { binary_data_size: 1 } }],
      outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: false } }],
      parameters: { binary_data_output: true },
    });
    const request = readInferRequest(Buffer.concat([header, Buffer.from([7])]), String(header.length));
    expect(request.binary).toEqual(Buffer.from([7]));
    expect(request.outputs).toEqual([
      { name: 'a', binary: true },
      { name: 'b', binary: false },
    ]);
  });

  it.each([
    ['a header length past the body', json({}), '99', /Inference-Header-Content-Length must be/],
    ['a header length that is not a number', json({}), 'x', /Inference-Header-Content-Length must be/],
    ['a body that is not JSON', Buffer.from('{'), undefined, /not valid JSON/],
    ['an array', json([]), undefined, /must be a JSON object/],
    ['a numeric id', json({ id: 1, inputs: [] }), undefined, /id must be a string/],
    ['no inputs', json({ inputs: [] }), undefined, /non-empty array/],
    [
      'an input given twice',
      json({
        inputs: [
          { name: 'x', shape: [], datatype: 'FP32', data: 1 },
          { name: 'x', shape: [], datatype: 'FP32', data: 1 },
        ],
      }),
      undefined,
      /given twice/,
    ],
    [
      'data and binary_data_size',
      json({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] }),
      undefined,
      /both data and binary_data_size/,
    ],
    ['no data', json({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32' }] }), undefined, /data is missing/],
    [
      'a fractional dimension',
      json({ inputs: [{ name: 'x', shape: [1.5], datatype: 'FP32', data: [1] }] }),
      undefined,
      /non-negative integers/,
    ],
    [
      'binary sizes that do not add up',
      json({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }),
      undefined,
      /holds 0 bytes/,
    ],
    [
      'a binary_data that is not a boolean',
      json({
        inputs: [{ name: 'x', shape: [], datatype: 'FP32', data: 1 }],
        outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }],
      }),
      undefined,
      /binary_data must be true or false/,
    ],
    [
      'the classification extension',
      json({
        inputs: [{ name: 'x', shape: [], datatype: 'FP32', data: 1 }],
        outputs: [{ name: 'y', parameters: { classification: 2 } }],
      }),
      undefined,
      /classification extension is not supported/,
    ],
  ])('refuses %s', (_, body, headerLength, message) => {
    expect(refusal(() => readInferRequest(body, headerLength))).toMatch(message);
  });
});

const request = (inputs: InferRequest['inputs'], binary = Buffer.alloc(0)): InferRequest => ({
  inputs,
  binaryOutputs: false,
  binary,
});

describe('toPredictInputs', () => {
  it('nests flat data by the shape, and takes nested data as it is', () => {
    expect(
      toPredictInputs(request([{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }]), [x]),
    ).toEqual({
      x: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    expect(toPredictInputs(request([{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [[1, 2, 3]] }]), [x])).toEqual({
      x: [[1, 2, 3]],
    });
    // A signature's [] takes any shape, a scalar included.
    expect(
      toPredictInputs(request([{ name: 's', shape: [], datatype: 'INT64', data: [5] }]), [
        { name: 's', type: 'int64', shape: [] },
      ]),
    ).toEqual({ s: 5 });
  });

  it('decodes binary data of each datatype', () => {
    const ids = Buffer.alloc(16);
    ids.writeBigInt64LE(2n ** 63n - 1n, 0);
    ids.writeBigInt64LE(-5n, 8);
    const strings = Buffer.from([2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0]);
    const halves = Buffer.from([0x00, 0x3c, 0x66, 0x2e]);
    const inputs = toPredictInputs(
      request(
        [
          { name: 'i', shape: [2], datatype: 'INT64', binaryDataSize: 16 },
          { name: 's', shape: [2], datatype: 'BYTES', binaryDataSize: 10 },
          { name: 'h', shape: [2], datatype: 'FP16', binaryDataSize: 4 },
          { name: 'b', shape: [3], datatype: 'BOOL', binaryDataSize: 3 },
        ],
        Buffer.concat([ids, strings, halves, Buffer.from([1, 0, 2])]),
      ),
      [
        { name: 'i', type: 'int64', shape: [2] },
        { name: 's', type: 'string', shape: [2] },
        { name: 'h', type: 'float16', shape: [2] },
        { name: 'b', type: 'bool', shape: [3] },
      ],
    );
    expect(inputs).toEqual({
      i: ['9223372036854775807', -5],
      s: ['hi', ''],
      h: [1, 0.0999755859375],
      b: [true, false, true],
    });
  });

  it.each([
    ['a missing input', [], /Input "x" is missing/],
    [
      'an unknown input',
      [
        { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'q', shape: [], datatype: 'FP32', data: 1 },
      ],
      /Unknown input "q"/,
    ],
    [
      'a wrong datatype',
      [{ name: 'x', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }],
      /has datatype INT32, the model expects FP32/,
    ],
    [
      'a fixed dimension that differs',
      [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }],
      /shape \[1, 2\], the model expects \[-1, 3\]/,
    ],
    [
      'too few elements',
      [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3] }],
      /has 3 elements in data, its shape \[2, 3\] holds 6/,
    ],
  ] as [string, InferRequest['inputs'], RegExp][])('refuses %s', (_, inputs, message) => {
    expect(refusal(() => toPredictInputs(request(inputs), [x]))).toMatch(message);
  });

  it('refuses binary data that does not hold the shape, truncated BYTES, and bytes that are not UTF-8', () => {
    const bytesSpec: TensorSpec = { name: 's', type: 'string', shape: [1] };
    const binary = (bytes: number[]) =>
      request([{ name: 's', shape: [1], datatype: 'BYTES', binaryDataSize: bytes.length }], Buffer.from(bytes));
    expect(refusal(() => toPredictInputs(binary([5, 0, 0, 0, 0x61]), [bytesSpec]))).toMatch(/runs past its data/);
    expect(refusal(() => toPredictInputs(binary([1, 0]), [bytesSpec]))).toMatch(/truncated length/);
    expect(refusal(() => toPredictInputs(binary([1, 0, 0, 0, 0xff]), [bytesSpec]))).toMatch(/not UTF-8 text/);
    expect(refusal(() => toPredictInputs(binary([0, 0, 0, 0, 0, 0, 0, 0]), [bytesSpec]))).toMatch(
      /holds 2 BYTES elements, the shape holds 1/,
    );
    const inf = Buffer.alloc(12);
    inf.writeFloatLE(Infinity, 8);
    expect(
      refusal(() =>
        toPredictInputs(request([{ name: 'x', shape: [1, 3], datatype: 'FP32', binaryDataSize: 12 }], inf), [x]),
      ),
    ).toMatch(/element 2 is Infinity, which has no JSON form/);
  });
});

describe('outputs', () => {
  const y: TensorSpec = { name: 'y', type: 'int64', shape: [null, 2] };
  const z: TensorSpec = { name: 'z', type: 'string', shape: [null] };

  it('answers the outputs asked for, in their order, JSON or binary', () => {
    const wanted = requestedOutputs(
      {
        ...request([]),
        outputs: [
          { name: 'z', binary: true },
          { name: 'y', binary: false },
        ],
      },
      [y, z],
    );
    const { outputs, buffers } = toOipOutputs({ y: [[1, '9007199254740993']], z: ['é'] }, wanted);
    expect(outputs).toEqual([
      { name: 'z', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } },
      { name: 'y', datatype: 'INT64', shape: [1, 2], data: [1, '9007199254740993'] },
    ]);
    expect(buffers).toEqual([Buffer.from([2, 0, 0, 0, 0xc3, 0xa9])]);
    expect(
      refusal(() => requestedOutputs({ ...request([]), outputs: [{ name: 'w', binary: false }] }, [y, z])),
    ).toMatch(/Unknown output "w": the model's outputs are "y", "z"/);
  });

  it('gives an empty output the shape its signature fixes past the empty dimension', () => {
    const { outputs } = toOipOutputs({ y: [] }, [{ spec: y, binary: false }]);
    expect(outputs).toEqual([{ name: 'y', datatype: 'INT64', shape: [0, 2], data: [] }]);
  });

  it('encodes 64-bit integers exactly, from numbers or decimal strings', () => {
    const bytes = encodeBinary([1, '-9223372036854775808'], 'INT64');
    expect([bytes.readBigInt64LE(0), bytes.readBigInt64LE(8)]).toEqual([1n, -(2n ** 63n)]);
    expect(encodeBinary([0.5, -2], 'FP16')).toEqual(Buffer.from([0x00, 0x38, 0x00, 0xc0]));
    expect(encodeBinary([true, false], 'BOOL')).toEqual(Buffer.from([1, 0]));
  });
});

describe('nest', () => {
  it('builds nested arrays of a shape from row-major elements', () => {
    expect(nest([1, 2, 3, 4, 5, 6], [3, 2])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(nest([1, 2, 3, 4], [2, 1, 2])).toEqual([[[1, 2]], [[3, 4]]]);
    expect(nest([7], [])).toBe(7);
  });
});
