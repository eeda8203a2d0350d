import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS whose exports Node cannot detect statically: only the default import works at runtime.
const { onnx } = onnxProto;

export type LinearModelOptions = {
  /** W as [in][out]: `weights[i][j]` links input feature i to output j. */
  weights: number[][];
  /** One per output. */
  bias: number[];
  /** @default 'x' */
  inputName?: string;
  /** @default 'y' */
  outputName?: string;
  /** Batch dimension as the symbolic 'N'; when false it is fixed to 1. @default true */
  dynamicBatch?: boolean;
  /** @default 13 */
  opset?: number;
};

export type MlpModelOptions = {
  /** Layer widths [in, hidden..., out]: at least two. */
  sizes: number[];
  /** Same seed, same weights, same bytes. */
  seed: number;
};

// IR 8 is the newest onnx-proto 8 can encode (its schema is ONNX 1.10's); onnxruntime 1.30 reads it with opset 13.
const IR_VERSION = 8;
const DEFAULT_OPSET = 13;
const BATCH_DIM = 'N';
const PRODUCER = 'ai-code';

type Layer = { weights: number[][]; bias: number[] };

/** y = x·W + b, float32, as MatMul then Add: known weights give outputs a test can compute exactly. */
export function buildLinearModel(options: LinearModelOptions): Uint8Array {
  return encodeModel({
    layers: [{ weights: options.weights, bias: options.bias }],
    inputName: options.inputName ?? 'x',
    outputName: options.outputName ?? 'y',
    dynamicBatch: options.dynamicBatch ?? true,
    opset: options.opset ?? DEFAULT_OPSET,
  });
}

/** A float32 MLP (MatMul, Add, Relu between layers) with dynamic batch, input 'x' and output 'y'. */
export function buildMlpModel(options: MlpModelOptions): Uint8Array {
  const { sizes } = options;
  if (sizes.length < 2) throw new RangeError('an MLP needs at least an input and an output size');
  const random = createRandom(options.seed);
  const layers = sizes.slice(1).map((fanOut, i): Layer => {
    const fanIn = sizes[i] as number;
    // Glorot-uniform bound: activations keep roughly unit scale through the layers.
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    const uniform = (scale: number) => (random() * 2 - 1) * scale;
    return {
      weights: Array.from({ length: fanIn }, () => Array.from({ length: fanOut }, () => uniform(bound))),
      bias: Array.from({ length: fanOut }, () => uniform(0.1)),
    };
  });
  return encodeModel({ layers, inputName: 'x', outputName: 'y', dynamicBatch: true, opset: DEFAULT_OPSET });
}

export type IdentityTensor = {
  name: string;
  /** Element type as onnxruntime names it: 'float32', 'int64', 'bool', 'string', ... */
  type: string;
  /** null for a dynamic dimension: 'N' when first, otherwise unnamed. */
  shape: (number | null)[];
};

// onnxruntime's element type names to ONNX's; the same table backs ORT's own Node binding.
const ELEMENT_TYPES: Record<string, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
};

/**
 * One Identity node per input, output `<name>_out` mirroring its input's type and shape: a model for any
 * signature, whose outputs a test knows without computing anything.
 */
export function buildIdentityModel(inputs: IdentityTensor[]): Uint8Array {
  const valueInfo = (name: string, tensor: IdentityTensor): onnxProto.onnx.IValueInfoProto => {
    const elemType = ELEMENT_TYPES[tensor.type];
    if (elemType === undefined) throw new RangeError(`unknown element type '${tensor.type}'`);
    const dim = tensor.shape.map((size, i) =>
      size === null ? (i === 0 ? { dimParam: BATCH_DIM } : {}) : { dimValue: size },
    );
    return { name, type: { tensorType: { elemType, shape: { dim } } } };
  };
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
    producerName: PRODUCER,
    graph: {
      name: 'identity',
      node: inputs.map(({ name }) => ({
        name: `Identity_${name}`,
        opType: 'Identity',
        input: [name],
        output: [`${name}_out`],
      })),
      input: inputs.map((tensor) => valueInfo(tensor.name, tensor)),
      output: inputs.map((tensor) => valueInfo(`${tensor.name}_out`, tensor)),
    },
  }).finish();
}

