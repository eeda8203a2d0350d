import type { GraphQLError } from 'graphql';
import { Tensor } from 'onnxruntime-node';
import { badInput, err, ErrorCode } from '../errors.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import type { ModelSignature, TensorSpec } from './signature.js';

/** Tensors keyed by name: a session's feeds or its results. */
export type TensorMap = Record<string, Tensor>;

export type TensorLimits = {
  /** Most elements a request may hold, all its tensors together. */
  maxElements: number;
};

/** Element types that travel as JSON. The 4-bit types have no JSON form here (yet). */
export const JSON_TENSOR_TYPES = [
  'float16',
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
] as const satisfies readonly Tensor.Type[];

export type JsonTensorType = (typeof JSON_TENSOR_TYPES)[number];

const jsonTypes = new Set<string>(JSON_TENSOR_TYPES);

/** Whether tensors of this element type can be sent and returned as JSON; a model verifier can refuse the others. */
export function isJsonTensorType(type: string): type is JsonTensorType {
  return jsonTypes.has(type);
}

/** Deeper nesting is refused before it is walked; ONNX models in practice stay far below (images are rank 4). */
export const MAX_RANK = 32;

// Tensor's constructor overloads pair each type literal with its data type, so a type known only at run time
// cannot pick one. The constructor re-checks the pairing itself (and that dims match the data length).
const AnyTensor = Tensor as unknown as new (type: string, data: Tensor.DataType, dims: readonly number[]) => Tensor;

// ---------------------------------------------------------------------------------------------------------------
// JSON → tensors

/** Fills one tensor's data, element by element in row-major order. */
type Writer = {
  readonly data: Tensor.DataType;
  /** Stores `value` at `index`; false when it is not a valid element of the type (nothing else is reported). */
  put(index: number, value: unknown): boolean;
};

type Codec = {
  /** The valid elements, for messages: "integers in [0, 255]". */
  expected: string;
  writer(length: number): Writer;
  /** Element reader over a tensor's data of this type: JSON values out. */
  reader(data: Tensor.DataType): (index: number) => unknown;
};

type IntegerArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

function integerCodec(Array: new (length: number) => IntegerArray, min: number, max: number): Codec {
  return {
    expected: `integers in [${min}, ${max}]`,
    writer(length) {
      const data = new Array(length);
      return {
        data,
        put(index, value) {
          // Typed arrays wrap out-of-range values and truncate fractions silently: both are refused first.
          if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return false;
          data[index] = value;
          return true;
        },
      };
    },
    reader: (data) => (index) => (data as IntegerArray)[index],
  };
}

const float32Codec: Codec = {
  expected: 'finite numbers within float32 range',
  writer(length) {
    const data = new Float32Array(length);
    return {
      data,
      put(index, value) {
        if (typeof value !== 'number') return false;
        data[index] = value;
        // Read back: a finite double beyond float32's range (1e39) becomes Infinity on the way in.
        return Number.isFinite(data[index]);
      },
    };
  },
  // The exact float32 value as a double: 0.1 comes back as 0.10000000149011612.
  reader: (data) => (index) => (data as Float32Array)[index],
};

/** float16 data are the halves' bits (onnxruntime's form); JSON numbers are rounded to the nearest half. */
const float16Codec: Codec = {
  expected: 'finite numbers within float16 range (±65504)',
  writer(length) {
    const data = new Uint16Array(length);
    return {
      data,
      put(index, value) {
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        const bits = toFloat16Bits(value);
        // Exponent all ones: beyond the largest half.
        if ((bits & 0x7c00) === 0x7c00) return false;
        data[index] = bits;
        return true;
      },
    };
  },
  // The exact half as a double: 0.1 comes back as 0.0999755859375.
  reader: (data) => (index) => fromFloat16Bits((data as Uint16Array)[index] ?? 0),
};

const float64Codec: Codec = {
  expected: 'finite numbers',
  writer(length) {
    const data = new Float64Array(length);
    return {
      data,
      put(index, value) {
        // JSON has no NaN or Infinity; a JavaScript caller could still pass them.
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        data[index] = value;
        return true;
      },
    };
  },
  reader: (data) => (index) => (data as Float64Array)[index],
};

