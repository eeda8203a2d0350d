import { access } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import type { ModelSession } from './session-cache.js';
import { createThreadRuntime, LoadTimeoutError } from './thread-runtime.js';

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

/** How long readModelSignature waits for a load by default, ms. */
export const DEFAULT_LOAD_TIMEOUT_MS = 60_000;

/**
 * Loads the model with the serving options, in a thread of its own as it is served, so a model accepted here
 * also loads when served, and reads its inputs and outputs. Throws ModelLoadError when the file is not a
 * loadable model of tensors in and out, or when loading it takes longer than `loadTimeoutMs`.
 */
export async function readModelSignature(
  modelPath: string,
  { loadTimeoutMs = DEFAULT_LOAD_TIMEOUT_MS }: { loadTimeoutMs?: number } = {},
): Promise<ModelSignature> {
  // A missing file is the server's fault, not the model's: it must not surface as ModelLoadError.
  await access(modelPath);
  let session: ModelSession;
  try {
    session = await createThreadRuntime({ loadTimeoutMs, runTimeoutMs: loadTimeoutMs }).open(modelPath);
  } catch (error) {
    if (error instanceof LoadTimeoutError) {
      throw new ModelLoadError(`Loading the model took longer than the limit of ${loadTimeoutMs} ms`, { cause: error });
    }
    throw error;
  }
  try {
    return session.signature;
  } finally {
    await session.release();
  }
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
