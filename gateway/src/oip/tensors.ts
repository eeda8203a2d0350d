import { fromFloat16Bits, toFloat16Bits } from '../../../lib/onnx/float16.js';
import { formatShape } from '../../../lib/onnx/tensors.js';
import type { ModelSignature, TensorSpec } from '../../../lib/onnx/signature.js';
import { ELEMENT_BYTES, isOipDatatype, oipDatatype, OIP_DATATYPES, oipShape, type OipDatatype } from './datatypes.js';

/** A request the protocol refuses: answered `{"error": message}` with `status`. */
export class OipError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new OipError(400, message);

type Parameters = Record<string, unknown>;

export type InferInput = {
  name: string;
  shape: number[];
  datatype: OipDatatype;
  /** JSON data, flat or nested; absent when the tensor comes in the binary section. */
  data?: unknown;
  /** Bytes of this tensor in the binary section. */
  binaryDataSize?: number;
};

export type InferRequest = {
  id?: string;
  inputs: InferInput[];
  /** The outputs asked for (all when absent), each with whether it goes back as binary data. */
  outputs?: { name: string; binary: boolean }[];
  /** `parameters.binary_data_output`: outputs not asked for one by one go back as binary data. */
  binaryOutputs: boolean;
  /** The bytes after the JSON header (empty without the binary extension). */
  binary: Buffer;
};

/** Deeper nesting is refused before it is walked (as the GraphQL door does). */
const MAX_RANK = 32;
/** Names and ids are echoed in messages: long ones are cut. */
const shown = (text: string) => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parametersOf(value: unknown, where: string): Parameters {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badRequest(`${where} parameters must be an object`);
  return value;
}

function booleanParameter(parameters: Parameters, name: string, where: string): boolean | undefined {
  const value = parameters[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${where} parameter ${name} must be true or false`);
  return value;
}

/**
 * Splits a request body into its JSON header and binary section (`Inference-Header-Content-Length` gives the
 * header's length; without it the body is all JSON) and checks the header's form. Tensors are checked
 * against the model later (toPredictInputs).
 */
export function readInferRequest(body: Buffer, headerLength: string | undefined): InferRequest {
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    if (!/^\d{1,15}$/.test(headerLength.trim()) || Number(headerLength) > body.length) {
      throw badRequest(
        `Inference-Header-Content-Length must be the length of the JSON header (at most the body's ${body.length} bytes)`,
      );
    }
    jsonLength = Number(headerLength);
  }
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, jsonLength).toString('utf8'));
  } catch {
    throw badRequest(
      headerLength === undefined
        ? 'The request body is not valid JSON (binary tensor data needs the Inference-Header-Content-Length header)'
        : 'The inference header is not valid JSON',
    );
  }
  if (!isObject(header)) throw badRequest('The inference request must be a JSON object');
  const { id } = header;
  if (id !== undefined && typeof id !== 'string') throw badRequest('id must be a string');
  const parameters = parametersOf(header.parameters, 'The request');
  if (parameters.classification !== undefined) throw badRequest('The classification extension is not supported');
  const binaryOutputs = booleanParameter(parameters, 'binary_data_output', 'The request') ?? false;
  if (!Array.isArray(header.inputs) || header.inputs.length === 0) {
    throw badRequest('inputs must be a non-empty array of {name, shape, datatype, data}');
  }
  const inputs = header.inputs.map(readInput);
  const names = new Set<string>();
  for (const input of inputs) {
    if (names.has(input.name)) throw badRequest(`Input ${shown(input.name)} is given twice`);
    names.add(input.name);
  }
  const binary = body.subarray(jsonLength);
  const declared = inputs.reduce((sum, input) => sum + (input.binaryDataSize ?? 0), 0);
  if (declared !== binary.length) {
    throw badRequest(
      `The binary section holds ${binary.length} bytes, the inputs' binary_data_size add up to ${declared}`,
    );
  }
  let outputs: InferRequest['outputs'];
  if (header.outputs !== undefined) {
    if (!Array.isArray(header.outputs)) throw badRequest('outputs must be an array of {name, parameters?}');
    outputs = header.outputs.map((output: unknown) => {
      if (!isObject(output) || typeof output.name !== 'string') throw badRequest('Each output must have a name');
      const where = `Output ${shown(output.name)}`;
      const own = parametersOf(output.parameters, where);
      if (own.classification !== undefined) throw badRequest('The classification extension is not supported');
      return { name: output.name, binary: booleanParameter(own, 'binary_data', where) ?? binaryOutputs };
    });
  }
  return { ...(id !== undefined ? { id } : {}), inputs, ...(outputs ? { outputs } : {}), binaryOutputs, binary };
}