// An optional sign and at most 20 digits (uint64's max has 20): anything longer is out of range anyway.
const DECIMAL_INTEGER = /^-?(?:0|[1-9]\d{0,19})$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * 64-bit integers come in as numbers while exact in a double (|n| ≤ 2^53 - 1; JSON.parse has already rounded
 * bigger ones) or as decimal strings, and go out the same way: a number when exact, else a decimal string.
 */
function bigIntCodec(Array: BigInt64ArrayConstructor | BigUint64ArrayConstructor, min: bigint, max: bigint): Codec {
  return {
    expected: `integers in [${min}, ${max}], beyond ±${Number.MAX_SAFE_INTEGER} as decimal strings`,
    writer(length) {
      const data = new Array(length);
      return {
        data,
        put(index, value) {
          let integer: bigint;
          if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
          else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) integer = BigInt(value);
          else return false;
          if (integer < min || integer > max) return false;
          data[index] = integer;
          return true;
        },
      };
    },
    reader: (data) => (index) => {
      const integer = (data as BigInt64Array | BigUint64Array)[index] ?? 0n;
      return integer >= -MAX_SAFE && integer <= MAX_SAFE ? Number(integer) : integer.toString();
    },
  };
}

const boolCodec: Codec = {
  expected: 'true or false',
  writer(length) {
    // ORT's bool tensors hold one byte per element, 0 or 1.
    const data = new Uint8Array(length);
    return {
      data,
      put(index, value) {
        if (typeof value !== 'boolean') return false;
        data[index] = value ? 1 : 0;
        return true;
      },
    };
  },
  reader: (data) => (index) => (data as Uint8Array)[index] !== 0,
};

const stringCodec: Codec = {
  expected: 'strings',
  writer(length) {
    const data = new Array<string>(length).fill('');
    return {
      data,
      put(index, value) {
        if (typeof value !== 'string') return false;
        data[index] = value;
        return true;
      },
    };
  },
  reader: (data) => (index) => (data as string[])[index],
};

const codecs: Record<JsonTensorType, Codec> = {
  float16: float16Codec,
  float32: float32Codec,
  float64: float64Codec,
  int8: integerCodec(Int8Array, -128, 127),
  uint8: integerCodec(Uint8Array, 0, 255),
  int16: integerCodec(Int16Array, -32768, 32767),
  uint16: integerCodec(Uint16Array, 0, 65535),
  int32: integerCodec(Int32Array, -2147483648, 2147483647),
  uint32: integerCodec(Uint32Array, 0, 4294967295),
  int64: bigIntCodec(BigInt64Array, -(2n ** 63n), 2n ** 63n - 1n),
  uint64: bigIntCodec(BigUint64Array, 0n, 2n ** 64n - 1n),
  bool: boolCodec,
  string: stringCodec,
};

