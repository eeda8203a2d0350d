import { access } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import { ortClientMessage } from './ort-errors.js';
import { createSessionOptions } from './session-options.js';

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

/**
 * Loads the model with the serving options, so a model accepted here also loads when served, and reads its
 * inputs and outputs. Throws ModelLoadError when the file is not a loadable model of tensors in and out.
 */
export async function readModelSignature(modelPath: string): Promise<ModelSignature> {
  // A missing file is the server's fault, not the model's: it must not surface as ModelLoadError.
  await access(modelPath);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(modelPath, createSessionOptions());
  } catch (error) {
    // The cause keeps ORT's own message (with the path) for the logs.
    throw new ModelLoadError(`not a valid ONNX model: ${loadFailureReason(error, modelPath)}`, { cause: error });
  }
  try {
    return signatureOf(session);
  } finally {
    await session.release();
  }
}

/** The inputs and outputs of an open session. Throws ModelLoadError when one is not a tensor. */
export function signatureOf(session: InferenceSession): ModelSignature {
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

/** ORT's message without the server's paths and without the C++ source locations it adds to failures. */
function loadFailureReason(error: unknown, modelPath: string): string {
  return ortClientMessage(error instanceof Error ? error.message : String(error), modelPath);
}
