import { access } from 'node:fs/promises';
import type { ModelSession } from './session-cache.js';
import { ModelLoadError, type ModelSignature } from './signature.js';
import { createThreadRuntime, LoadTimeoutError } from './thread-runtime.js';

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