/** A shape as messages write it: dynamic dimensions as `N` (first) or `?`, e.g. `[N, 3]`. */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((dim, i) => dim ?? (i === 0 ? 'N' : '?')).join(', ')}]`;
}

/** A signature's [] may be a scalar or an unknown rank: it accepts any shape. */
const describeShape = (spec: TensorSpec) =>
  spec.shape.length === 0 ? 'any shape' : `shape ${formatShape(spec.shape)}`;

/** "float32 values of shape [N, 3]" */
const describeSpec = (spec: TensorSpec) => `${spec.type} values of ${describeShape(spec)}`;

/** The input's name, the expected type and shape, then what is wrong; the extensions carry the same for clients. */
function inputError(spec: TensorSpec, problem: string): GraphQLError {
  return badInput(`Input '${spec.name}' expects ${describeSpec(spec)}: ${problem}`, {
    tensor: spec.name,
    expectedShape: spec.shape,
  });
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    // The value is echoed back: a long one is cut, never sent whole.
    return `the string ${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)}`;
  }
  if (typeof value === 'object') return 'an object';
  return String(value);
}

const formatPath = (name: string, path: readonly number[]) => `${name}${path.map((i) => `[${i}]`).join('')}`;

/** Lengths of the first array at each level: the shape, if the value is not ragged (checked while filling). */
function inferShape(value: unknown): number[] {
  const shape: number[] = [];
  // Stops one level past MAX_RANK, enough to tell that the value is too deep.
  for (let level = value; Array.isArray(level) && shape.length <= MAX_RANK; level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  return shape;
}

function checkShape(spec: TensorSpec, value: unknown, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) throw inputError(spec, `it is nested more than ${MAX_RANK} levels deep`);
  // [] in a signature is "a scalar or any shape": ORT reports an unknown rank that way.
  if (spec.shape.length === 0) return;
  const matches = shape.length === spec.shape.length && spec.shape.every((dim, i) => dim === null || dim === shape[i]);
  if (!matches) {
    throw inputError(
      spec,
      shape.length === 0 ? `got ${describeValue(value)}, not an array` : `got shape ${formatShape(shape)}`,
    );
  }
}

const elementCount = (shape: readonly number[]) => shape.reduce((product, dim) => product * dim, 1);

/**
 * Fills a tensor of `shape` (as inferred from the first elements) from `value`, refusing ragged arrays and
 * invalid elements on the way. Recursion goes as deep as the rank (≤ MAX_RANK); the innermost level is a
 * plain loop, so the cost is one visit per element and no intermediate arrays.
 */
function fillTensor(spec: TensorSpec, codec: Codec, value: unknown, shape: readonly number[]): Tensor {
  const writer = codec.writer(elementCount(shape));
  const invalid = (path: readonly number[], element: unknown) =>
    inputError(spec, `${formatPath(spec.name, path)} is ${describeValue(element)}, expected ${codec.expected}`);
  if (shape.length === 0) {
    if (!writer.put(0, value)) throw invalid([], value);
    return new AnyTensor(spec.type, writer.data, shape);
  }
  const path: number[] = [];
  const innermost = shape.length - 1;
  let next = 0;
  // Every array visited has been checked to have the length its level needs, so writes stay in bounds.
  const visit = (array: readonly unknown[], depth: number): void => {
    if (depth === innermost) {
      for (let i = 0; i < array.length; i++) {
        if (!writer.put(next++, array[i])) throw invalid([...path, i], array[i]);
      }
      return;
    }
    const length = shape[depth + 1] as number;
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      if (!Array.isArray(item) || item.length !== length) {
        const where = formatPath(spec.name, [...path, i]);
        const got = Array.isArray(item)
          ? `has ${item.length} entries instead of ${length}`
          : `is ${describeValue(item)}, not an array of ${length}`;
        throw inputError(spec, `ragged array: ${where} ${got}`);
      }
      path.push(i);
      visit(item, depth + 1);
      path.pop();
    }
  };
  visit(value as unknown[], 0);
  return new AnyTensor(spec.type, writer.data, shape);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks JSON inputs against a model's input signature and converts them to tensors. Every problem is a
 * BAD_USER_INPUT naming the tensor and its expected shape (extensions `tensor`, `expectedShape`); more than
 * `limits.maxElements` elements in all is PAYLOAD_TOO_LARGE, found before any tensor is allocated.
 */
export function toInputTensors(inputs: unknown, signature: readonly TensorSpec[], limits: TensorLimits): TensorMap {
  if (!isPlainObject(inputs)) {
    const expected = signature.map((spec) => `'${spec.name}' (${describeSpec(spec)})`).join(', ');
    throw badInput(`Inputs must be a JSON object keyed by tensor name; the model expects ${expected}`);
  }
  // Object.hasOwn: a tensor named "constructor" or "__proto__" must not find Object.prototype's.
  const missing = signature.find((spec) => !Object.hasOwn(inputs, spec.name));
  if (missing) throw inputError(missing, 'it is missing');
  const names = new Set(signature.map((spec) => spec.name));
  const unknown = Object.keys(inputs).find((name) => !names.has(name));
  if (unknown !== undefined) {
    // The name is the caller's: a long one is cut, as values are.
    const shown = unknown.length > 64 ? `${unknown.slice(0, 64)}…` : unknown;
    const known = [...names].map((name) => `'${name}'`).join(', ');
    throw badInput(`Unknown input '${shown}': the model's inputs are ${known}`, { tensor: shown });
  }

  const planned = signature.map((spec) => {
    if (!isJsonTensorType(spec.type)) throw inputError(spec, `${spec.type} tensors cannot be sent as JSON`);
    const value = inputs[spec.name];
    const shape = inferShape(value);
    checkShape(spec, value, shape);
    return { spec, codec: codecs[spec.type], value, shape, elements: elementCount(shape) };
  });

  const total = planned.reduce((sum, tensor) => sum + tensor.elements, 0);
  if (total > limits.maxElements) {
    const largest = planned.reduce((a, b) => (b.elements > a.elements ? b : a));
    throw err(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `Inputs hold ${total} elements, more than the limit of ${limits.maxElements} ` +
        `('${largest.spec.name}' has shape ${formatShape(largest.shape)}, expected ${describeShape(largest.spec)})`,
      { limit: limits.maxElements, tensor: largest.spec.name, expectedShape: largest.spec.shape },
    );
  }

  return Object.fromEntries(
    planned.map(({ spec, codec, value, shape }) => [spec.name, fillTensor(spec, codec, value, shape)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// tensors → JSON

/**
 * A tensor as nested arrays (a scalar as its value). float32 and float16 elements are their exact values as
 * JS numbers; int64/uint64 are numbers while exact (|n| ≤ 2^53 - 1), else decimal strings; bool are booleans.
 * @throws TypeError for element types without a JSON form (4-bit).
 */
export function toNestedArray(tensor: Tensor): unknown {
  if (!isJsonTensorType(tensor.type)) throw new TypeError(`${tensor.type} tensors have no JSON form`);
  const read = codecs[tensor.type].reader(tensor.data);
  const { dims } = tensor;
  if (dims.length === 0) return read(0);
  let next = 0;
  const build = (depth: number): unknown[] => {
    const length = dims[depth] as number;
    const array: unknown[] = [];
    if (depth === dims.length - 1) for (let i = 0; i < length; i++) array.push(read(next++));
    else for (let i = 0; i < length; i++) array.push(build(depth + 1));
    return array;
  };
  return build(0);
}

/**
 * Refuses outputs of more than `maxElements` elements, all tensors together, counted from their dims alone:
 * a model can turn one input element into millions of outputs, and converting those to JSON (and storing
 * them) would cost far more than computing them. PAYLOAD_TOO_LARGE with `limit` and `actual`.
 */
export function checkOutputElements(outputs: TensorMap, maxElements: number): void {
  checkOutputShapes(
    Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, tensor.dims])),
    maxElements,
  );
}