function readInput(value: unknown): InferInput {
  if (!isObject(value) || typeof value.name !== 'string') throw badRequest('Each input must have a name');
  const where = `Input ${shown(value.name)}`;
  const { shape, datatype } = value;
  if (
    !Array.isArray(shape) ||
    shape.length > MAX_RANK ||
    !shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0)
  ) {
    throw badRequest(`${where}: shape must be an array of at most ${MAX_RANK} non-negative integers`);
  }
  if (!isOipDatatype(datatype)) {
    throw badRequest(`${where}: datatype must be one of ${Object.keys(OIP_DATATYPES).join(', ')}`);
  }
  const parameters = parametersOf(value.parameters, where);
  const size = parameters.binary_data_size;
  if (size !== undefined) {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw badRequest(`${where}: binary_data_size must be a non-negative integer`);
    }
    if (value.data !== undefined) throw badRequest(`${where}: has both data and binary_data_size`);
    return { name: value.name, shape: shape as number[], datatype, binaryDataSize: size };
  }
  if (value.data === undefined) throw badRequest(`${where}: data is missing`);
  return { name: value.name, shape: shape as number[], datatype, data: value.data };
}

const elementCount = (shape: readonly number[]) => shape.reduce((product, dim) => product * dim, 1);

/** Whether a request's shape fits a signature's: same rank, fixed dimensions equal ([] in a signature: any shape). */
const fits = (shape: readonly number[], spec: TensorSpec) =>
  spec.shape.length === 0 ||
  (shape.length === spec.shape.length && spec.shape.every((dim, i) => dim === null || dim === shape[i]));

/**
 * The request's tensors as predict takes them (nested arrays keyed by name, elements as JSON), after checking
 * them against the model's inputs: every input given once, the model's datatype, a shape the model accepts,
 * and as many elements as the shape holds. Elements themselves (range, type) are checked by predict.
 */
export function toPredictInputs(request: InferRequest, inputs: readonly TensorSpec[]): Record<string, unknown> {
  const specs = new Map(inputs.map((spec) => [spec.name, spec]));
  for (const input of request.inputs) {
    if (!specs.has(input.name)) {
      const known = inputs.map((spec) => JSON.stringify(spec.name)).join(', ');
      throw badRequest(`Unknown input ${shown(input.name)}: the model's inputs are ${known}`);
    }
  }
  const given = new Set(request.inputs.map((input) => input.name));
  const missing = inputs.find((spec) => !given.has(spec.name));
  if (missing) throw badRequest(`Input ${shown(missing.name)} is missing`);

  const result: Record<string, unknown> = {};
  let offset = 0;
  for (const input of request.inputs) {
    const spec = specs.get(input.name) as TensorSpec;
    const expected = oipDatatype(spec.type);
    const where = `Input ${shown(input.name)}`;
    if (input.datatype !== expected) {
      throw badRequest(`${where} has datatype ${input.datatype}, the model expects ${expected}`);
    }
    if (!fits(input.shape, spec)) {
      throw badRequest(
        `${where} has shape [${input.shape.join(', ')}], the model expects ${formatShape(oipShape(spec.shape))}`,
      );
    }
    const count = elementCount(input.shape);
    let flat: unknown[];
    if (input.binaryDataSize !== undefined) {
      const bytes = request.binary.subarray(offset, offset + input.binaryDataSize);
      offset += input.binaryDataSize;
      flat = decodeBinary(bytes, input.datatype, count, where);
    } else {
      flat = flatten(input.data, where);
      if (flat.length !== count) {
        throw badRequest(
          `${where} has ${flat.length} elements in data, its shape [${input.shape.join(', ')}] holds ${count}`,
        );
      }
    }
    result[input.name] = nest(flat, input.shape);
  }
  return result;
}