/**
 * Output `y` (float32, 1-D) of `shape[0]` ones, from an int64 input `shape` of one element: a one-element
 * request whose output is as large as the caller asks.
 */
export function buildConstantOfShapeModel(): Uint8Array {
  const { INT64, FLOAT } = onnx.TensorProto.DataType;
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
    producerName: PRODUCER,
    graph: {
      name: 'constant_of_shape',
      node: [
        {
          name: 'Fill',
          opType: 'ConstantOfShape',
          input: ['shape'],
          output: ['y'],
          attribute: [
            { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('one', [1], [1]) },
          ],
        },
      ],
      input: [{ name: 'shape', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: { dim: [{}] } } } }],
    },
  }).finish();
}

/**
 * Input `n` (int64, one element), output `y` (float32, [1, 1]): an n×n matrix of ones multiplied by itself
 * `rounds` times, then summed. The work grows as rounds·n³ while input and output stay one number, and zeros
 * (the warm-up run) cost nothing. With `constantN`, n is part of the model and the input is `x` (float32,
 * [1, 1], added to the sum): graph optimization computes the products while the model loads.
 */
export function buildSlowModel(rounds: number, options: { constantN?: number } = {}): Uint8Array {
  const { INT64 } = onnx.TensorProto.DataType;
  const constant = options.constantN !== undefined;
  const sum = constant ? 'sum' : 'y';
  const nodes: onnxProto.onnx.INodeProto[] = [
    { name: 'Shape', opType: 'Concat', input: ['n', 'n'], output: ['dims'], attribute: [axis(0)] },
    {
      name: 'Ones',
      opType: 'ConstantOfShape',
      input: ['dims'],
      output: ['m0'],
      attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('one', [1], [1]) }],
    },
  ];
  for (let i = 0; i < rounds; i++) {
    nodes.push({ name: `MatMul${i}`, opType: 'MatMul', input: [`m${i}`, 'm0'], output: [`m${i + 1}`] });
  }
  nodes.push({ name: 'Sum', opType: 'ReduceSum', input: [`m${rounds}`], output: [sum] });
  if (constant) nodes.push({ name: 'Add', opType: 'Add', input: [sum, 'x'], output: ['y'] });
  const one = [{ dimValue: 1 }, { dimValue: 1 }];
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
    producerName: PRODUCER,
    graph: {
      name: 'slow',
      node: nodes,
      initializer: constant ? [{ name: 'n', dims: [1], dataType: INT64, int64Data: [options.constantN!] }] : [],
      input: constant
        ? [floatValueInfo('x', one)]
        : [{ name: 'n', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: [floatValueInfo('y', one)],
    },
  }).finish();
}

/**
 * Models onnxruntime refuses to load, with messages that quote its C++ sources and server paths:
 * 'initializer-size', an initializer whose raw data is shorter than its shape; 'external-data', an
 * initializer stored in a file next to the model that does not exist. And 'reshape', which loads but fails
 * to run (input `x` of any length reshaped to [5]) unless given exactly 5 elements.
 */
