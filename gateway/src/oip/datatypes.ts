/** The Open Inference Protocol's tensor datatypes, and onnxruntime's element types they stand for. */
export const OIP_DATATYPES = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
} as const;

export type OipDatatype = keyof typeof OIP_DATATYPES;

const byElementType = new Map<string, OipDatatype>(
  Object.entries(OIP_DATATYPES).map(([datatype, type]) => [type, datatype as OipDatatype]),
);

export const isOipDatatype = (value: unknown): value is OipDatatype =>
  typeof value === 'string' && Object.hasOwn(OIP_DATATYPES, value);

/**
 * The datatype of a model's tensor of onnxruntime element type `type`. Types the protocol has no name for
 * (the 4-bit ones, bfloat16) keep onnxruntime's name in capitals: metadata shows them, infer refuses them.
 */
export function oipDatatype(type: string): string {
  return byElementType.get(type) ?? type.toUpperCase();
}

/** Bytes per element in the binary tensor data extension; BYTES elements are length-prefixed instead. */
export const ELEMENT_BYTES: Record<Exclude<OipDatatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** A signature's shape as the protocol writes it: -1 for a dynamic dimension. */
export const oipShape = (shape: readonly (number | null)[]): number[] => shape.map((dim) => dim ?? -1);