/** Row-major elements of `data`, flat or nested arrays (a scalar is one element). */
function flatten(data: unknown, where: string): unknown[] {
  if (!Array.isArray(data)) return [data];
  if (!data.some(Array.isArray)) return data;
  const flat: unknown[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > MAX_RANK) throw badRequest(`${where}: data is nested more than ${MAX_RANK} levels deep`);
    if (Array.isArray(value)) for (const item of value) visit(item, depth + 1);
    else flat.push(value);
  };
  visit(data, 0);
  return flat;
}

/** Flat elements as nested arrays of `shape` (the form predict takes). */
export function nest(flat: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  let next = 0;
  const build = (depth: number): unknown[] => {
    const length = shape[depth] as number;
    if (depth === shape.length - 1) {
      const row = flat.slice(next, next + length);
      next += length;
      return row;
    }
    const array: unknown[] = [];
    for (let i = 0; i < length; i++) array.push(build(depth + 1));
    return array;
  };
  return build(0);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const exactInteger = (value: bigint): number | string =>
  value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One tensor's binary data (little-endian, row-major) as JSON elements. */
function decodeBinary(bytes: Buffer, datatype: OipDatatype, count: number, where: string): unknown[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') return decodeBytesElements(bytes, view, count, where);
  const size = ELEMENT_BYTES[datatype];
  if (bytes.length !== count * size) {
    throw badRequest(
      `${where}: binary_data_size is ${bytes.length}, ${count} ${datatype} elements take ${count * size}`,
    );
  }
  const read = elementReader(datatype, view);
  const flat = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    const value = read(i * size);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw badRequest(`${where}: element ${i} is ${value}, which has no JSON form`);
    }
    flat[i] = value;
  }
  return flat;
}

function elementReader(datatype: Exclude<OipDatatype, 'BYTES'>, view: DataView): (at: number) => unknown {
  switch (datatype) {
    case 'BOOL':
      return (at) => view.getUint8(at) !== 0;
    case 'UINT8':
      return (at) => view.getUint8(at);
    case 'INT8':
      return (at) => view.getInt8(at);
    case 'UINT16':
      return (at) => view.getUint16(at, true);
    case 'INT16':
      return (at) => view.getInt16(at, true);
    case 'FP16':
      return (at) => fromFloat16Bits(view.getUint16(at, true));
    case 'UINT32':
      return (at) => view.getUint32(at, true);
    case 'INT32':
      return (at) => view.getInt32(at, true);
    case 'FP32':
      return (at) => view.getFloat32(at, true);
    case 'UINT64':
      return (at) => exactInteger(view.getBigUint64(at, true));
    case 'INT64':
      return (at) => exactInteger(view.getBigInt64(at, true));
    case 'FP64':
      return (at) => view.getFloat64(at, true);
  }
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes (UTF-8 text here). */
function decodeBytesElements(bytes: Buffer, view: DataView, count: number, where: string): string[] {
  const strings: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw badRequest(`${where}: BYTES element ${strings.length} has a truncated length`);
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > bytes.length) throw badRequest(`${where}: BYTES element ${strings.length} runs past its data`);
    try {
      strings.push(utf8.decode(bytes.subarray(at, at + length)));
    } catch {
      throw badRequest(
        `${where}: BYTES element ${strings.length} is not UTF-8 text (the only BYTES this server takes)`,
      );
    }
    at += length;
  }
  if (strings.length !== count) {
    throw badRequest(`${where}: the binary data holds ${strings.length} BYTES elements, the shape holds ${count}`);
  }
  return strings;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

export type OipOutput = {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size: number };
};

/** The outputs a request asks for, checked against the model's before anything runs. */
export function requestedOutputs(
  request: InferRequest,
  outputs: readonly TensorSpec[],
): { spec: TensorSpec; binary: boolean }[] {
  if (!request.outputs) return outputs.map((spec) => ({ spec, binary: request.binaryOutputs }));
  const specs = new Map(outputs.map((spec) => [spec.name, spec]));
  return request.outputs.map(({ name, binary }) => {
    const spec = specs.get(name);
    if (!spec) {
      const known = outputs.map((s) => JSON.stringify(s.name)).join(', ');
      throw badRequest(`Unknown output ${shown(name)}: the model's outputs are ${known}`);
    }
    return { spec, binary };
  });
}