export function buildBrokenModel(kind: 'initializer-size' | 'external-data' | 'reshape'): Uint8Array {
  const { FLOAT, INT64 } = onnx.TensorProto.DataType;
  if (kind === 'reshape') {
    return onnx.ModelProto.encode({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
      producerName: PRODUCER,
      graph: {
        name: 'reshape',
        node: [{ name: 'Reshape', opType: 'Reshape', input: ['x', 'shape'], output: ['y'] }],
        initializer: [{ name: 'shape', dims: [1], dataType: INT64, int64Data: [5] }],
        input: [floatValueInfo('x', [{ dimParam: BATCH_DIM }])],
        output: [floatValueInfo('y', [{ dimValue: 5 }])],
      },
    }).finish();
  }
  const weights: onnxProto.onnx.ITensorProto =
    kind === 'initializer-size'
      ? { name: 'w', dims: [4], dataType: FLOAT, rawData: new Uint8Array(6) }
      : {
          name: 'w',
          dims: [4],
          dataType: FLOAT,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [{ key: 'location', value: 'weights.bin' }],
        };
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
    producerName: PRODUCER,
    graph: {
      name: 'broken',
      node: [{ name: 'Add', opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [weights],
      input: [floatValueInfo('x', [{ dimValue: 4 }])],
      output: [floatValueInfo('y', [{ dimValue: 4 }])],
    },
  }).finish();
}

const axis = (value: number): onnxProto.onnx.IAttributeProto => ({
  name: 'axis',
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});

type GraphSpec = {
  layers: Layer[];
  inputName: string;
  outputName: string;
  dynamicBatch: boolean;
  opset: number;
};

function encodeModel(spec: GraphSpec): Uint8Array {
  const first = spec.layers[0];
  const last = spec.layers.at(-1);
  if (!first || !last) throw new RangeError('a model needs at least one layer');
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  let current = spec.inputName;
  spec.layers.forEach((layer, i) => {
    const { rows, cols } = checkLayer(layer, i);
    const isLast = layer === last;
    const [w, b, product, sum] = [`W${i}`, `B${i}`, `matmul${i}`, isLast ? spec.outputName : `add${i}`];
    initializers.push(floatTensor(w, [rows, cols], layer.weights.flat()), floatTensor(b, [cols], layer.bias));
    nodes.push(
      { name: `MatMul${i}`, opType: 'MatMul', input: [current, w], output: [product] },
      { name: `Add${i}`, opType: 'Add', input: [product, b], output: [sum] },
    );
    current = isLast ? sum : `relu${i}`;
    if (!isLast) nodes.push({ name: `Relu${i}`, opType: 'Relu', input: [sum], output: [current] });
  });
  const batch = spec.dynamicBatch ? { dimParam: BATCH_DIM } : { dimValue: 1 };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: spec.opset }],
    producerName: PRODUCER,
    graph: {
      name: 'model',
      node: nodes,
      initializer: initializers,
      input: [floatValueInfo(spec.inputName, [batch, { dimValue: first.weights.length }])],
      output: [floatValueInfo(spec.outputName, [batch, { dimValue: last.bias.length }])],
    },
  };
  // A Node Buffer; a small one is a slice of Node's shared pool, so callers pass the view, never its `.buffer`.
  return onnx.ModelProto.encode(model).finish();
}

function checkLayer(layer: Layer, index: number): { rows: number; cols: number } {
  const rows = layer.weights.length;
  const cols = layer.weights[0]?.length ?? 0;
  if (rows === 0 || cols === 0) throw new RangeError(`layer ${index}: weights must be a non-empty [in][out] matrix`);
  if (layer.weights.some((row) => row.length !== cols)) {
    throw new RangeError(`layer ${index}: every weights row must have ${cols} entries`);
  }
  if (layer.bias.length !== cols) throw new RangeError(`layer ${index}: bias needs ${cols} entries`);
  return { rows, cols };
}

// ONNX raw_data is little-endian whatever the host; packing it here is ~10x faster than protobufjs' float_data.
function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  const rawData = new Uint8Array(values.length * Float32Array.BYTES_PER_ELEMENT);
  const view = new DataView(rawData.buffer);
  values.forEach((value, i) => view.setFloat32(i * Float32Array.BYTES_PER_ELEMENT, value, true));
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData };
}

function floatValueInfo(
  name: string,
  dims: onnxProto.onnx.TensorShapeProto.IDimension[],
): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } } };
}

/** mulberry32: a tiny seeded PRNG in [0, 1); Math.random cannot be seeded. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
