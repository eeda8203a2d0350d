import type { InferenceSession } from 'onnxruntime-node';

export type TensorSpec = {
  name: string;
  /** Element type as onnxruntime names it: 'float32', 'float64', 'int64', 'int32', 'uint8', 'bool', 'string', ... */
  type: string;
  /**
   * One entry per dimension, null where the model leaves the size open ('N' or unnamed). ORT reports an
   * unknown rank as [] too, so [] means "a scalar, or any shape".
   */
  shape: (number | null)[];
};

export type ModelSignature = { inputs: TensorSpec[]; outputs: TensorSpec[] };

/** The bytes are not a model onnxruntime can serve. The message is meant for the uploader: it names no server path. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/** The inputs and outputs of an open session. Throws ModelLoadError when one is not a tensor. */
export function signatureOf(session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>): ModelSignature {
  return { inputs: session.inputMetadata.map(toTensorSpec), outputs: session.outputMetadata.map(toTensorSpec) };
}

function toTensorSpec(value: InferenceSession.ValueMetadata): TensorSpec {
  if (!value.isTensor) {
    throw new ModelLoadError(
      `unsupported model: '${value.name}' is not a tensor (sequences and maps are not supported)`,
    );
  }
  // Symbolic dimensions come as their name ('N'), unnamed ones as ''.
  return {
    name: value.name,
    type: value.type,
    shape: value.shape.map((dim) => (typeof dim === 'number' ? dim : null)),
  };
}