/** A nested array's shape and row-major elements; empty dimensions take the rest from the signature. */
function flattenOutput(value: unknown, spec: TensorSpec): { shape: number[]; data: unknown[] } {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) {
      for (let i = shape.length; i < spec.shape.length; i++) shape.push(spec.shape[i] ?? 0);
      return { shape, data: [] };
    }
  }
  if (shape.length === 0) return { shape, data: [value] };
  return { shape, data: (value as unknown[]).flat(shape.length - 1) };
}

/**
 * The answer to an infer: predict's outputs (nested arrays keyed by name) as protocol tensors, those asked
 * for as binary data encoded into the returned buffers (in the order of the outputs).
 */
export function toOipOutputs(
  outputs: Record<string, unknown>,
  wanted: readonly { spec: TensorSpec; binary: boolean }[],
): { outputs: OipOutput[]; buffers: Buffer[] } {
  const buffers: Buffer[] = [];
  const result = wanted.map(({ spec, binary }): OipOutput => {
    const { shape, data } = flattenOutput(outputs[spec.name], spec);
    const datatype = oipDatatype(spec.type);
    if (!binary || !isOipDatatype(datatype)) return { name: spec.name, datatype, shape, data };
    const bytes = encodeBinary(data, datatype);
    buffers.push(bytes);
    return { name: spec.name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  return { outputs: result, buffers };
}

/** JSON elements (predict's form: 64-bit integers as numbers or decimal strings) as little-endian bytes. */
export function encodeBinary(data: readonly unknown[], datatype: OipDatatype): Buffer {
  if (datatype === 'BYTES') {
    const parts = data.map((value) => Buffer.from(String(value), 'utf8'));
    const bytes = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + 4 + part.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.writeUInt32LE(part.length, at);
      part.copy(bytes, at + 4);
      at += 4 + part.length;
    }
    return bytes;
  }
  const size = ELEMENT_BYTES[datatype];
  const bytes = Buffer.alloc(data.length * size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const write = elementWriter(datatype, view);
  data.forEach((value, i) => write(i * size, value));
  return bytes;
}

function elementWriter(datatype: Exclude<OipDatatype, 'BYTES'>, view: DataView): (at: number, value: unknown) => void {
  const n = (value: unknown) => Number(value);
  switch (datatype) {
    case 'BOOL':
      return (at, value) => view.setUint8(at, value ? 1 : 0);
    case 'UINT8':
      return (at, value) => view.setUint8(at, n(value));
    case 'INT8':
      return (at, value) => view.setInt8(at, n(value));
    case 'UINT16':
      return (at, value) => view.setUint16(at, n(value), true);
    case 'INT16':
      return (at, value) => view.setInt16(at, n(value), true);
    case 'FP16':
      return (at, value) => view.setUint16(at, toFloat16Bits(n(value)), true);
    case 'UINT32':
      return (at, value) => view.setUint32(at, n(value), true);
    case 'INT32':
      return (at, value) => view.setInt32(at, n(value), true);
    case 'FP32':
      return (at, value) => view.setFloat32(at, n(value), true);
    case 'UINT64':
      return (at, value) => view.setBigUint64(at, BigInt(value as number | string), true);
    case 'INT64':
      return (at, value) => view.setBigInt64(at, BigInt(value as number | string), true);
    case 'FP64':
      return (at, value) => view.setFloat64(at, n(value), true);
  }
}

/** Model metadata as the protocol gives it. */
export function oipModelMetadata(name: string, version: string, signature: ModelSignature) {
  const tensor = (spec: TensorSpec) => ({
    name: spec.name,
    datatype: oipDatatype(spec.type),
    shape: oipShape(spec.shape),
  });
  return {
    name,
    versions: [version],
    platform: 'onnxruntime_onnx',
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
  };
}