/** checkOutputElements on the outputs' shapes alone (what a thread sends back for outputs over a cap). */
export function checkOutputShapes(shapes: Record<string, readonly number[]>, maxElements: number): void {
  const sizes = Object.entries(shapes).map(([name, dims]) => ({ name, dims, elements: elementCount(dims) }));
  const total = sizes.reduce((sum, output) => sum + output.elements, 0);
  if (total <= maxElements) return;
  const largest = sizes.reduce((a, b) => (b.elements > a.elements ? b : a));
  throw err(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `The model's outputs hold ${total} elements, more than the limit of ${maxElements} ` +
      `('${largest.name}' has shape ${formatShape(largest.dims)})`,
    { limit: maxElements, actual: total, tensor: largest.name },
  );
}

/** Model outputs as the API returns them: nested arrays keyed by output name (see toNestedArray). */
export function fromOutputTensors(outputs: TensorMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, toNestedArray(tensor)]));
}

// ---------------------------------------------------------------------------------------------------------------
// Batching along the first dimension

type NumericArray = Exclude<Tensor.DataType, string[]>;

const typedArrays: Record<Exclude<Tensor.Type, 'string' | 'uint4' | 'int4'>, new (length: number) => NumericArray> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Zero-filled data (empty strings for 'string'). 4-bit types pack two elements a byte and are not handled. */
function allocate(type: string, length: number): Tensor.DataType {
  if (type === 'string') return new Array<string>(length).fill('');
  // The cast only indexes the table: a type it lacks (a 4-bit one) reads undefined, as the annotation says.
  const TypedArray: (new (length: number) => NumericArray) | undefined = typedArrays[type as keyof typeof typedArrays];
  if (!TypedArray) throw new TypeError(`cannot allocate ${type} tensor data`);
  return new TypedArray(length);
}

/**
 * Zero-filled feeds of the smallest valid shape (dynamic dimensions 1, an unknown rank a scalar): a warm-up
 * run needs no real data.
 */
export function createZeroFeeds(inputs: readonly TensorSpec[]): TensorMap {
  return Object.fromEntries(
    inputs.map((spec) => {
      const dims = spec.shape.map((dim) => dim ?? 1);
      return [spec.name, new AnyTensor(spec.type, allocate(spec.type, elementCount(dims)), dims)];
    }),
  );
}

const hasDynamicFirstDim = (spec: TensorSpec) => spec.shape.length > 0 && spec.shape[0] === null;

