import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readModelSignature } from '../../../../lib/onnx/read-model-signature.js';
import { ModelLoadError } from '../../../../lib/onnx/signature.js';
import { createMeter } from '../../../../lib/storage/digest.js';
import type { ObjectStore } from '../../../../lib/storage/object-store.js';
import type { Verification } from '../data/models.repository.js';

/**
 * Checksums a stored model and loads it with onnxruntime, within `loadTimeoutMs`, to read its signature. The bytes stream
 * from the store to a private temporary file (hashed on the way), never whole in memory.
 */
export async function verifyStoredModel(
  store: ObjectStore,
  key: string,
  { loadTimeoutMs }: { loadTimeoutMs: number },
): Promise<Verification> {
  const dir = await mkdtemp(join(tmpdir(), 'ai-code-model-'));
  try {
    const file = join(dir, 'model.onnx');
    const meter = createMeter();
    await pipeline(await store.get(key), meter.stream, createWriteStream(file, { mode: 0o600 }));
    const { sizeBytes, sha256 } = meter.digest();
    try {
      // Past the limit the model is FAILED; its load goes on in its thread until done, then is released.
      const { inputs, outputs } = await readModelSignature(file, { loadTimeoutMs });
      return { status: 'READY', sizeBytes, sha256, inputs, outputs };
    } catch (error) {
      if (error instanceof ModelLoadError) return { status: 'FAILED', error: error.message, sizeBytes, sha256 };
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
