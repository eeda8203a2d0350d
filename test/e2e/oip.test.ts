import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFloat16Bits, fromFloat16Bits } from '../../lib/onnx/float16.js';
import { buildIdentityModel } from '../../lib/onnx/build-model.js';
import { projectRoot } from '../../lib/project-root.js';
import { createProject, LINEAR_MODEL, linear, uploadModel } from '../helpers/models.js';
import { binaryBody, buildSpecExampleModel, bytesElements, splitBinaryResponse } from '../helpers/oip.js';
import {
  GENEROUS_RATE_LIMITS,
  signup,
  startTestPlatform,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';

let t: TestPlatform;
let alice: Session;
let bob: Session;
let projectId: string;
/** The specification examples' model: input0 UINT32 [2, 2], input1 BOOL [3] → output0 FP32 [3, 2], output1 FP32 [2, 2]. */
let specModel: string;
/** Identity over several datatypes: each input `<name>` comes back as `<name>_out`. */
let typesModel: string;
/** y = x·W + b, FP32 [N, 3] → [N, 2]. */
let linearModel: string;

const TYPES = [
  { name: 'ids', type: 'int64', shape: [null, 2] },
  { name: 'mask', type: 'bool', shape: [null] },
  { name: 'pixels', type: 'uint8', shape: [null, 3] },
  { name: 'half', type: 'float16', shape: [null, 2] },
  { name: 'text', type: 'string', shape: [null] },
  { name: 'wide', type: 'float64', shape: [2, 2] },
];

beforeAll(async () => {
  t = await startTestPlatform();
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  projectId = await createProject(t, alice);
  const [spec, types, lin] = await Promise.all([
    uploadModel(t, alice, projectId, '1', buildSpecExampleModel()),
    uploadModel(t, alice, projectId, 'types-1', buildIdentityModel(TYPES)),
    uploadModel(t, alice, projectId, 'linear-1', LINEAR_MODEL),
  ]);
  for (const model of [spec, types, lin]) expect(model.status).toBe('READY');
  [specModel, typesModel, linearModel] = [spec.id, types.id, lin.id];
});
afterAll(async () => {
  await t?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the response's shape
type Answer = { status: number; headers: Headers; json: any; bytes: Buffer };

async function oip(
  path: string,
  options: {
    method?: string;
    token?: string | null;
    body?: unknown;
    raw?: Buffer;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const token = options.token === undefined ? alice.accessToken : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: RequestInit['body'];
  if (options.raw) body = new Uint8Array(options.raw);
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(new URL(path, t.url), {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const binary = res.headers.get('inference-header-content-length') !== null;
  return { status: res.status, headers: res.headers, json: binary ? undefined : JSON.parse(bytes.toString()), bytes };
}

/** A binary tensor data request. */
const inferBinary = (path: string, header: unknown, tensors: Buffer[], token?: string) => {
  const { body, headerLength } = binaryBody(header, tensors);
  return oip(path, {
    raw: body,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    ...(token !== undefined ? { token } : {}),
  });
};

/** The response's JSON header and binary section. */
function binaryAnswer(answer: Answer) {
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toBe('application/octet-stream');
  const length = Number(answer.headers.get('inference-header-content-length'));
  expect(Number(answer.headers.get('content-length'))).toBe(answer.bytes.length);
  return splitBinaryResponse(answer.bytes, length);
}

const f32 = (values: number[]) => values.map(Math.fround);
const requestCount = async () => {
  await t.platform.flushInferenceRequests();
  return (await t.platform.database.db.selectFrom('inference_requests').select('id').execute()).length;
};

describe('health and server metadata', () => {
  it('answers live, ready and the server metadata without a token', async () => {
    expect(await oip('/v2/health/live', { token: null })).toMatchObject({ status: 200, json: { live: true } });
    expect(await oip('/v2/health/ready', { token: null })).toMatchObject({ status: 200, json: { ready: true } });
    const server = await oip('/v2', { token: null });
    expect(server.status).toBe(200);
    expect(server.json).toEqual({
      name: 'ai-code',
      version: JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version,
      extensions: ['binary_tensor_data'],
    });
  });
});

describe('model metadata', () => {
  it("maps each model's signature to the protocol's datatypes and shapes", async () => {
    const spec = await oip(`/v2/models/${specModel}`);
    expect(spec.status).toBe(200);
    // The specification's "Model Metadata Response JSON Object" for the examples' model.
    expect(spec.json).toEqual({
      name: specModel,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'input0', datatype: 'UINT32', shape: [2, 2] },
        { name: 'input1', datatype: 'BOOL', shape: [3] },
      ],
      outputs: [
        { name: 'output0', datatype: 'FP32', shape: [3, 2] },
        { name: 'output1', datatype: 'FP32', shape: [2, 2] },
      ],
    });
    const types = await oip(`/v2/models/${typesModel}`);
    const expected = [
      { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
      { name: 'mask', datatype: 'BOOL', shape: [-1] },
      { name: 'pixels', datatype: 'UINT8', shape: [-1, 3] },
      { name: 'half', datatype: 'FP16', shape: [-1, 2] },
      { name: 'text', datatype: 'BYTES', shape: [-1] },
      { name: 'wide', datatype: 'FP64', shape: [2, 2] },
    ];
    expect(types.json).toEqual({
      name: typesModel,
      versions: ['types-1'],
      platform: 'onnxruntime_onnx',
      inputs: expected,
      outputs: expected.map((tensor) => ({ ...tensor, name: `${tensor.name}_out` })),
    });
    const lin = await oip(`/v2/models/${linearModel}/versions/linear-1`);
    expect(lin.json).toMatchObject({
      versions: ['linear-1'],
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    });
  });

  it('is ready only when the model is READY', async () => {
    expect(await oip(`/v2/models/${specModel}/ready`)).toMatchObject({ status: 200, json: { ready: true } });
    expect(await oip(`/v2/models/${specModel}/versions/1/ready`)).toMatchObject({ status: 200 });
    const pending = await t.gql({
      query: 'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { model { id } } }',
      token: alice.accessToken,
      variables: { input: { projectId, version: 'pending' } },
    });
    const pendingId = pending.data?.createModelUpload.model.id as string;
    // The protocol: a 4xx status when not ready.
    expect(await oip(`/v2/models/${pendingId}/ready`)).toMatchObject({ status: 400, json: { ready: false } });
    const infer = await oip(`/v2/models/${pendingId}/infer`, {
      body: { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    });
    expect(infer).toMatchObject({ status: 400, json: { error: expect.stringContaining('PENDING_UPLOAD') } });
  });

  it("answers 404 for an unknown model, someone else's, and a version the model does not have", async () => {
    for (const [path, token] of [
      [`/v2/models/${randomUUID()}`, alice.accessToken],
      [`/v2/models/not-an-id`, alice.accessToken],
      [`/v2/models/${specModel}`, bob.accessToken],
      [`/v2/models/${specModel}/ready`, bob.accessToken],
      [`/v2/models/${specModel}/versions/2`, alice.accessToken],
    ] as const) {
      const answer = await oip(path, { token });
      expect(answer.status, path).toBe(404);
      expect(answer.json).toEqual({ error: expect.stringMatching(/^Model ".+" (not found|has no version "2")$/) });
    }
  });
});

describe('infer: the specification examples', () => {
  it('"Inference Request Examples": JSON in, JSON out, outputs filtered, id echoed', async () => {
    const before = await requestCount();
    const answer = await oip(`/v2/models/${specModel}/infer`, {
      body: {
        id: '42',
        inputs: [
          { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
          // The specification's example sends one element for shape [3]; the model needs all three.
          { name: 'input1', shape: [3], datatype: 'BOOL', data: [true, false, true] },
        ],
        outputs: [{ name: 'output0' }],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    // "Inference Response Examples"
    expect(answer.json).toEqual({
      model_name: specModel,
      model_version: '1',
      id: '42',
      outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: f32([1.0, 1.1, 2.0, 2.1, 3.0, 3.1]) }],
    });
    expect(await requestCount()).toBe(before + 1);
  });

  it('binary tensor data extension example: binary inputs, one binary and one JSON output', async () => {
    const input0 = Buffer.alloc(16);
    [1, 2, 3, 4].forEach((value, i) => input0.writeUInt32LE(value, i * 4));
    const input1 = Buffer.from([1, 0, 1]);
    const answer = await inferBinary(
      `/v2/models/${specModel}/infer`,
      {
        model_name: 'mymodel',
        inputs: [
          { name: 'input0', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
          { name: 'input1', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
        ],
        outputs: [
          { name: 'output0', parameters: { binary_data: true } },
          { name: 'output1', parameters: { binary_data: false } },
        ],
      },
      [input0, input1],
    );
    const { header, binary } = binaryAnswer(answer);
    expect(header).toEqual({
      model_name: specModel,
      model_version: '1',
      outputs: [
        { name: 'output0', shape: [3, 2], datatype: 'FP32', parameters: { binary_data_size: 24 } },
        { name: 'output1', shape: [2, 2], datatype: 'FP32', data: [10, 11, 12, 13] },
      ],
    });
    expect(binary.length).toBe(24);
    const output0 = Array.from({ length: 6 }, (_, i) => binary.readFloatLE(i * 4));
    expect(output0).toEqual(f32([1.0, 1.1, 2.0, 2.1, 3.0, 3.1]));
  });

  it('takes nested data and a version in the path; without outputs, answers all of them', async () => {
    const answer = await oip(`/v2/models/${specModel}/versions/1/infer`, {
      body: {
        inputs: [
          {
            name: 'input0',
            shape: [2, 2],
            datatype: 'UINT32',
            data: [
              [5, 6],
              [7, 8],
            ],
          },
          { name: 'input1', shape: [3], datatype: 'BOOL', data: [false, false, false] },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.json.id).toBeUndefined();
    expect(answer.json.outputs).toEqual([
      { name: 'output0', shape: [3, 2], datatype: 'FP32', data: f32([0, 0.1, 2, 2.1, 2, 2.1]) },
      { name: 'output1', shape: [2, 2], datatype: 'FP32', data: [14, 15, 16, 17] },
    ]);
  });
});

describe('infer: datatypes', () => {
  const jsonInputs = [
    { name: 'ids', shape: [2, 2], datatype: 'INT64', data: [1, -2, Number.MAX_SAFE_INTEGER, 0] },
    { name: 'mask', shape: [2], datatype: 'BOOL', data: [true, false] },
    { name: 'pixels', shape: [2, 3], datatype: 'UINT8', data: [0, 128, 255, 1, 2, 3] },
    { name: 'half', shape: [2, 2], datatype: 'FP16', data: [0.5, 0.1, -65504, 1 / 3] },
    { name: 'text', shape: [2], datatype: 'BYTES', data: ['hello', 'ü ✓'] },
    { name: 'wide', shape: [2, 2], datatype: 'FP64', data: [0.1, -1e300, 2, 3] },
  ];
  const half = (value: number) => fromFloat16Bits(toFloat16Bits(value));
  const expectedData: Record<string, unknown[]> = {
    ids: [1, -2, Number.MAX_SAFE_INTEGER, 0],
    mask: [true, false],
    pixels: [0, 128, 255, 1, 2, 3],
    half: [0.5, half(0.1), -65504, half(1 / 3)],
    text: ['hello', 'ü ✓'],
    wide: [0.1, -1e300, 2, 3],
  };

  it('JSON tensors of every datatype the model has come back as the protocol writes them', async () => {
    const answer = await oip(`/v2/models/${typesModel}/infer`, { body: { inputs: jsonInputs } });
    expect(answer.status).toBe(200);
    expect(answer.json.outputs).toEqual(
      jsonInputs.map((input) => ({
        name: `${input.name}_out`,
        datatype: input.datatype,
        shape: input.shape,
        data: expectedData[input.name],
      })),
    );
  });

  it('binary tensors both ways, every datatype, 64-bit integers and halves exact', async () => {
    const ids = Buffer.alloc(32);
    [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -1n].forEach((value, i) => ids.writeBigInt64LE(value, i * 8));
    const halfBits = [0x3c00, 0x2e66, 0xfbff, 0x0001];
    const halves = Buffer.alloc(8);
    halfBits.forEach((bits, i) => halves.writeUInt16LE(bits, i * 2));
    const wide = Buffer.alloc(32);
    [0.1, -1e300, 2, 3].forEach((value, i) => wide.writeDoubleLE(value, i * 8));
    const tensors = {
      ids,
      mask: Buffer.from([0, 1]),
      pixels: Buffer.from([9, 8, 7, 6, 5, 4]),
      half: halves,
      text: bytesElements(['', 'naïve ✓ text']),
      wide,
    };
    const shapes: Record<string, number[]> = {
      ids: [2, 2],
      mask: [2],
      pixels: [2, 3],
      half: [2, 2],
      text: [2],
      wide: [2, 2],
    };
    const answer = await inferBinary(
      `/v2/models/${typesModel}/infer`,
      {
        inputs: TYPES.map(({ name }, i) => ({
          name,
          shape: shapes[name],
          datatype: jsonInputs[i]!.datatype,
          parameters: { binary_data_size: tensors[name as keyof typeof tensors].length },
        })),
        parameters: { binary_data_output: true },
      },
      Object.values(tensors),
    );
    const { header, binary } = binaryAnswer(answer);
    let at = 0;
    for (const [i, output] of header.outputs.entries()) {
      const name = TYPES[i]!.name as keyof typeof tensors;
      expect(output).toEqual({
        name: `${name}_out`,
        datatype: jsonInputs[i]!.datatype,
        shape: shapes[name],
        parameters: { binary_data_size: tensors[name].length },
      });
      // Identity: every output's bytes are its input's, bit for bit.
      expect(binary.subarray(at, at + tensors[name].length).equals(tensors[name]), name).toBe(true);
      at += tensors[name].length;
    }
    expect(at).toBe(binary.length);
  });

  it('mixes JSON and binary inputs, and JSON and binary outputs', async () => {
    const pixels = Buffer.from([1, 2, 3, 4, 5, 6]);
    const inputs = jsonInputs.map((input) =>
      input.name === 'pixels'
        ? { name: 'pixels', shape: [2, 3], datatype: 'UINT8', parameters: { binary_data_size: 6 } }
        : input,
    );
    const answer = await inferBinary(
      `/v2/models/${typesModel}/infer`,
      {
        inputs,
        outputs: [
          { name: 'text_out', parameters: { binary_data: true } },
          { name: 'ids_out' },
          { name: 'half_out', parameters: { binary_data: true } },
        ],
      },
      [pixels],
    );
    const { header, binary } = binaryAnswer(answer);
    expect(header.outputs).toEqual([
      { name: 'text_out', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 4 + 5 + 4 + 6 } },
      { name: 'ids_out', datatype: 'INT64', shape: [2, 2], data: expectedData.ids },
      { name: 'half_out', datatype: 'FP16', shape: [2, 2], parameters: { binary_data_size: 8 } },
    ]);
    expect(binary.subarray(0, 19).equals(bytesElements(['hello', 'ü ✓']))).toBe(true);
    const halves = Array.from({ length: 4 }, (_, i) => fromFloat16Bits(binary.readUInt16LE(19 + i * 2)));
    expect(halves).toEqual(expectedData.half);
  });
});

describe('infer: errors in the protocol form', () => {
  const x = (data: unknown, shape = [1, 3], datatype = 'FP32') => ({
    inputs: [{ name: 'x', shape, datatype, data }],
  });
  const infer = (body: unknown, token?: string | null) =>
    oip(`/v2/models/${linearModel}/infer`, { body, ...(token !== undefined ? { token } : {}) });

  it('answers a good request with the exact outputs', async () => {
    const answer = await infer(x([1, 2, 3]));
    expect(answer).toMatchObject({
      status: 200,
      json: { outputs: [{ name: 'y', shape: [1, 2], data: linear([1, 2, 3]) }] },
    });
  });

  it.each([
    [
      'a shape the model does not take',
      x([1, 2, 3, 4], [1, 4]),
      /Input "x" has shape \[1, 4\], the model expects \[-1, 3\]/,
    ],
    ['a wrong rank', x([1, 2, 3], [3]), /has shape \[3\], the model expects \[-1, 3\]/],
    ['data that does not fill the shape', x([1, 2], [1, 3]), /has 2 elements in data, its shape \[1, 3\] holds 3/],
    ['a wrong datatype', x([1, 2, 3], [1, 3], 'FP64'), /Input "x" has datatype FP64, the model expects FP32/],
    ['an unknown datatype', x([1, 2, 3], [1, 3], 'FLOAT'), /datatype must be one of BOOL, /],
    ['an unknown input', { inputs: [{ name: 'z', shape: [1], datatype: 'FP32', data: [1] }] }, /Unknown input "z"/],
    ['no inputs', { inputs: [] }, /inputs must be a non-empty array/],
    [
      'an unknown output',
      { ...x([1, 2, 3]), outputs: [{ name: 'nope' }] },
      /Unknown output "nope": the model's outputs are "y"/,
    ],
    ['a negative dimension', x([1, 2, 3], [-1, 3]), /shape must be an array of at most 32 non-negative integers/],
  ])('400 for %s, nothing recorded', async (_, body, message) => {
    const before = await requestCount();
    const answer = await infer(body);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: expect.stringMatching(message) });
    expect(await requestCount()).toBe(before);
  });

  it('400 for an element predict refuses, recorded as a failed request as predict records it', async () => {
    const before = await requestCount();
    const answer = await infer(x([1, 'a', 3]));
    expect(answer).toMatchObject({
      status: 400,
      json: {
        error: expect.stringMatching(
          /^Input 'x' expects float32 values of shape \[N, 3\]: x\[0\]\[1\] is the string "a"/,
        ),
      },
    });
    await t.platform.flushInferenceRequests();
    const failed = await t.platform.database.db
      .selectFrom('inference_requests')
      .select('error')
      .where('error', 'is not', null)
      .execute();
    expect(await requestCount()).toBe(before + 1);
    expect(failed.at(-1)?.error).toContain('x[0][1] is the string');
  });

  it('400 for a body that is not JSON, or binary data that does not add up', async () => {
    const notJson = await oip(`/v2/models/${linearModel}/infer`, { raw: Buffer.from('{"inputs": ['), headers: {} });
    expect(notJson).toMatchObject({ status: 400, json: { error: expect.stringContaining('not valid JSON') } });
    const short = await inferBinary(
      `/v2/models/${linearModel}/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] },
      [Buffer.alloc(8)],
    );
    expect(short).toMatchObject({ status: 400, json: { error: expect.stringContaining('holds 8 bytes') } });
    const wrongSize = await inferBinary(
      `/v2/models/${linearModel}/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 8 } }] },
      [Buffer.alloc(8)],
    );
    expect(wrongSize).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('3 FP32 elements take 12') },
    });
    const nan = Buffer.alloc(12);
    nan.writeFloatLE(NaN, 4);
    const notJsonable = await inferBinary(
      `/v2/models/${linearModel}/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] },
      [nan],
    );
    expect(notJsonable).toMatchObject({ status: 400, json: { error: expect.stringContaining('element 1 is NaN') } });
    const badLength = await oip(`/v2/models/${linearModel}/infer`, {
      raw: Buffer.from('{}'),
      headers: { 'inference-header-content-length': '99' },
    });
    expect(badLength.status).toBe(400);
  });

  it('401 without a token or with a bad one; 404 for a model that is not yours or does not exist', async () => {
    const body = x([1, 2, 3]);
    expect(await infer(body, null)).toEqual(
      expect.objectContaining({ status: 401, json: { error: expect.stringContaining('Authentication required') } }),
    );
    expect(await oip(`/v2/models/${linearModel}`, { token: null })).toMatchObject({ status: 401 });
    expect(await infer(body, 'not-a-token')).toMatchObject({
      status: 401,
      json: { error: 'Invalid or expired access token' },
    });
    const before = await requestCount();
    expect(await infer(body, bob.accessToken)).toMatchObject({
      status: 404,
      json: { error: `Model "${linearModel}" not found` },
    });
    const unknown = randomUUID();
    expect(await oip(`/v2/models/${unknown}/infer`, { body })).toMatchObject({
      status: 404,
      json: { error: `Model "${unknown}" not found` },
    });
    expect(await requestCount()).toBe(before);
  });

  it('404 for paths the protocol does not have, 405 for the wrong method', async () => {
    expect(await oip('/v2/repository/index', { method: 'POST', body: {} })).toMatchObject({
      status: 404,
      json: { error: 'Not found' },
    });
    expect(await oip(`/v2/models/${linearModel}/explain`)).toMatchObject({ status: 404 });
    const get = await oip(`/v2/models/${linearModel}/infer`);
    expect(get).toMatchObject({ status: 405, json: { error: 'Use POST here' } });
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('413 for a body over the limit, as /graphql', async () => {
    const data = Array.from({ length: 300_000 }, () => 1.5);
    const answer = await infer(x(data, [data.length / 3, 3]));
    expect(answer).toMatchObject({ status: 413, json: { error: expect.stringContaining('exceeds the limit') } });
  });
});

describe('every infer is an InferenceRequest', () => {
  it('records JSON and binary infers as predicts, with the tensors as nested arrays', async () => {
    const first = await oip(`/v2/models/${linearModel}/infer`, {
      body: { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] },
    });
    expect(first.status).toBe(200);
    const row = Buffer.alloc(12);
    [7, 8, 9].forEach((value, i) => row.writeFloatLE(value, i * 4));
    const second = await inferBinary(
      `/v2/models/${linearModel}/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] },
      [row],
    );
    expect(second.status).toBe(200);
    const history = await t.gql({
      query: 'query ($id: ID!) { model(id: $id) { inferenceRequests(first: 2) { nodes { input output error } } } }',
      token: alice.accessToken,
      variables: { id: linearModel },
    });
    expect(history.data?.model.inferenceRequests.nodes).toEqual([
      { input: { x: [[7, 8, 9]] }, output: { y: [linear([7, 8, 9])] }, error: null },
      {
        input: {
          x: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
        output: { y: [linear([1, 2, 3]), linear([4, 5, 6])] },
        error: null,
      },
    ]);
  });
});

describe('rate limits', () => {
  let limited: TestPlatform;
  let carol: Session;
  let model: string;
  beforeAll(async () => {
    limited = await startTestPlatform({
      gatewayProtections: {
        rateLimits: {
          ...GENEROUS_RATE_LIMITS,
          inference: { points: 2, windowSeconds: 60 },
          // The setup's few GraphQL requests and the tests' below fit; a loop of requests does not.
          perIp: { points: 40, windowSeconds: 60 },
        },
      },
    });
    carol = await signup(limited);
    model = (await uploadModel(limited, carol, await createProject(limited, carol), '1')).id;
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('charges infers to the predict budget: 429 with Retry-After past it', async () => {
    const infer = () =>
      fetch(new URL(`/v2/models/${model}/infer`, limited.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${carol.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
      });
    expect((await infer()).status).toBe(200);
    expect((await infer()).status).toBe(200);
    const refused = await infer();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/^Too many predictions; retry after \d+ s$/) });
  });

  it("charges every request to the address's budget, as /graphql does", async () => {
    let answer: Response | undefined;
    for (let i = 0; i < 50; i++) {
      answer = await fetch(new URL(`/v2/models/${model}`, limited.url), {
        headers: { authorization: `Bearer ${carol.accessToken}` },
      });
      if (answer.status !== 200) break;
    }
    expect(answer?.status).toBe(429);
    expect(Number(answer?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await answer?.json()).toEqual({
      error: expect.stringMatching(/^Too many requests from this address; retry after \d+ s$/),
    });
  });
});

describe('safelisted gateway', () => {
  let safe: TestPlatform;
  let dir: string;
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'operations', 'manifest.json'), 'utf8')) as {
    operations: { name: string; body: string }[];
  };
  /** A registered operation of the README walkthrough, sent as a safelisted client sends it. */
  async function registered(name: string, variables: Record<string, unknown>, token?: string) {
    const body = manifest.operations.find((operation) => operation.name === name)!.body;
    const res = await safe.gql({ query: body, variables, ...(token ? { token } : {}) });
    expect(res.errors).toBeUndefined();
    return res.data!;
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oip-manifest-'));
    const manifestPath = join(dir, 'manifest.json');
    await writeFile(manifestPath, JSON.stringify(manifest));
    safe = await startTestPlatform({
      gatewayProtections: { rateLimits: GENEROUS_RATE_LIMITS, persistedOperations: { manifestPath, safelist: true } },
    });
  });
  afterAll(async () => {
    await safe?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("admits the door's own operations (registered in the committed manifest)", async () => {
    const email = `oip-${randomUUID()}@example.com`;
    const { signup: session } = await registered('Signup', { input: { email, password: 'correct horse battery' } });
    const token = session.accessToken as string;
    const { createProject: project } = await registered('CreateProject', { input: { name: 'p' } }, token);
    const { createModelUpload: upload } = await registered(
      'CreateModelUpload',
      { input: { projectId: project.id, version: '1' } },
      token,
    );
    expect((await fetch(upload.uploadUrl, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) })).ok).toBe(true);
    await registered('CompleteModelUpload', { modelId: upload.model.id }, token);
    // An unregistered operation is refused: the safelist is on.
    const refused = await safe.gql({ query: '{ me { id } }', token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const metadata = await fetch(new URL(`/v2/models/${upload.model.id}`, safe.url), { headers });
    expect(metadata.status).toBe(200);
    const infer = await fetch(new URL(`/v2/models/${upload.model.id}/infer`, safe.url), {
      method: 'POST',
      headers,
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
    });
    expect(await infer.json()).toMatchObject({ outputs: [{ name: 'y', data: linear([1, 2, 3]) }] });
  });
});

describe('model references: <projectId>.<reference>', () => {
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    const upload = async (version: string, bytes: Uint8Array) => {
      const created = await t.gql({
        query: `mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }`,
        token: alice.accessToken,
        variables: { input: { projectId, name: 'clf', version } },
      });
      const { uploadUrl, model } = created.data!.createModelUpload;
      expect((await fetch(uploadUrl, { method: 'PUT', body: Buffer.from(bytes) })).ok).toBe(true);
      const done = await t.gql({
        query: 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
        token: alice.accessToken,
        variables: { id: model.id },
      });
      expect(done.data?.completeModelUpload.status).toBe('READY');
      return model.id as string;
    };
    v1 = await upload('1', LINEAR_MODEL);
    v2 = await upload('2', buildSpecExampleModel());
    const alias = await t.gql({
      query: 'mutation ($id: ID!) { setModelAlias(modelId: $id, alias: "production") { id } }',
      token: alice.accessToken,
      variables: { id: v1 },
    });
    expect(alias.errors).toBeUndefined();
  });

  it('resolves name (production), name@alias, name:version and /versions/{v}', async () => {
    const versionOf = async (path: string) => (await oip(path)).json.versions;
    expect(await versionOf(`/v2/models/${projectId}.clf`)).toEqual(['1']);
    expect(await versionOf(`/v2/models/${projectId}.clf@production`)).toEqual(['1']);
    expect(await versionOf(`/v2/models/${projectId}.clf:2`)).toEqual(['2']);
    expect(await versionOf(`/v2/models/${projectId}.clf/versions/2`)).toEqual(['2']);
    const answer = await oip(`/v2/models/${projectId}.clf@production/infer`, {
      body: { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    });
    expect(answer.json).toMatchObject({ model_name: `${projectId}.clf@production`, model_version: '1' });
    expect(v2).not.toBe(v1);
  });

  it("answers 404 for an unknown reference and for someone else's project", async () => {
    expect((await oip(`/v2/models/${projectId}.nope`)).status).toBe(404);
    expect((await oip(`/v2/models/${projectId}.clf`, { token: bob.accessToken })).status).toBe(404);
    expect((await oip(`/v2/models/${projectId}.clf:9`)).status).toBe(404);
    expect(await oip(`/v2/models/${projectId}.clf@production/versions/2`)).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('names a version already') },
    });
  });
});