/**
 * Whether requests can be stacked into one run: every input and output has a dynamic first dimension.
 * Necessary, not sufficient: a model that mixes rows (normalising across the batch, say) passes this test, so
 * batching stays something a model opts into.
 */
export function canBatch(signature: ModelSignature): boolean {
  return signature.inputs.length > 0 && [...signature.inputs, ...signature.outputs].every(hasDynamicFirstDim);
}

/**
 * Feeds with equal keys can go into one stackBatch: same names, element types and dimensions past the first.
 * A dynamic batcher groups pending requests by it.
 */
export function batchKey(feeds: TensorMap): string {
  return JSON.stringify(
    Object.keys(feeds)
      .sort()
      .map((name) => {
        const tensor = feeds[name] as Tensor;
        return [name, tensor.type, tensor.dims.slice(1)];
      }),
  );
}

/**
 * Concatenates each input of `items` along its first dimension, one run's feeds for them all; splitBatch with
 * the items' first dimensions undoes it on the outputs. Items are feeds for `signature` (see toInputTensors).
 * @throws RangeError when an input has no dynamic first dimension, or items differ past it (see batchKey)
 */
export function stackBatch(items: readonly TensorMap[], signature: readonly TensorSpec[]): TensorMap {
  if (items.length === 0) throw new RangeError('stackBatch needs at least one item');
  return Object.fromEntries(signature.map((spec) => [spec.name, stackTensors(spec, items)]));
}

function stackTensors(spec: TensorSpec, items: readonly TensorMap[]): Tensor {
  if (!hasDynamicFirstDim(spec)) {
    throw new RangeError(`input '${spec.name}' of shape ${formatShape(spec.shape)} has no dynamic first dimension`);
  }
  const tensors = items.map((item, i) => {
    const tensor = item[spec.name];
    if (!tensor) throw new RangeError(`item ${i} has no input '${spec.name}'`);
    return tensor;
  });
  const first = tensors[0] as Tensor;
  const inner = first.dims.slice(1);
  tensors.forEach((tensor, i) => {
    const sameInner = tensor.dims.length === first.dims.length && inner.every((dim, d) => tensor.dims[d + 1] === dim);
    if (tensor.type !== spec.type || !sameInner) {
      throw new RangeError(
        `item ${i}: '${spec.name}' is ${tensor.type} [${tensor.dims.join(', ')}], ` +
          `item 0's is ${first.type} [${first.dims.join(', ')}]: they cannot be stacked`,
      );
    }
  });
  if (tensors.length === 1) return first;
  const rows = tensors.reduce((sum, tensor) => sum + (tensor.dims[0] as number), 0);
  const data = allocate(spec.type, rows * elementCount(inner));
  let offset = 0;
  for (const tensor of tensors) {
    if (Array.isArray(data)) (tensor.data as string[]).forEach((value, i) => (data[offset + i] = value));
    // Same element type on both sides (checked above); TypeScript cannot tie the two unions together.
    else (data as Float32Array).set(tensor.data as Float32Array, offset);
    offset += tensor.data.length;
  }
  return new AnyTensor(spec.type, data, [rows, ...inner]);
}

/**
 * Splits a batched run's outputs along their first dimension into one result per item, `sizes[i]` rows each.
 * Items' numeric data are views into the batch's buffers: nothing is copied.
 * @throws RangeError when an output's first dimension is not the sum of `sizes`
 */
export function splitBatch(outputs: TensorMap, sizes: readonly number[]): TensorMap[] {
  if (!sizes.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw new RangeError('batch sizes must be non-negative integers');
  }
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const items = sizes.map((): [string, Tensor][] => []);
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims[0] !== total) {
      throw new RangeError(`output '${name}' has shape [${tensor.dims.join(', ')}], not a batch of ${total}`);
    }
    const inner = tensor.dims.slice(1);
    const rowSize = elementCount(inner);
    const data = tensor.data;
    let row = 0;
    sizes.forEach((size, i) => {
      const [start, end] = [row * rowSize, (row + size) * rowSize];
      // The cast only picks one of the typed arrays' identical subarray signatures.
      const part = Array.isArray(data) ? data.slice(start, end) : (data as Float32Array).subarray(start, end);
      items[i]?.push([name, new AnyTensor(tensor.type, part, [size, ...inner])]);
      row += size;
    });
  }
  return items.map((entries) => Object.fromEntries(entries));
}
